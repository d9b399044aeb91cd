"""The org's components: each deployed component's XML, as a real org keeps it.

`sf_components` holds the XML of every component deployed through the
Metadata API, and which sandbox store item it mirrors (the part the store
enforces): that item's version and time of change when it was deployed. The org's components are
then:

- store items with fresh XML: the XML as deployed;
- store items changed since through the sandbox's own API: the deployed XML
  with the elements the store holds rewritten;
- store items that never came through the Metadata API: XML written from
  the store's spec;
- components with nothing to enforce (formula fields, list views, global
  value sets …): their XML as deployed.

Each with the defaults a real org adds where they are absent
(`specs.with_defaults`).
"""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from crmctl.sandbox.salesforce import mdxml, specs
from crmctl.sandbox.store import SandboxStore

__all__ = [
    "OrgComponent",
    "KIND_TYPES",
    "org_components",
    "mark",
    "save",
    "stored",
    "follow",
    "delete",
    "store_kind",
]

#: Sandbox store kind -> the Metadata API types that show it.
KIND_TYPES = {
    "CustomObject": ("CustomObject",),
    "CustomField": ("CustomField",),
    "ValidationRule": ("ValidationRule",),
    "Role": ("Role",),
    "PermissionSet": ("PermissionSet",),
    "DuplicateRule": ("DuplicateRule", "MatchingRule"),
}


def store_kind(type_name: str) -> str | None:
    """The store kind a Metadata API type mirrors (None: XML only)."""
    for kind, types in KIND_TYPES.items():
        if type_name in types:
            return kind
    return None


@dataclass
class OrgComponent:
    """One component of the org, its XML a fresh copy."""

    type: str
    full_name: str
    element: ET.Element
    updated_by: str
    updated_at: str
    mirrored: bool  # the store holds (part of) it


def mark(item: dict) -> str:
    """A store item's version and time of change: whether XML kept for it is still its own."""
    return f"{item['version']}|{item['updatedAt']}"


def _state(row_mark: str, item: dict) -> str:
    """Whether kept XML is fresh, changed (through the sandbox API) or new (deleted, made again)."""
    if row_mark == mark(item):
        return "fresh"
    version = int(row_mark.partition("|")[0])
    return "changed" if item["version"] > version else "new"


def save(
    conn: sqlite3.Connection,
    type_name: str,
    full_name: str,
    element: ET.Element,
    mirrors: str | None,
    at: str,
    by: str,
) -> None:
    """Keep a deployed component's XML; `mirrors`: the `mark` of the store item it mirrors."""
    conn.execute(
        "INSERT OR REPLACE INTO sf_components"
        " (type, name_key, full_name, xml, store_mark, updated_at, updated_by)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (type_name, full_name.lower(), full_name, mdxml.fragment(element), mirrors, at, by),
    )


def stored(conn: sqlite3.Connection, type_name: str, full_name: str) -> ET.Element | None:
    """The XML kept for a component (as deployed), or None."""
    row = conn.execute(
        "SELECT xml FROM sf_components WHERE type = ? AND name_key = ?",
        (type_name, full_name.lower()),
    ).fetchone()
    return mdxml.from_fragment(row[0]) if row else None


def follow(conn: sqlite3.Connection, type_name: str, full_name: str, mirrors: str) -> None:
    """A component that mirrors the same store item as another follows its spec."""
    conn.execute(
        "UPDATE sf_components SET store_mark = ? WHERE type = ? AND name_key = ?",
        (mirrors, type_name, full_name.lower()),
    )


def delete(conn: sqlite3.Connection, type_name: str, full_name: str) -> None:
    conn.execute(
        "DELETE FROM sf_components WHERE type = ? AND name_key = ?",
        (type_name, full_name.lower()),
    )


def _rows(conn: sqlite3.Connection) -> dict[tuple[str, str], tuple]:
    rows = conn.execute(
        "SELECT type, name_key, full_name, xml, store_mark, updated_at, updated_by"
        " FROM sf_components"
    ).fetchall()
    return {(r[0], r[1]): r for r in rows}


def org_components(store: SandboxStore) -> dict[tuple[str, str], OrgComponent]:
    """Every component of the org by (type, lower-case name)."""
    with store.transaction() as conn:
        rows = _rows(conn)
    deployed = set(rows)
    items = store.list_all_config(list(KIND_TYPES))
    out: dict[tuple[str, str], OrgComponent] = {}
    for item in items:
        for type_name in KIND_TYPES[item["kind"]]:
            key = (type_name, item["name"].lower())
            row = rows.pop(key, None)
            if (
                row is None
                and type_name == "MatchingRule"
                and ("DuplicateRule", key[1]) in deployed
            ):
                continue  # deployed with matching rules of other names
            generated = specs.to_xml(type_name, item["name"], item["spec"])
            state = _state(row[4], item) if row is not None and row[4] else "new"
            stored = row[3] if row is not None else ""
            if state == "fresh":
                element = mdxml.from_fragment(stored)
            elif state == "changed":  # through the sandbox's own API since it was deployed
                element = specs.overlay(mdxml.from_fragment(stored), generated)
            else:
                element = generated
            element = specs.with_defaults(type_name, element)
            out[key] = OrgComponent(
                type_name, item["name"], element, item["updatedBy"], item["updatedAt"], True
            )
    objects = {name for (type_name, name) in out if type_name == "CustomObject"}
    objects |= {key[1] for key in rows if key[0] == "CustomObject"}
    for key, row in rows.items():
        if row[4] is not None:
            continue  # it mirrored a store item that was deleted since
        obj = key[1].partition(".")[0]
        if "." in key[1] and obj.endswith("__c") and obj not in objects:
            continue  # its object is gone
        element = specs.with_defaults(key[0], mdxml.from_fragment(row[3]))
        out[key] = OrgComponent(key[0], row[2], element, row[6], row[5], False)
    return out
