"""Salesforce DX source format -> crmctl manifests, with a report of what was left out.

    result = import_sfdx(Path("force-app"))
    write_manifests(result, Path("manifests"))
    for line in result.report: print(line.render())

What is converted (through `providers.salesforce.metadata_xml`, the same
translation the Salesforce provider uses):

- `objects/X/X.object-meta.xml`, `fields/*`, `recordTypes/*`,
  `validationRules/*` -> one file per object (`objects/X.yaml`): its
  CustomObject, CustomFields (formula, roll-up and auto-number fields too),
  RecordTypes and ValidationRules; custom fields of every standard object;
- `permissionsets/*` -> `permission-sets/NAME.yaml`;
- `profiles/*` are not converted: crmctl never deploys a profile, so the
  org keeps each one as it is (`PROFILE_NOTE` says why);
- `roles/*` -> `roles.yaml`; `duplicateRules/*` (with their `matchingRules`)
  -> `duplicate-rules.yaml`; `globalValueSets/*` -> `global-value-sets.yaml`
  (the picklists that use one name it in `valueSetName`).

Standard fields whose help text or tracking is customised become
StandardFields (in their object's file).

Everything else is listed in the report with its file and the reason:
unsupported field types (Location, encrypted text …), layouts, other metadata types, and anything that
references what was not converted. The result is checked like `crmctl validate` checks manifests,
and what would fail is left out and reported, never dropped silently.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crmctl.config.schema_check import schema_diagnostics
from crmctl.config.yamlsource import SourceMap
from crmctl.dialect import is_custom_field, is_custom_object
from crmctl.kinds import HANDLERS, KINDS, ConfigIndex
from crmctl.kinds.permission_set import declarable, declarable_field
from crmctl.model import Resource
from crmctl.providers.salesforce import metadata_xml as mx
from crmctl.schemas import DEFAULT_DIALECT, kind_schema
from crmctl.yamlwrite import to_yaml

__all__ = [
    "import_sfdx",
    "SourceReader",
    "write_manifests",
    "manifest_files",
    "prune",
    "ImportResult",
    "ReportLine",
    "PROFILE_NOTE",
]

_SUFFIX = re.compile(r"\.([A-Za-z]+)-meta\.xml$")
_OBJECT_PARTS = ("field", "recordType", "validationRule")
#: Why a profile is reported and not converted.
PROFILE_NOTE = (
    "profile not converted: crmctl does not manage profiles and never deploys one, so the org "
    "keeps it as it is (its permissions, layout and record-type assignments, login settings); "
    "grant access through permission sets"
)
_NOT_CUSTOM = ("__mdt", "__e", "__b", "__x", "__Share", "__History", "__Feed", "__ChangeEvent")


@dataclass(frozen=True)
class ReportLine:
    """Something of the source that is not (or not entirely) in the manifests."""

    file: str  # relative to the imported folder
    reason: str
    component: str = ""  # Kind/name when it is about one component
    partly: bool = False  # the component was converted, this part of it was not

    def render(self) -> str:
        what = f"{self.component}: " if self.component else ""
        return f"{self.file}: {what}{self.reason}" + (
            " (the rest is converted)" if self.partly else ""
        )


@dataclass
class ImportResult:
    """Converted resources (manifest specs) and the report of what was left out."""

    source: Path
    resources: dict[str, Resource] = field(default_factory=dict)  # by address
    report: list[ReportLine] = field(default_factory=list)
    origin: dict[str, str] = field(default_factory=dict)  # address -> source file

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for resource in self.resources.values():
            out[resource.kind] = out.get(resource.kind, 0) + 1
        return out


class SourceReader:
    """What every importer of files does: paths relative to the source, the report, parsing XML.

    `parse_xml` turns a file's bytes into its root element (the SFDX reader
    drops Salesforce's namespace; a subclass may parse differently).
    """

    def __init__(self, source: Path) -> None:
        self.source = source
        self.result = ImportResult(source)

    def parse_xml(self, data: bytes) -> ET.Element:
        return mx.parse(data)

    def rel(self, path: Path) -> str:
        return path.relative_to(self.source).as_posix()

    def note(self, path: Path, reason: str, component: str = "", partly: bool = False) -> None:
        self.result.report.append(ReportLine(self.rel(path), reason, component, partly))

    def parse(self, path: Path) -> ET.Element | None:
        """The file's root element, or None (and a report line saying why)."""
        try:
            return self.parse_xml(path.read_bytes())
        except (ET.ParseError, OSError) as exc:
            self.note(path, f"cannot be read: {exc}")
            return None


