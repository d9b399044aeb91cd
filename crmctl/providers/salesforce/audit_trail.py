"""Who changed what in Setup: SetupAuditTrail rows as crmctl change-log entries.

Salesforce records configuration changes in SetupAuditTrail (Action, Section,
Display, CreatedBy, CreatedDate). Display is prose ("Changed custom field
Region (Account.Region__c)", "Created permission set MAD: with user license
Salesforce"), so an entry is matched to a crmctl address in two ways:

1. the kind from the words of Display or the Action (custom field, validation
   rule, permission set, PermSetCreate …);
2. the component: an API name in parentheses that fits the kind, else the
   one component of that kind whose label Display names (for a field or rule,
   its object must be named too, in Display or in the Section such as
   "Customize Accounts").

Rows that match nothing (other Setup areas, ambiguous labels) are left out:
drift then reports the change without naming who made it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from crmctl.providers.base import ChangeLogEntry

__all__ = ["QUERY", "query_for", "entries", "soql_time"]

QUERY = "SELECT Action, Section, Display, CreatedBy.Username, CreatedDate FROM SetupAuditTrail"

#: Words of Display (or the Action) -> crmctl kind; the more specific first.
_NOUNS: list[tuple[str, str]] = [
    ("custom object", "CustomObject"),
    ("custom field", "CustomField"),
    ("validation rule", "ValidationRule"),
    ("duplicate rule", "DuplicateRule"),
    ("permission set", "PermissionSet"),
    ("role", "Role"),
    ("user", "User"),
]
_ACTION_HINTS: list[tuple[str, str]] = [
    ("permset", "PermissionSet"),
    ("validation", "ValidationRule"),
    ("duplicaterule", "DuplicateRule"),
    ("custent", "CustomObject"),
    ("cf", "CustomField"),
    ("role", "Role"),
    ("user", "User"),
]
_DOTTED = {"CustomField", "ValidationRule", "DuplicateRule"}
_NAME = re.compile(r"\(([A-Za-z][\w.@+-]*)\)")


def soql_time(text: str) -> str | None:
    """An ISO time as a SOQL dateTime literal (`2025-01-31T12:00:00Z`), or None."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def query_for(since: str | None) -> str:
    """The SOQL for the trail from `since` (every row when None), oldest first."""
    start = soql_time(since) if since else None
    where = f" WHERE CreatedDate >= {start}" if start else ""
    return f"{QUERY}{where} ORDER BY CreatedDate ASC"


def _iso(text: str) -> str:
    """Salesforce's `2025-01-31T12:00:00.000+0000` as ISO-8601 with a Z."""
    value = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text.strip())
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return text
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _kind(display: str, action: str) -> str | None:
    words = display.lower()
    for noun, kind in _NOUNS:
        if re.search(rf"\b{noun}\b", words):
            return kind
    lowered = action.lower()
    for hint, kind in _ACTION_HINTS:
        if hint in lowered:
            return kind
    return None


def _verb(display: str, action: str) -> str:
    text = f"{display.split(' ', 1)[0]} {action}".lower()
    if "delet" in text or "remov" in text:
        return "delete"
    if "creat" in text or "new" in text or text.startswith("added"):
        return "create"
    return "update"


def _fits(kind: str, name: str) -> bool:
    dotted = "." in name
    if kind == "User":
        return "@" in name
    return dotted if kind in _DOTTED else not dotted


def _by_label(kind: str, display: str, section: str, known: Mapping[str, str]) -> str | None:
    """The one known component of `kind` whose label (or name) Display names."""
    context = f"{display} {section}".lower()
    hits = []
    for address, label in known.items():
        known_kind, _, name = address.partition("/")
        if known_kind != kind:
            continue
        own = name.rpartition(".")[2]
        names = {label.lower(), own.lower(), own.removesuffix("__c").lower()} - {""}
        if not any(re.search(rf"(?<!\w){re.escape(n)}(?!\w)", display.lower()) for n in names):
            continue
        if kind in _DOTTED:
            obj = name.partition(".")[0]
            object_label = known.get(f"CustomObject/{obj}", obj).lower()
            if not any(o and o in context for o in (obj.lower(), object_label,
                                                     obj.removesuffix("__c").lower())):  # fmt: skip
                continue
        hits.append(address)
    return hits[0] if len(hits) == 1 else None


def _address(row: Mapping[str, Any], known: Mapping[str, str]) -> str | None:
    display = str(row.get("Display") or "")
    action = str(row.get("Action") or "")
    kind = _kind(display, action)
    if kind is None:
        return None
    lowered = {a.lower(): a for a in known}
    for name in _NAME.findall(display):
        address = f"{kind}/{name}"
        if address.lower() in lowered:
            return lowered[address.lower()]
        if _fits(kind, name):
            return address
    if kind == "User":
        found = re.search(r"[\w.+-]+@[\w.-]+\w", display)
        if found:
            address = f"User/{found.group(0)}"
            return lowered.get(address.lower(), address)
    return _by_label(kind, display, str(row.get("Section") or ""), known)


def entries(rows: Iterable[Mapping[str, Any]], known: Mapping[str, str]) -> list[ChangeLogEntry]:
    """The rows crmctl can place, as change-log entries in the order given.

    `known`: address -> label of the components crmctl knows (the last read).
    """
    out = []
    for row in rows:
        address = _address(row, known)
        created_by = row.get("CreatedBy") or {}
        actor = created_by.get("Username") if isinstance(created_by, Mapping) else None
        if address is None or not actor:
            continue
        display, action = str(row.get("Display") or ""), str(row.get("Action") or "")
        out.append(
            ChangeLogEntry(
                address, _verb(display, action), str(actor), _iso(str(row.get("CreatedDate") or ""))
            )  # fmt: skip
        )
    return out
