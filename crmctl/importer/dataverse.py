"""An unpacked Dataverse solution -> crmctl manifests in Dataverse names, with a report.

    result = import_dataverse_solution(Path("src"))
    write_manifests(result, Path("manifests"), header=DATAVERSE_HEADER)

What is converted (`pac solution unpack` layout; see docs/dynamics.md):

- `Entities/<Table>/Entity.xml` -> a CustomObject for each table of the
  solution's publisher (its primary name column becomes `recordName` and
  `primaryColumn`), and a CustomField for each custom column of a supported
  type: text, multi-line text, whole and decimal numbers, money, dates,
  yes/no, choices (local option sets inline; global ones from
  `OptionSets/*.xml`, named by `globalOptionSet`), lookups (their target
  from `Other/Relationships*.xml`). Required levels: required ->
  `required: true`, recommended -> `requiredLevel: recommended`.
- `Roles/*.xml` -> a PermissionSet per security role: table privileges
  become `objects` (read, create, edit, delete) and `depths` (every
  privilege's Basic/Local/Deep/Global depth).
- `Other/FieldSecurityProfiles.xml` -> a PermissionSet per profile with its
  field permissions.

Everything else is listed with its file and the reason; the result is
checked as `crmctl validate` checks a dataverse environment, and what would
fail is left out and reported (the same pruning as the SFDX import).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from crmctl.dialect import DATAVERSE
from crmctl.importer.sfdx import ImportResult, ReportLine, SourceReader, prune
from crmctl.kinds import ConfigIndex
from crmctl.model import Resource

__all__ = ["import_dataverse_solution", "DATAVERSE_HEADER"]

DATAVERSE_HEADER = (
    "# Imported from the unpacked Dataverse solution {source} "
    "by crmctl import --from dataverse-solution.\n"
)

#: Privilege verbs of table privileges (prv<Verb><Table>), longest first (AppendTo before Append).
_VERBS = {
    "AppendTo": "appendTo",
    "Append": "append",
    "Assign": "assign",
    "Create": "create",
    "Delete": "delete",
    "Read": "read",
    "Share": "share",
    "Write": "edit",
}
_PRIVILEGE = re.compile(r"^prv(AppendTo|Append|Assign|Create|Delete|Read|Share|Write)(\w+)$")
#: The verbs crmctl's vendor-neutral `objects` list holds; the others live only in `depths`.
_SHARED_VERBS = ("read", "create", "edit", "delete")
_DEPTHS = ("Basic", "Local", "Deep", "Global")
_LEVELS = {"none": None, "required": "required", "recommended": "recommended"}
_ALLOWED = "4"
#: A whole-number column's bounds when none are set (the full 32-bit range).
_INT_RANGE = (
    "-2147483648",
    "2147483647",
)  # field_security_permission_type: 0 Not Allowed, 4 Allowed


def _text(node: ET.Element | None, tag: str) -> str | None:
    found = node.find(tag) if node is not None else None
    return found.text.strip() if found is not None and found.text else None


def _label(node: ET.Element | None, path: str) -> str | None:
    """The English (1033) label under `path`, else the first one."""
    if node is None:
        return None
    labels = node.findall(path)
    for label in labels:
        if label.get("languagecode") == "1033" and label.get("description"):
            return label.get("description")
    return next((x.get("description") for x in labels if x.get("description")), None)


def _api_name(text: str) -> str:
    """A PermissionSet name from a role's display name: `Power Platform User SR` -> `Power_Platform_User_SR`."""
    name = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")
    return name if name[:1].isalpha() else f"R_{name}"