class _Importer(SourceReader):
    def __init__(self, source: Path) -> None:
        super().__init__(source)
        self.value_sets: dict[str, list[dict[str, Any]]] = {}
        self.matching: dict[str, ET.Element] = {}  # Object.Rule -> <matchingRules>
        self.matching_files: dict[str, Path] = {}  # Object.Rule -> the file it is in
        self.used_matching: set[str] = set()  # matching rules inside converted duplicate rules
        self.objects: dict[str, dict[str, list[Path]]] = {}  # object -> part -> files

    def add(self, path: Path, kind: str, name: str, converted: mx.Converted) -> None:
        address = f"{kind}/{name}"
        for note in converted.notes:
            self.note(path, note, address, partly=converted.spec is not None)
        if converted.spec is None:
            return
        if address in self.result.resources:
            self.note(
                path,
                f"declared again (first in {self.result.origin[address]}); this one is left out",
                address,
            )
            return
        self.result.resources[address] = Resource(kind, name, converted.spec)
        self.result.origin[address] = self.rel(path)

    # --- walking ---------------------------------------------------------------------
    def run(self) -> ImportResult:
        files = sorted(p for p in self.source.rglob("*") if p.is_file())
        by_type: dict[str, list[Path]] = {}
        skipped: dict[str, list[Path]] = {}
        for path in files:
            found = _SUFFIX.search(path.name)
            if not found:
                continue  # licences, READMEs, Apex sources …: not metadata descriptions
            kind = found.group(1)
            if "objects" in path.parts and kind not in ("object", *_OBJECT_PARTS):
                skipped.setdefault(kind, []).append(path)
                continue
            by_type.setdefault(kind, []).append(path)
        for path in by_type.get("globalValueSet", []):
            root = self.parse(path)
            if root is not None:
                name = path.name.split(".")[0]
                self.value_sets[name] = mx.value_set_values(root, "customValue")
                self.add(path, "GlobalValueSet", name, mx.global_value_set_spec(root, name))
        for path in by_type.get("matchingRule", []):
            root = self.parse(path)
            obj = path.name.split(".")[0]
            rules = mx.matching_rules(root) if root is not None else {}
            if root is not None and not rules:
                self.note(path, "holds no matching rules")
            for name, rule in rules.items():
                self.matching[f"{obj}.{name}"] = rule
                self.matching_files[f"{obj}.{name}"] = path
        for kind in ("object", *_OBJECT_PARTS):
            for path in by_type.get(kind, []):
                if kind == "object":  # objects/X/X.object-meta.xml, or objects/X.object-meta.xml
                    obj = (
                        path.name.split(".")[0]
                        if path.parent.name == "objects"
                        else path.parent.name
                    )
                else:
                    obj = path.parent.parent.name
                self.objects.setdefault(obj, {}).setdefault(kind, []).append(path)
        for obj in sorted(self.objects):
            self.object(obj, self.objects[obj])
        for path in by_type.get("permissionset", []):
            root = self.parse(path)
            if root is not None:
                name = path.name.split(".")[0]
                self.add(path, "PermissionSet", name, mx.permission_set_spec(root, label=name))
        for path in by_type.get("profile", []):
            self.profile(path)
        for path in by_type.get("role", []):
            root = self.parse(path)
            if root is not None:
                name = path.name.split(".")[0]
                self.add(path, "Role", name, mx.role_spec(root, name))
        for path in by_type.get("duplicateRule", []):
            self.duplicate_rule(path)
        for key, path in sorted(self.matching_files.items()):
            if key not in self.used_matching:
                self.note(path, f"matching rule {key} is not converted: crmctl keeps a matching "
                          "rule only inside the duplicate rule that uses it, and none does")  # fmt: skip
        handled = {"globalValueSet", "matchingRule", "object", *_OBJECT_PARTS,
                   "permissionset", "profile", "role", "duplicateRule"}  # fmt: skip
        for kind, paths in sorted(
            {**skipped, **{k: v for k, v in by_type.items() if k not in handled}}.items()
        ):
            for path in paths:
                self.note(path, f"{kind} metadata is not converted: crmctl has no equivalent")
        _prune(self.result)
        return self.result

    def object(self, obj: str, parts: dict[str, list[Path]]) -> None:
        object_files = parts.get("object", [])
        part_files = [p for k in _OBJECT_PARTS for p in parts.get(k, [])]
        if obj.endswith(_NOT_CUSTOM):
            for path in object_files + part_files:
                self.note(
                    path,
                    f"{obj} is not a custom object (platform event, custom metadata type …); not converted",
                )
            return
        custom = is_custom_object(obj)
        if custom and not object_files:
            for path in part_files:
                self.note(
                    path,
                    f"object {obj} is not defined in this project; its fields and rules are not converted",
                )
            return
        for path in object_files:
            root = self.parse(path)
            if root is None:
                continue
            if custom:
                converted = mx.object_spec(root)
                self.add(path, "CustomObject", obj, converted)
                if converted.spec is None:
                    for part in part_files:
                        self.note(
                            part,
                            f"object {obj} is not converted ({'; '.join(converted.notes)}); neither are its fields and rules",
                        )
                    return
            else:
                self.note(
                    path,
                    f"the settings of standard object {obj} (sharing, actions, search) are not "
                    "converted; its custom fields, record types and rules are",
                )
        for path in parts.get("field", []):
            root = self.parse(path)
            if root is None:
                continue
            name = mx.text(root, "fullName") or path.name.split(".")[0]
            if not is_custom_field(name):
                self.standard_field(path, obj, name, root)
                continue
            self.add(
                path,
                "CustomField",
                f"{obj}.{name}",
                mx.field_spec(obj, root, self.value_sets, compact=True),
            )
        for path in parts.get("recordType", []):
            root = self.parse(path)
            if root is not None:
                name = mx.text(root, "fullName") or path.name.split(".")[0]
                self.add(path, "RecordType", f"{obj}.{name}", mx.record_type_spec(root))
        for path in parts.get("validationRule", []):
            root = self.parse(path)
            if root is not None:
                name = mx.text(root, "fullName") or path.name.split(".")[0]
                self.add(path, "ValidationRule", f"{obj}.{name}", mx.validation_rule_spec(root))

    def standard_field(self, path: Path, obj: str, name: str, root: ET.Element) -> None:
        """A standard field's help text and tracking; nothing when it customises nothing."""
        converted = mx.standard_field_spec(root)
        if converted.spec:
            self.add(path, "StandardField", f"{obj}.{name}", converted)
            return
        self.note(
            path,
            f"standard field {obj}.{name} customises nothing crmctl manages (help text, history "
            "or feed tracking): no manifest needed"
            + (f"; {'; '.join(converted.notes)}" if converted.notes else ""),
        )

    def profile(self, path: Path) -> None:
        """A profile is not converted: the org keeps it as it is (see `PROFILE_NOTE`)."""
        self.note(path, PROFILE_NOTE, f"Profile/{path.name.removesuffix('.profile-meta.xml')}")

    def duplicate_rule(self, path: Path) -> None:
        root = self.parse(path)
        if root is None:
            return
        full = path.name.removesuffix(".duplicateRule-meta.xml")
        obj, _, rule = full.partition(".")
        rules = {
            k.partition(".")[2]: v for k, v in self.matching.items() if k.startswith(obj + ".")
        }
        converted = mx.duplicate_rule_spec(obj, root, rules)
        used = next(
            (
                mx.text(r, "matchingRule") or ""
                for r in mx.children(root, "duplicateRuleMatchRules")
                if (mx.text(r, "matchRuleSObjectType") or obj) == obj
            ),
            "",
        )
        if converted.spec is not None:
            self.used_matching.add(f"{obj}.{used}")
            if used != rule:
                converted.notes.append(
                    f"its matching rule {used} is kept in the rule; crmctl deploys it as the "
                    f"matching rule {rule} (the duplicate rule's own name)"
                )
        self.add(path, "DuplicateRule", f"{obj}.{rule}", converted)


