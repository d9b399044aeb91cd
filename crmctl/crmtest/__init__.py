"""Configuration tests (`crmctl test`): declarative cases run against a throwaway sandbox CRM.

    report = run_tests(env, [Path("crm-tests")])
    report.failed   # the cases whose outcome was not the expected one

Bad case files and cases naming what the configuration lacks raise a
ManifestError carrying every problem at its file and line; nothing runs.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from crmctl.access.effective import OrgAccess
from crmctl.config.environment import Environment, display_path
from crmctl.config.loader import load_desired_state
from crmctl.crmtest.cases import DEFAULT_FOLDER, TestCase, load_cases
from crmctl.crmtest.checks import check_case
from crmctl.crmtest.runner import ERROR, FAIL, PASS, CaseResult, run_case, run_clock
from crmctl.crmtest.sandbox import build_sandbox
from crmctl.errors import ManifestError

__all__ = ["TestReport", "CaseResult", "TestCase", "run_tests", "PASS", "FAIL", "ERROR"]


@dataclass
class TestReport:
    """The outcome of every case of one run."""

    __test__ = False

    environment: str
    results: list[CaseResult]

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def ok(self) -> bool:
        return all(r.status == PASS for r in self.results)


def _problems(count: int) -> str:
    return f"{count} problem{'s' * (count != 1)}"


def run_tests(env: Environment, paths: list[Path] | None = None) -> TestReport:
    """Run the cases in `paths` (default: the project's crm-tests/) against `env`'s manifests."""
    paths = paths or [env.project_dir / DEFAULT_FOLDER]
    cases, problems = load_cases(paths)
    if problems:
        raise ManifestError(
            f"the test cases have {_problems(len(problems))}; no case ran", diagnostics=problems
        )
    state = load_desired_state(env)
    if state.errors:
        raise ManifestError(
            f"the manifests of environment '{env.name}' have {_problems(len(state.errors))}",
            diagnostics=state.errors,
            hint="fix them first: crmctl validate"
            + (f" -e {env.name}" if env.name != "local" else ""),
        )
    now = run_clock()
    with tempfile.TemporaryDirectory(prefix="crmctl-test-") as folder:
        sandbox = build_sandbox(state, Path(folder), now)
        try:
            with sandbox.case() as conn:
                model = sandbox.model(conn)
            for case in cases:
                problems.extend(check_case(case, model))
            if problems:
                raise ManifestError(
                    f"the test cases have {_problems(len(problems))}; no case ran",
                    diagnostics=sorted(problems, key=lambda d: d.sort_key()),
                )
            access = OrgAccess(sandbox.store.list_all_config())
            results = [run_case(sandbox, case, access, now) for case in cases]
        finally:
            sandbox.close()
    return TestReport(env.name, results)


def shown_paths(env: Environment, paths: list[Path] | None) -> str:
    """The case folders as the report names them."""
    return ", ".join(display_path(p) for p in (paths or [env.project_dir / DEFAULT_FOLDER]))