class _Importer(SourceReader):
    def __init__(self, source: Path) -> None:
        super().__init__(source)
        self.prefix: str | None = None
        self.option_sets: dict[str, list[dict[str, Any]]] = {}
        self.lookups: dict[tuple[str, str], str] = {}  # (table, column) -> target table
        self.tables: dict[str, str] = {}  # logical name -> the Entity.xml it is in
        self.used_option_sets: set[str] = set()

    def parse_xml(self, data: bytes) -> ET.Element:
        return ET.fromstring(data)  # solution XML has no namespace to drop

    def add(self, path: Path, kind: str, name: str, spec: dict[str, Any]) -> None:
        address = f"{kind}/{name}"
        if address in self.result.resources:
            self.note(
                path,
                f"declared again (first in {self.result.origin[address]}); this one is left out",
                address,
            )
            return
        self.result.resources[address] = Resource(kind, name, spec)
        self.result.origin[address] = self.rel(path)

    # --- walking ---------------------------------------------------------------------
    def run(self) -> ImportResult:
        solution = self.source / "Other" / "Solution.xml"
        root = self.parse(solution) if solution.is_file() else None
        if root is not None:
            self.prefix = (_text(root.find(".//Publisher"), "CustomizationPrefix") or "").lower()
        for path in sorted(self.source.glob("OptionSets/*.xml")):
            self.read_option_set(path)
        for path in sorted(self.source.glob("Other/Relationships*.xml")) + sorted(
            self.source.glob("Other/Relationships/*.xml")
        ):
            self.read_relationships(path)
        entities = sorted(self.source.glob("Entities/*/Entity.xml"))
        for path in entities:
            root = self.parse(path)
            name = _text(root, "Name") if root is not None else None
            if name:
                self.tables[name.lower()] = self.rel(path)
        for path in entities:
            self.read_entity(path)
        for path in sorted(self.source.glob("Roles/*.xml")):
            self.read_role(path)
        profiles = self.source / "Other" / "FieldSecurityProfiles.xml"
        if profiles.is_file():
            self.read_field_security(profiles)
        self.report_unused_option_sets()
        self.report_other_folders()
        _prune_depths(self.result)
        prune(self.result, dialect="dataverse")
        _prune_depths(self.result)
        return self.result

    def is_custom_table(self, name: str) -> bool:
        return self.prefix is not None and name.lower().startswith(f"{self.prefix}_")

    # --- option sets and relationships ------------------------------------------------
    def read_option_set(self, path: Path) -> None:
        root = self.parse(path)
        if root is None:
            return
        name = root.get("Name") or path.stem
        self.option_sets[name.lower()] = _options(root)

    def read_relationships(self, path: Path) -> None:
        root = self.parse(path)
        if root is None:
            return
        for rel in root.iter("EntityRelationship"):
            if _text(rel, "EntityRelationshipType") != "OneToMany":
                continue
            referencing = _text(rel, "ReferencingEntityName")
            attribute = _text(rel, "ReferencingAttributeName")
            referenced = _text(rel, "ReferencedEntityName")
            if referencing and attribute and referenced:
                self.lookups[(referencing.lower(), attribute.lower())] = referenced.lower()

    # --- tables and columns -------------------------------------------------------------
    def read_entity(self, path: Path) -> None:
        root = self.parse(path)
        if root is None:
            return
        entity = root.find("EntityInfo/entity")
        schema_name = _text(root, "Name") or path.parent.name
        table = schema_name.lower()
        custom = self.is_custom_table(table)
        if entity is None:
            self.note(path, "holds no <EntityInfo><entity> definition")
            return
        if _text(entity, "IsBPFEntity") == "1":
            self.note(
                path,
                "a business process flow table: its process creates it; crmctl does not declare it",
                f"CustomObject/{table}",
            )
            return
        attributes = entity.findall("attributes/attribute")
        primary = next(
            (a for a in attributes if "PrimaryName" in (_text(a, "DisplayMask") or "")), None
        )
        if custom:
            label = _label(entity, "LocalizedNames/LocalizedName") or schema_name
            spec: dict[str, Any] = {"label": label}
            plural = _label(entity, "LocalizedCollectionNames/LocalizedCollectionName")
            if plural:
                spec["pluralLabel"] = plural
            description = _label(entity, "Descriptions/Description")
            if description:
                spec["description"] = description
            if primary is not None:
                spec["recordName"] = {
                    "label": _label(primary, "displaynames/displayname") or "Name"
                }
                spec["primaryColumn"] = (_text(primary, "LogicalName") or "").lower()
            self.add(path, "CustomObject", table, spec)
        for attribute in attributes:
            if attribute is primary or _text(attribute, "IsCustomField") != "1":
                continue  # system columns come with the table
            self.read_column(path, table, attribute)

    def read_column(self, path: Path, table: str, attribute: ET.Element) -> None:
        column = (_text(attribute, "LogicalName") or attribute.get("PhysicalName") or "").lower()
        address = f"CustomField/{table}.{column}"
        kind = (_text(attribute, "Type") or "").lower()
        spec: dict[str, Any] = {}
        notes: list[str] = []
        converted = _column_type(kind, attribute, spec, notes)
        if not converted:
            self.note(path, f"column type {kind or '(none)'} has no crmctl field type", address)
            return
        if kind in ("picklist", "multiselectpicklist", "bit") and not self.read_choices(
            path, attribute, spec, address, kind
        ):
            return
        if kind == "lookup":
            target = self.lookups.get((table, column))
            if target is None:
                self.note(path, "lookup without a relationship naming its target table", address)
                return
            spec["referenceTo"] = target
        spec["label"] = _label(attribute, "displaynames/displayname") or column
        description = _label(attribute, "Descriptions/Description")
        if description:
            spec["description"] = description
        level = (_text(attribute, "RequiredLevel") or "none").lower()
        if level == "required":
            spec["required"] = True
        elif level == "recommended":
            spec["requiredLevel"] = "recommended"
        elif level == "systemrequired":
            spec["required"] = True
            notes.append(
                "RequiredLevel SystemRequired is kept only by system columns; imported as "
                "required (ApplicationRequired)"
            )
        for note in notes:
            self.note(path, note, address, partly=True)
        self.add(path, "CustomField", f"{table}.{column}", _ordered_type_first(spec))

    def read_choices(
        self, path: Path, attribute: ET.Element, spec: dict[str, Any], address: str, kind: str
    ) -> bool:
        if kind == "bit":
            return True  # yes/no: its two labels are not modelled
        local = attribute.find("optionset")
        global_name = _text(attribute, "OptionSetName")
        if local is not None and _text(local, "OptionSetType") in (
            "picklist",
            "multiselectpicklist",
        ):
            values = _options(local)
        elif global_name and global_name.lower() in self.option_sets:
            values = [dict(v) for v in self.option_sets[global_name.lower()]]
            spec["globalOptionSet"] = global_name.lower()
            self.used_option_sets.add(global_name.lower())
        else:
            reason = (
                f"its global choice {global_name} is not in OptionSets/"
                if global_name
                else "choice column without options"
            )
            self.note(path, reason, address)
            return False
        default = _text(attribute, "AppDefaultValue")
        for value in values:
            if default is not None and str(value["optionValue"]) == default:
                value["default"] = True
        spec["values"] = values
        return True

    def report_unused_option_sets(self) -> None:
        for path in sorted(self.source.glob("OptionSets/*.xml")):
            root = self.parse(path)
            name = (root.get("Name") if root is not None else None) or path.stem
            if name.lower() not in self.used_option_sets:
                self.note(
                    path,
                    "a global choice no converted column uses: crmctl declares a choice's "
                    "values on the columns that use it",
                )

    def report_other_folders(self) -> None:
        known = {"Entities", "OptionSets", "Roles", "Other"}
        for folder in sorted(p for p in self.source.iterdir() if p.is_dir()):
            if folder.name not in known:
                count = sum(1 for p in folder.rglob("*") if p.is_file())
                self.note(folder, f"{count} file(s): crmctl has no kind for {folder.name}")

    # --- security ----------------------------------------------------------------------
    def read_role(self, path: Path) -> None:
        root = self.parse(path)
        if root is None:
            return
        display = root.get("name") or path.stem
        name = _api_name(display)
        objects: dict[str, list[str]] = {}
        depths: dict[str, dict[str, str]] = {}
        other: list[str] = []
        for privilege in root.iter("RolePrivilege"):
            found = _PRIVILEGE.match(privilege.get("name") or "")
            level = privilege.get("level") or ""
            if not found or level not in _DEPTHS:
                other.append(privilege.get("name") or "?")
                continue
            verb, table = _VERBS[found.group(1)], found.group(2).lower()
            depths.setdefault(table, {})[verb] = level
            if verb in _SHARED_VERBS:
                objects.setdefault(table, []).append(verb)
        spec: dict[str, Any] = {"label": display}
        if objects:
            spec["objects"] = {t: sorted(v, key=_SHARED_VERBS.index) for t, v in objects.items()}
        if depths:
            spec["depths"] = depths
        address = f"PermissionSet/{name}"
        if other:
            shown = ", ".join(other[:5]) + (f" and {len(other) - 5} more" if len(other) > 5 else "")
            self.note(
                path,
                f"{len(other)} privilege(s) that are not table privileges with a depth: {shown}",
                address,
                partly=True,
            )
        self.add(path, "PermissionSet", name, spec)

    def read_field_security(self, path: Path) -> None:
        root = self.parse(path)
        if root is None:
            return
        for profile in root.iter("FieldSecurityProfile"):
            display = profile.get("name") or "Field_Security_Profile"
            name = _api_name(display)
            if f"PermissionSet/{name}" in self.result.resources:
                name = f"{name}_Fields"
            fields: dict[str, list[str]] = {}
            for permission in profile.iter("FieldPermission"):
                table = (_text(permission, "EntityName") or "").lower()
                column = (_text(permission, "AttributeName") or "").lower()
                access = []
                if _text(permission, "CanRead") == _ALLOWED:
                    access.append("read")
                if _text(permission, "CanUpdate") == _ALLOWED:
                    access.append("edit")
                if _text(permission, "CanCreate") == _ALLOWED and "edit" not in access:
                    self.note(
                        path,
                        f"{table}.{column}: create without update has no crmctl counterpart "
                        "(crmctl's field access is read and edit)",
                        f"PermissionSet/{name}",
                        partly=True,
                    )
                if access:
                    fields[f"{table}.{column}"] = access
            spec: dict[str, Any] = {"label": display}
            description = profile.get("description")
            if description:
                spec["description"] = description
            if fields:
                spec["fields"] = fields
            self.add(path, "PermissionSet", name, spec)


