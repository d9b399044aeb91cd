"""Metadata API files as the org sees them: XML plumbing, manifests, zips.

Written from Salesforce's Metadata API documentation, independently of the
Salesforce provider (which is the client this emulator checks). Components
are kept as XML elements with namespaces stripped from their tags; they are
written back with Salesforce's namespace and four-space indents.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable, Mapping

__all__ = [
    "NS",
    "XSI",
    "parse",
    "text",
    "document",
    "fragment",
    "from_fragment",
    "manifest",
    "manifest_members",
    "unzip",
    "zip_files",
]

NS = "http://soap.sforce.com/2006/04/metadata"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_NIL = f"{{{XSI}}}nil"
_MAX_UNZIPPED = 400 * 1024 * 1024  # Salesforce refuses a deploy over 39 MB zipped


def parse(data: bytes | str) -> ET.Element:
    """A document's root with namespaces stripped from every tag."""
    root = ET.fromstring(data)
    for element in root.iter():
        element.tag = element.tag.rpartition("}")[2]
    return root


def text(element: ET.Element | None, tag: str) -> str | None:
    """The text of the first child `tag` (None when absent or xsi:nil)."""
    found = element.find(tag) if element is not None else None
    if found is None or found.get(_NIL) == "true":
        return None
    return found.text or ""


def _strip(element: ET.Element) -> ET.Element:
    for item in element.iter():
        if item.text is not None and not item.text.strip() and len(item):
            item.text = None
        if item.tail is not None and not item.tail.strip():
            item.tail = None
    return element


def fragment(element: ET.Element) -> str:
    """One component's element as stored (no indentation, namespaces stripped)."""
    import copy

    return ET.tostring(_strip(copy.deepcopy(element)), encoding="unicode")


def from_fragment(stored: str) -> ET.Element:
    return ET.fromstring(stored)


def document(root: ET.Element) -> bytes:
    """A metadata file: declaration, Salesforce's namespace, four-space indents."""
    root.set("xmlns", NS)
    for element in root.iter():
        if _NIL in element.attrib:
            element.set("xsi:nil", element.attrib.pop(_NIL))
            root.set("xmlns:xsi", XSI)
    ET.indent(root, space="    ")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"


def manifest(types: Mapping[str, Iterable[str]], version: str | None) -> bytes:
    """A package.xml listing `types`."""
    root = ET.Element("Package")
    for type_name in sorted(types):
        members = sorted(set(types[type_name]))
        if members:
            entry = ET.SubElement(root, "types")
            for member in members:
                ET.SubElement(entry, "members").text = member
            ET.SubElement(entry, "name").text = type_name
    if version:
        ET.SubElement(root, "version").text = version
    return document(root)


def manifest_members(root: ET.Element) -> dict[str, list[str]]:
    """{type: [members]} of a package.xml, a destructiveChanges*.xml or an `unpackaged`."""
    out: dict[str, list[str]] = {}
    for entry in root.findall("types"):
        out.setdefault(text(entry, "name") or "", []).extend(
            (m.text or "").strip() for m in entry.findall("members")
        )
    return out


def unzip(data: bytes) -> dict[str, bytes]:
    """The files of a deploy zip by path, without a leading `unpackaged/` (or package) folder."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = [info for info in archive.infolist() if not info.is_dir()]
        if sum(info.file_size for info in infos) > _MAX_UNZIPPED:
            raise ValueError(f"the zip unpacks to more than {_MAX_UNZIPPED // 2**20} MB")
        files = {info.filename: archive.read(info) for info in infos}
    if "package.xml" not in files:
        roots = {name.partition("/")[0] for name in files if name.endswith("/package.xml")}
        if len(roots) == 1:
            prefix = roots.pop() + "/"
            files = {k.removeprefix(prefix): v for k, v in files.items() if k.startswith(prefix)}
    return files


def zip_files(files: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            archive.writestr(name, files[name])
    return buffer.getvalue()
