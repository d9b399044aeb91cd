"""Metadata API zips: crmctl resources <-> the files of a retrieve or deploy package.

Layout (Metadata API format, `singlePackage`):

    package.xml                         what is deployed or retrieved
    destructiveChangesPre.xml           deleted before the rest is deployed (replaced fields)
    destructiveChangesPost.xml          deleted after it (plain deletes)
    objects/Account.object              an object's settings, <fields> and <validationRules>
    permissionsets/Sales_Rep.permissionset
    roles/CEO.role
    duplicateRules/Contact.Same_Email.duplicateRule
    matchingRules/Contact.matchingRule  one <matchingRules> per duplicate rule, same name
    globalValueSets/Region.globalValueSet

A crmctl DuplicateRule is two components: the DuplicateRule and the
MatchingRule of the same name that holds its `match`.

Reading keeps each component's XML (`Component.element`); writing an update
starts from it (`Live`, see `merge`), writing a create from the spec.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from crmctl.dialect import is_custom_field, is_custom_object
from crmctl.model import Resource
from crmctl.providers.salesforce import merge
from crmctl.providers.salesforce import metadata_xml as mx

__all__ = [
    "Component",
    "Live",
    "OBJECT_CHILDREN",
    "MetadataTypes",
    "members_of",
    "deploy_zip",
    "read_zip",
    "ZipContents",
    "KIND_OF",
    "kind_of",
    "zip_files",
]

#: crmctl kind -> the Metadata API types that hold it.
MetadataTypes: dict[str, tuple[str, ...]] = {
    "CustomObject": ("CustomObject",),
    "CustomField": ("CustomField",),
    "ValidationRule": ("ValidationRule",),
    "PermissionSet": ("PermissionSet",),
    "Role": ("Role",),
    "DuplicateRule": ("DuplicateRule", "MatchingRule"),
    "GlobalValueSet": ("GlobalValueSet",),
    "RecordType": ("RecordType",),
    "StandardField": ("CustomField",),
}
#: Metadata API type -> the crmctl kind it belongs to.
KIND_OF = {"CustomObject": "CustomObject", "CustomField": "CustomField",
            "ValidationRule": "ValidationRule", "PermissionSet": "PermissionSet",
            "Role": "Role", "DuplicateRule": "DuplicateRule", "MatchingRule": "DuplicateRule",
            "GlobalValueSet": "GlobalValueSet", "RecordType": "RecordType"}  # fmt: skip
_MAX_UNZIPPED = 400 * 1024 * 1024  # a retrieve is at most 39 MB zipped; refuse zip bombs
#: Elements of an .object file that are components of their own (CustomField, ListView …):
#: deploying the object leaves those of them that are not in the file as they are.
OBJECT_CHILDREN = frozenset(
    {"fields", "validationRules", "listViews", "recordTypes", "webLinks", "compactLayouts",
     "fieldSets", "businessProcesses", "sharingReasons", "indexes"}
)  # fmt: skip


@dataclass
class Component:
    """One component found in a zip, and its crmctl translation."""

    type: str  # Metadata API type (CustomField, MatchingRule …)
    full_name: str  # Account.Region__c
    file_name: str  # objects/Account.object
    converted: mx.Converted
    element: ET.Element | None = None  # its XML as found (an object: its own elements only)

    @property
    def kind(self) -> str:
        return kind_of(self.type, self.full_name)


@dataclass
class ZipContents:
    """What a zip holds: its manifests and its components."""

    members: dict[str, list[str]] = field(default_factory=dict)  # package.xml
    delete_pre: dict[str, list[str]] = field(default_factory=dict)
    delete_post: dict[str, list[str]] = field(default_factory=dict)
    components: list[Component] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (file, problem)

    def resources(self) -> list[Resource]:
        """The convertible components as crmctl resources (matching rules are inside rules)."""
        return [
            Resource(c.kind, c.full_name, c.converted.spec)
            for c in self.components
            if c.type != "MatchingRule" and c.converted.spec is not None
        ]


@dataclass(frozen=True)
class Live:
    """A component as the org holds it: the spec a change starts from, and its XML."""

    before: dict[str, Any]
    element: ET.Element
    matching: ET.Element | None = None  # a duplicate rule's matching rule


def kind_of(type_name: str, full_name: str) -> str:
    """The crmctl kind of a component: a CustomField without `__c` is a StandardField."""
    if type_name == "CustomField" and not is_custom_field(full_name.rpartition(".")[2]):
        return "StandardField"
    return KIND_OF[type_name]


def members_of(kind: str, name: str) -> list[tuple[str, str]]:
    """The (type, member) pairs a crmctl resource is deployed or deleted as."""
    return [(t, name) for t in MetadataTypes[kind]]


# --- writing -----------------------------------------------------------------------------


def _files(
    resources: Iterable[Resource], sort_orders: Mapping[str, int], live: Mapping[str, Live]
) -> dict[str, bytes]:
    objects: dict[str, ET.Element] = {}
    matching: dict[str, ET.Element] = {}
    files: dict[str, bytes] = {}
    failures: dict[str, str] = {}

    def object_root(obj: str) -> ET.Element:
        return objects.setdefault(obj, mx.object_xml(None))

    for res in resources:
        obj, _, rest = res.name.partition(".")
        current = live.get(res.address)
        own = rest or res.name
        try:
            patched = (
                merge.patch(res.kind, own, current.element, current.before, res.spec)
                if current is not None
                else None
            )
        except merge.MergeError as exc:
            failures[res.address] = str(exc)
            continue
        if res.kind == "CustomObject":
            settings = patched if patched is not None else mx.object_xml(res.spec)
            root = object_root(obj)
            for i, item in enumerate(settings):
                root.insert(i, item)
        elif res.kind == "CustomField":
            object_root(obj).append(
                patched if patched is not None else mx.field_xml(rest, res.spec)
            )
        elif res.kind == "ValidationRule":
            object_root(obj).append(
                patched if patched is not None else mx.validation_rule_xml(rest, res.spec)
            )
        elif res.kind == "StandardField":
            object_root(obj).append(
                patched if patched is not None else mx.standard_field_xml(rest, res.spec)
            )
        elif res.kind == "RecordType":
            object_root(obj).append(
                patched if patched is not None else mx.record_type_xml(rest, res.spec)
            )
        elif res.kind == "GlobalValueSet":
            element = patched if patched is not None else mx.global_value_set_xml(res.spec)
            files[f"globalValueSets/{res.name}.globalValueSet"] = mx.to_bytes(element)
        elif res.kind == "PermissionSet":
            element = patched if patched is not None else mx.permission_set_xml(res.spec)
            files[f"permissionsets/{res.name}.permissionset"] = mx.to_bytes(element)
        elif res.kind == "Role":
            element = patched if patched is not None else mx.role_xml(res.spec)
            files[f"roles/{res.name}.role"] = mx.to_bytes(element)
        elif res.kind == "DuplicateRule":
            order = sort_orders.get(res.name, 1)
            rule = (
                patched
                if patched is not None
                else mx.duplicate_rule_xml(rest, obj, res.spec, order)
            )
            files[f"duplicateRules/{res.name}.duplicateRule"] = mx.to_bytes(rule)
            if current is not None and current.matching is not None:
                entry = merge.patch_matching_rule(current.matching, current.before, res.spec)
            else:
                entry = mx.matching_rule_xml(rest, res.spec)
            matching.setdefault(obj, ET.Element("MatchingRules")).append(entry)
    if failures:
        raise merge.MergeError("; ".join(f"{a}: {m}" for a, m in failures.items()), failures)
    for obj, root in objects.items():
        files[f"objects/{obj}.object"] = mx.to_bytes(root)
    for obj, root in matching.items():
        files[f"matchingRules/{obj}.matchingRule"] = mx.to_bytes(root)
    return files


def zip_files(files: Mapping[str, bytes]) -> bytes:
    """A zip of {name: content}."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            archive.writestr(name, files[name])
    return buffer.getvalue()