def _prune(result: ImportResult) -> None:
    prune(result)


def prune(result: ImportResult, dialect: str = DEFAULT_DIALECT) -> None:
    """Leave out what `crmctl validate` would refuse, until nothing is refused; report each.

    `dialect` is the name dialect of the environment the manifests are for."""
    resources = result.resources

    def drop(address: str, reason: str) -> None:
        result.report.append(ReportLine(result.origin[address], reason, address))
        del resources[address]

    for address in list(resources):
        res = resources[address]
        document = {
            "apiVersion": "crmctl/v1",
            "kind": res.kind,
            "metadata": {"name": res.name},
            "spec": res.spec,
        }
        problems = schema_diagnostics(
            res.kind, document, SourceMap(result.origin[address], 0), address, dialect
        )
        if problems:
            drop(address, "not valid for crmctl: " + "; ".join(d.message for d in problems))
    while True:
        index = ConfigIndex(resources.values(), dialect)
        _prune_permissions(result, index)
        dropped = False
        for kind in KINDS:
            handler = HANDLERS[kind]
            of_kind = [r for r in resources.values() if r.kind == kind]
            refused: dict[str, list[str]] = {}
            for res in of_kind:
                for d in handler.check(res, index):
                    refused.setdefault(res.address, []).append(d.message)
            for d in handler.check_all(of_kind, index):
                refused.setdefault(d.address or "", []).append(d.message)
            for address, messages in refused.items():
                if address in resources:
                    drop(address, "left out: " + "; ".join(messages))
                    dropped = True
        if not dropped:
            return


