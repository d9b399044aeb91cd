"""Salesforce DX source format -> Metadata API format, as `sf project convert source` does it.

Test support only: it shares no code with crmctl's provider or emulator, so a
test can deploy a real project through the emulator's raw Metadata API.

    files = mdapi_files(Path("../shared/data/sfdx/dreamhouse-lwc"))   # {path: bytes}
    components = split(files)           # {(type, fullName): canonical XML}
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

NS = "http://soap.sforce.com/2006/04/metadata"
_CHILDREN = {"fields": "CustomField", "validationRules": "ValidationRule", "listViews": "ListView",
             "recordTypes": "RecordType", "webLinks": "WebLink", "compactLayouts": "CompactLayout",
             "fieldSets": "FieldSet", "businessProcesses": "BusinessProcess"}  # fmt: skip
_FILES = {"permissionsets": ("PermissionSet", "permissionset"), "roles": ("Role", "role"),
          "duplicateRules": ("DuplicateRule", "duplicateRule"), "profiles": ("Profile", "profile"),
          "globalValueSets": ("GlobalValueSet", "globalValueSet")}  # fmt: skip


def _parse(data: bytes) -> ET.Element:
    root = ET.fromstring(data)
    for element in root.iter():
        element.tag = element.tag.rpartition("}")[2]
    return root


def _text(element: ET.Element, tag: str) -> str:
    found = element.find(tag)
    return (found.text or "") if found is not None else ""


def _write(root: ET.Element) -> bytes:
    root.set("xmlns", NS)
    ET.indent(root, space="    ")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")


def package_xml(members: dict[str, list[str]]) -> bytes:
    root = ET.Element("Package")
    for type_name in sorted(members):
        entry = ET.SubElement(root, "types")
        for member in sorted(members[type_name]):
            ET.SubElement(entry, "members").text = member
        ET.SubElement(entry, "name").text = type_name
    ET.SubElement(root, "version").text = "61.0"
    return _write(root)


def mdapi_files(project: Path) -> dict[str, bytes]:
    """The project's metadata as a deploy zip's files, package.xml included."""
    files: dict[str, bytes] = {}
    members: dict[str, list[str]] = {}
    objects: dict[str, ET.Element] = {}
    matching: dict[str, ET.Element] = {}
    for path in sorted(project.rglob("*-meta.xml")):
        parts = path.relative_to(project).parts
        name = path.name.removesuffix("-meta.xml")
        stem = name.rsplit(".", 1)[0]
        root = _parse(path.read_bytes())
        if "objects" in parts:
            obj = parts[parts.index("objects") + 1]
            container = objects.setdefault(obj, ET.Element("CustomObject"))
            folder = parts[-2]
            if folder == obj:  # the object's own file
                container[0:0] = list(root)
                members.setdefault("CustomObject", []).append(obj)
            elif folder in _CHILDREN:
                root.tag = folder
                if root.find("fullName") is None:
                    ET.SubElement(root, "fullName").text = stem
                    root.insert(0, root[-1])
                    del root[-1]
                container.append(root)
                members.setdefault(_CHILDREN[folder], []).append(f"{obj}.{stem}")
        elif parts[-2] == "matchingRules":
            matching[stem] = root
            for rule in root.findall("matchingRules"):
                members.setdefault("MatchingRule", []).append(f"{stem}.{_text(rule, 'fullName')}")
        elif parts[-2] in _FILES:
            type_name, suffix = _FILES[parts[-2]]
            files[f"{parts[-2]}/{stem}.{suffix}"] = _write(root)
            members.setdefault(type_name, []).append(stem)
    for obj, root in objects.items():
        files[f"objects/{obj}.object"] = _write(root)
    for obj, root in matching.items():
        files[f"matchingRules/{obj}.matchingRule"] = _write(root)
    files["package.xml"] = package_xml(members)
    return files


def canonical(element: ET.Element) -> str:
    """An element's XML without indentation: equal content and order compare equal."""
    import copy

    element = copy.deepcopy(element)
    for item in element.iter():
        item.text = (item.text or "").strip() or None
        item.tail = None
    return ET.tostring(element, encoding="unicode")


def split(files: dict[str, bytes]) -> dict[tuple[str, str], ET.Element]:
    """Every component of Metadata API files by (type, fullName)."""
    out: dict[tuple[str, str], ET.Element] = {}
    for name, content in files.items():
        name = name.removeprefix("unpackaged/")
        folder, _, base = name.partition("/")
        stem = base.rsplit(".", 1)[0]
        if not base:
            continue
        root = _parse(content)
        if folder == "objects":
            own = ET.Element("CustomObject")
            for item in root:
                if item.tag in _CHILDREN:
                    out[(_CHILDREN[item.tag], f"{stem}.{_text(item, 'fullName')}")] = item
                else:
                    own.append(item)
            if len(own):
                out[("CustomObject", stem)] = own
        elif folder == "matchingRules":
            for rule in root.findall("matchingRules"):
                out[("MatchingRule", f"{stem}.{_text(rule, 'fullName')}")] = rule
        elif folder in _FILES:
            out[(_FILES[folder][0], stem)] = root
    return out


def jwt_auth(org) -> dict[str, str]:
    """The `auth:` block of a Salesforce environment for a test org (JWT, its admin)."""
    from tests.salesforce_org import ADMIN

    names = org.env_variables()
    return {
        "method": "jwt",
        "clientIdEnv": next(n for n in names if n.endswith("CLIENT_ID")),
        "username": ADMIN,
        "keyFileEnv": next(n for n in names if n.endswith("JWT_KEY")),
    }