def _options(node: ET.Element) -> list[dict[str, Any]]:
    values = []
    for option in node.findall("options/option"):
        raw = option.get("value")
        label = _label(option, "labels/label") or raw or ""
        if raw is not None and raw.lstrip("-").isdigit():
            values.append({"value": label, "optionValue": int(raw)})
    return values


def _column_type(kind: str, attribute: ET.Element, spec: dict[str, Any], notes: list[str]) -> bool:
    """Fill `spec` with the crmctl type of a column; False when there is none."""
    fmt = (_text(attribute, "Format") or "").lower()
    length = _text(attribute, "MaxLength")
    if kind == "nvarchar":
        formats = {"email": "Email", "phone": "Phone", "url": "Url"}
        if fmt in formats:
            spec["type"] = formats[fmt]
        elif fmt == "textarea":
            spec["type"] = "LongTextArea"
            spec["length"] = int(length) if length else 2000
        else:
            spec["type"] = "Text"
            if length:
                spec["length"] = int(length)
            if fmt not in ("", "text"):
                notes.append(f"text format {fmt} is imported as plain text")
    elif kind in ("ntext", "memo"):
        spec["type"] = "LongTextArea"
        if length:
            spec["length"] = int(length)
    elif kind in ("int", "bigint"):
        spec["type"] = "Number"
        spec["scale"] = 0
        if fmt not in ("", "none"):
            notes.append(f"whole-number format {fmt} is imported as a plain number")
    elif kind in ("decimal", "float", "money"):
        spec["type"] = "Currency" if kind == "money" else "Number"
        accuracy = _text(attribute, "Accuracy")
        if accuracy and accuracy.isdigit():
            spec["scale"] = int(accuracy)
    elif kind == "datetime":
        spec["type"] = "Date" if fmt == "date" else "DateTime"
    elif kind == "bit":
        spec["type"] = "Checkbox"
    elif kind == "picklist":
        spec["type"] = "Picklist"
    elif kind == "multiselectpicklist":
        spec["type"] = "MultiPicklist"
    elif kind == "lookup":
        spec["type"] = "Lookup"
    else:
        return False
    bounds = (_text(attribute, "MinValue"), _text(attribute, "MaxValue"))
    if kind in ("int", "decimal", "float", "money") and any(bounds) and bounds != _INT_RANGE:
        notes.append(f"MinValue/MaxValue ({bounds[0]}..{bounds[1]}) are not modelled by crmctl yet")
    return True


def _ordered_type_first(spec: dict[str, Any]) -> dict[str, Any]:
    return {"type": spec["type"], **{k: v for k, v in spec.items() if k != "type"}}


def _prune_depths(result: ImportResult) -> None:
    """`depths` entries on tables that are not converted go, like `objects` entries do."""
    index = ConfigIndex(result.resources.values(), DATAVERSE)
    for res in [r for r in result.resources.values() if r.kind == "PermissionSet"]:
        depths = res.spec.get("depths") or {}
        gone = sorted(t for t in depths if not index.has_object(t))
        for table in gone:
            del depths[table]
        if gone:
            shown = ", ".join(gone[:5]) + (f" and {len(gone) - 5} more" if len(gone) > 5 else "")
            result.report.append(
                ReportLine(
                    result.origin[res.address],
                    f"privileges on {len(gone)} table(s) left out, not in this solution and "
                    f"not standard tables crmctl knows: {shown}",
                    res.address,
                    partly=True,
                )
            )
        if "depths" in res.spec and not depths:
            del res.spec["depths"]


def import_dataverse_solution(source: Path) -> ImportResult:
    """Convert an unpacked Dataverse solution (the folder holding Entities/ and Other/)."""
    return _Importer(Path(source)).run()