def _prune_permissions(result: ImportResult, index: ConfigIndex) -> None:
    """Permission-set entries on objects or fields that were not converted go, one by one."""
    for res in [r for r in result.resources.values() if r.kind == "PermissionSet"]:
        origin = result.origin[res.address]
        for obj in [o for o in res.spec.get("objects", {}) if not declarable(o, index)]:
            del res.spec["objects"][obj]
            result.report.append(
                ReportLine(
                    origin,
                    f"permissions on object {obj} left out: the object is not converted",
                    res.address,
                    partly=True,
                )
            )
        missing = [f for f in res.spec.get("fields", {}) if not declarable_field(f, index)]
        for qualified in missing:
            del res.spec["fields"][qualified]
        if missing:
            shown = ", ".join(missing[:5]) + (
                f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            )
            result.report.append(
                ReportLine(
                    origin,
                    f"permissions on {len(missing)} field(s) left out, not converted: {shown}",
                    res.address,
                    partly=True,
                )
            )
        for key in ("objects", "fields"):
            if key in res.spec and not res.spec[key]:
                del res.spec[key]


def import_sfdx(source: Path) -> ImportResult:
    """Convert a Salesforce DX project (or any folder of source-format metadata)."""
    return _Importer(Path(source)).run()


# --- writing manifests -----------------------------------------------------------------------


def _ordered(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    order = list(kind_schema(kind)["properties"]["spec"].get("properties", {}))
    return dict(
        sorted(spec.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order))
    )


def _documents(resources: Iterable[Resource], owner: str | None) -> str:
    docs = []
    for r in resources:
        metadata = {"name": r.name, **({"owner": owner} if owner else {})}
        document = {"apiVersion": "crmctl/v1", "kind": r.kind, "metadata": metadata,
                    "spec": _ordered(r.kind, r.spec)}  # fmt: skip
        docs.append(to_yaml(document))
    return "---\n".join(docs)


def _file_of(resource: Resource) -> str:
    if resource.kind in ("CustomObject", "CustomField", "StandardField", "RecordType",
                         "ValidationRule"):  # fmt: skip
        return f"objects/{resource.name.partition('.')[0]}.yaml"
    if resource.kind == "GlobalValueSet":
        return "global-value-sets.yaml"
    if resource.kind == "PermissionSet":
        return f"permission-sets/{resource.name}.yaml"
    if resource.kind == "Role":
        return "roles.yaml"
    return "duplicate-rules.yaml"


def manifest_files(result: ImportResult) -> list[str]:
    """The files (relative to the output folder) `write_manifests` writes."""
    return sorted({_file_of(r) for r in result.resources.values()})


_SFDX_HEADER = "# Imported from Salesforce DX source ({source}) by crmctl import --from sfdx.\n"


def write_manifests(
    result: ImportResult, out: Path, owner: str | None = None, header: str = _SFDX_HEADER
) -> list[Path]:
    """Write the manifests under `out` (one file per object, per permission set, …);
    `owner` becomes every resource's metadata.owner; `header` opens each file."""
    files: dict[str, list[Resource]] = {}
    rank = {kind: i for i, kind in enumerate(KINDS)}
    for resource in sorted(result.resources.values(), key=lambda r: (rank[r.kind], r.name)):
        files.setdefault(_file_of(resource), []).append(resource)
    written = []
    for relative, resources in sorted(files.items()):
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        opening = header.format(source=result.source.name)
        path.write_text(opening + _documents(resources, owner), encoding="utf-8")
        written.append(path)
    return written
