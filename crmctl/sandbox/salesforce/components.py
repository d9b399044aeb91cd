"""Metadata API files <-> components: how a zip's files hold components, both ways.

A component is (type, fullName, element). Most types are one file each
(`roles/CEO.role`). An object file holds the CustomObject's own elements and
its child components (`<fields>` is a CustomField `Account.Region__c`, and so
on); a `.matchingRule` file holds one `<matchingRules>` per MatchingRule.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass

from crmctl.sandbox.salesforce import mdxml

__all__ = [
    "Found",
    "OBJECT_CHILDREN",
    "CHILD_TYPES",
    "FILE_TYPES",
    "CONTAINERS",
    "ACCEPTED",
    "file_name",
    "split",
    "assemble",
]

#: Object file element -> the Metadata API type of the component it is.
OBJECT_CHILDREN = {
    "fields": "CustomField",
    "validationRules": "ValidationRule",
    "listViews": "ListView",
    "recordTypes": "RecordType",
    "webLinks": "WebLink",
    "compactLayouts": "CompactLayout",
    "fieldSets": "FieldSet",
    "businessProcesses": "BusinessProcess",
    "sharingReasons": "SharingReason",
    "indexes": "Index",
}
CHILD_TYPES = {type_name: tag for tag, type_name in OBJECT_CHILDREN.items()}
#: Types that are one file each: (folder, suffix).
FILE_TYPES = {
    "CustomObject": ("objects", "object"),
    "PermissionSet": ("permissionsets", "permissionset"),
    "Role": ("roles", "role"),
    "DuplicateRule": ("duplicateRules", "duplicateRule"),
    "GlobalValueSet": ("globalValueSets", "globalValueSet"),
    "Profile": ("profiles", "profile"),
}
_FOLDER_TYPES = {folder: type_name for type_name, (folder, _) in FILE_TYPES.items()}
#: Types that name a file of child components by the object's name (`MatchingRules:
#: Account` is matchingRules/Account.matchingRule), as the Salesforce CLI names them.
CONTAINERS = {"MatchingRules": "MatchingRule"}
#: Every type this org takes in a deploy and gives back in a retrieve.
ACCEPTED = frozenset({*FILE_TYPES, *CHILD_TYPES, "MatchingRule", *CONTAINERS})


@dataclass
class Found:
    """One component of a deploy zip."""

    type: str
    full_name: str
    file_name: str
    element: ET.Element


def file_name(type_name: str, full_name: str) -> str:
    """The file a component lives in (its object's file for child components)."""
    obj = full_name.partition(".")[0]
    if type_name in CHILD_TYPES:
        return f"objects/{obj}.object"
    if type_name in ("MatchingRule", "MatchingRules"):
        return f"matchingRules/{obj}.matchingRule"
    folder, suffix = FILE_TYPES[type_name]
    return f"{folder}/{full_name}.{suffix}"


def split(files: dict[str, bytes]) -> tuple[dict[tuple[str, str], Found], list[tuple[str, str]]]:
    """The components of a zip's files by (type, lower-case name); unreadable files."""
    found: dict[tuple[str, str], Found] = {}
    problems: list[tuple[str, str]] = []

    def add(type_name: str, full_name: str, name: str, element: ET.Element) -> None:
        found[(type_name, full_name.lower())] = Found(type_name, full_name, name, element)

    for name, content in sorted(files.items()):
        folder, _, base = name.partition("/")
        stem = base.rsplit(".", 1)[0]
        if folder not in _FOLDER_TYPES and folder != "matchingRules":
            continue
        try:
            root = mdxml.parse(content)
        except ET.ParseError as exc:
            problems.append((name, f"Error parsing file: {exc}"))
            continue
        if folder == "objects":
            own = ET.Element("CustomObject")
            for item in root:
                child_type = OBJECT_CHILDREN.get(item.tag)
                if child_type is None:
                    own.append(item)
                else:
                    add(child_type, f"{stem}.{mdxml.text(item, 'fullName') or ''}", name, item)
            add("CustomObject", stem, name, own)
        elif folder == "matchingRules":
            for item in root.findall("matchingRules"):
                add("MatchingRule", f"{stem}.{mdxml.text(item, 'fullName') or ''}", name, item)
        else:
            add(_FOLDER_TYPES[folder], stem, name, root)
    return found, problems


def assemble(components: Iterable[tuple[str, str, ET.Element]]) -> dict[str, bytes]:
    """Retrieve files for (type, fullName, element) components, as Salesforce writes them."""
    objects: dict[str, list[ET.Element]] = {}
    matching: dict[str, list[ET.Element]] = {}
    files: dict[str, bytes] = {}
    for type_name, full_name, element in components:
        obj = full_name.partition(".")[0]
        if type_name == "CustomObject":
            objects.setdefault(obj, []).extend(element)
        elif type_name in CHILD_TYPES:
            objects.setdefault(obj, []).append(element)
        elif type_name == "MatchingRule":
            matching.setdefault(obj, []).append(element)
        else:
            files[file_name(type_name, full_name)] = mdxml.document(element)
    for obj, items in objects.items():
        root = ET.Element("CustomObject")
        root.extend(sorted(items, key=lambda e: e.tag))  # stable: Salesforce's element order
        files[file_name("CustomObject", obj)] = mdxml.document(root)
    for obj, items in matching.items():
        root = ET.Element("MatchingRules")
        root.extend(items)
        files[f"matchingRules/{obj}.matchingRule"] = mdxml.document(root)
    return files