def _types(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for type_name, member in pairs:
        out.setdefault(type_name, []).append(member)
    return out


def deploy_zip(
    upserts: Iterable[Resource],
    delete_pre: Iterable[tuple[str, str]] = (),
    delete_post: Iterable[tuple[str, str]] = (),
    version: str = "61.0",
    sort_orders: Mapping[str, int] | None = None,
    live: Mapping[str, Live] | None = None,
) -> bytes:
    """A deploy package: `upserts` (crmctl resources) and deletions ((kind, name) pairs).

    An upsert whose address is in `live` is an update of the org's XML (see
    `merge`); the others are created from their spec. Raises `merge.MergeError`
    naming every update that cannot be written without loss.
    """
    upserts = list(upserts)
    files = _files(upserts, sort_orders or {}, live or {})
    members = [pair for r in upserts for pair in members_of(r.kind, r.name)]
    files["package.xml"] = mx.package_xml(_types(members), version)
    for file_name, deletes in (
        ("destructiveChangesPre.xml", delete_pre),
        ("destructiveChangesPost.xml", delete_post),
    ):
        pairs = [pair for kind, name in deletes for pair in members_of(kind, name)]
        if pairs:
            files[file_name] = mx.package_xml(_types(pairs), None)
    return zip_files(files)


# --- reading -----------------------------------------------------------------------------


def _open(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if sum(info.file_size for info in archive.infolist()) > _MAX_UNZIPPED:
            raise ValueError(f"the zip unpacks to more than {_MAX_UNZIPPED // 2**20} MB")
        # A retrieve without singlePackage puts everything under unpackaged/.
        return {
            info.filename.removeprefix("unpackaged/"): archive.read(info)
            for info in archive.infolist()
            if not info.is_dir()
        }


def read_zip(data: bytes) -> ZipContents:
    """Every component of a retrieve or deploy zip, translated to crmctl specs."""
    files = _open(data)
    out = ZipContents()
    roots: dict[str, ET.Element] = {}
    for name, content in files.items():
        if not name.endswith(".xml") and "/" not in name:
            continue
        try:
            roots[name] = mx.parse(content)
        except ET.ParseError as exc:
            out.problems.append((name, f"not well-formed XML: {exc}"))
    for manifest, target in (
        ("package.xml", out.members),
        ("destructiveChanges.xml", out.delete_pre),  # before the rest, as before API 33.0
        ("destructiveChangesPre.xml", out.delete_pre),
        ("destructiveChangesPost.xml", out.delete_post),
    ):
        if manifest in roots:
            for type_name, members in mx.package_members(roots[manifest]).items():
                target.setdefault(type_name, []).extend(members)
    value_sets = {
        name.split("/")[1].rsplit(".", 1)[0]: mx.value_set_values(root, "customValue")
        for name, root in roots.items()
        if name.startswith("globalValueSets/")
    }
    matching: dict[str, ET.Element] = {}
    for name, root in roots.items():
        if name.startswith("matchingRules/"):
            obj = name.split("/")[1].rsplit(".", 1)[0]
            for rule_name, rule in mx.matching_rules(root).items():
                matching[f"{obj}.{rule_name}"] = rule
                items = mx.matching_rule_items(rule)
                out.components.append(
                    Component("MatchingRule", f"{obj}.{rule_name}", name, items, rule)
                )
    for name, root in sorted(roots.items()):
        folder, _, base = name.partition("/")
        stem = base.rsplit(".", 1)[0]
        if folder == "objects":
            out.components.extend(_object_components(name, stem, root, value_sets))
        elif folder == "permissionsets":
            out.components.append(
                Component("PermissionSet", stem, name, mx.permission_set_spec(root), root)
            )
        elif folder == "roles":
            out.components.append(Component("Role", stem, name, mx.role_spec(root, stem), root))
        elif folder == "globalValueSets":
            converted = mx.global_value_set_spec(root, stem)
            out.components.append(Component("GlobalValueSet", stem, name, converted, root))
        elif folder == "duplicateRules":
            obj = stem.partition(".")[0]
            rules = {k.partition(".")[2]: v for k, v in matching.items() if k.startswith(obj + ".")}
            converted = mx.duplicate_rule_spec(obj, root, rules)
            out.components.append(Component("DuplicateRule", stem, name, converted, root))
    return out


def _object_components(
    file_name: str, obj: str, root: ET.Element, value_sets: Mapping[str, list[dict[str, Any]]]
) -> list[Component]:
    found: list[Component] = []
    if is_custom_object(obj) and mx.text(root, "label") is not None:
        own = ET.Element(root.tag)
        own.extend(item for item in root if item.tag not in OBJECT_CHILDREN)
        found.append(Component("CustomObject", obj, file_name, mx.object_spec(root), own))
    for element in mx.children(root, "fields"):
        field_name = mx.text(element, "fullName") or ""
        converted = (
            mx.field_spec(obj, element, value_sets)
            if is_custom_field(field_name)
            else mx.standard_field_spec(element)  # what is customised of a standard field
        )
        found.append(Component("CustomField", f"{obj}.{field_name}", file_name, converted, element))
    for element in mx.children(root, "recordTypes"):
        record_type = mx.text(element, "fullName") or ""
        found.append(
            Component(
                "RecordType",
                f"{obj}.{record_type}",
                file_name,
                mx.record_type_spec(element),
                element,
            )
        )
    for element in mx.children(root, "validationRules"):
        rule = mx.text(element, "fullName") or ""
        found.append(
            Component(
                "ValidationRule",
                f"{obj}.{rule}",
                file_name,
                mx.validation_rule_spec(element),
                element,
            )
        )
    return found
