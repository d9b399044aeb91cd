"""Configuration test cases: read `crm-tests/*.yaml`, one case per YAML document.

Every problem is a Diagnostic at the case file's line, collected rather than
raised: first the schema (schemas/test-case.json), then, against the
configuration under test, the names a case uses (users, objects, fields,
given records, duplicate rules, retention policies).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crmctl.config.environment import display_path
from crmctl.config.loader import collect_files
from crmctl.config.schema_check import schema_diagnostics, type_name
from crmctl.config.yamlsource import SourceMap, read_yaml_file
from crmctl.errors import Diagnostic, SourceLocation

__all__ = ["TestCase", "load_cases", "CASE_KINDS", "DEFAULT_FOLDER"]

#: Where the cases of a project live.
DEFAULT_FOLDER = "crm-tests"
CASE_KINDS = ("record", "access", "retention", "duplicate")


@dataclass
class TestCase:
    """One case as written: its name, its kind, and where it is."""

    __test__ = False  # not a pytest test class

    name: str
    kind: str  # one of CASE_KINDS
    data: dict[str, Any]
    source: SourceMap
    user: str | None = None
    given: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def body(self) -> dict[str, Any]:
        """The record / access / retention / duplicate section."""
        return self.data[self.kind]

    @property
    def location(self) -> SourceLocation:
        return self.source.location(("case",))

    def at(self, *path: str | int) -> SourceLocation:
        """The line of a key of this case."""
        return self.source.location(path)


def load_cases(paths: list[Path]) -> tuple[list[TestCase], list[Diagnostic]]:
    """Every case in the given files and folders (`*.yaml`, `*.yml`), in file order."""
    files, problems = collect_files(paths)
    cases: list[TestCase] = []
    for path in files:
        shown = display_path(path)
        docs, file_problems = read_yaml_file(path, shown)
        problems.extend(file_problems)
        for doc in docs:
            if doc.data is None:
                continue
            if not isinstance(doc.data, dict):
                problems.append(
                    Diagnostic(
                        f"a test case must be a mapping with 'case' and one of "
                        f"{', '.join(CASE_KINDS)}, not {type_name(doc.data)}",
                        doc.location,
                        code="test-case",
                    )
                )
                continue
            found = schema_diagnostics("test-case", doc.data, doc.source)
            if found:
                problems.extend(found)
                continue
            kind = next(k for k in CASE_KINDS if k in doc.data)
            cases.append(
                TestCase(
                    name=doc.data["case"],
                    kind=kind,
                    data=doc.data,
                    source=doc.source,
                    user=doc.data.get("user"),
                    given=doc.data.get("given") or {},
                )
            )
    seen: dict[str, TestCase] = {}
    for case in cases:
        first = seen.setdefault(case.name, case)
        if first is not case:
            problems.append(
                Diagnostic(
                    f"case '{case.name}' is declared twice: also at {first.location}",
                    case.location,
                    hint="give every case its own name: reports and JUnit name cases by it",
                    code="test-case",
                )
            )
    if not files and not problems:
        shown = ", ".join(display_path(p) for p in paths)
        problems.append(Diagnostic(f"no test cases found in {shown}", None, code="test-case"))
    problems.sort(key=Diagnostic.sort_key)
    return cases, problems
