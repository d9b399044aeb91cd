"""SetupAuditTrail: the org's record of configuration changes, queryable by SOQL.

Every configuration change made through this org's APIs (a Metadata API
deploy, a User written over REST, the sandbox's own API) is one row:

    Action       the category: createdCFCustom, changedCF, PermSetCreate, …
    Section      where in Setup: Custom Objects, Customize Accounts, Manage Users, …
    Display      what happened, in words, naming the component:
                 "Changed custom field Region (Account.Region__c)"
    CreatedBy    the user who made it (CreatedBy.Username), CreatedDate when.

The rows are read from the sandbox store's audit trail, so they cannot
disagree with it. Components the org keeps as XML only (list views, formula
fields …) have no row.
"""

from __future__ import annotations

import json
from typing import Any

from crmctl.sandbox.salesforce.ids import sf_id
from crmctl.sandbox.store import SandboxStore

__all__ = ["rows", "sf_time"]

_VERBS = {"create": "Created", "update": "Changed", "delete": "Deleted"}
#: kind -> (noun in Display, Action per create/update/delete)
_KINDS: dict[str, tuple[str, tuple[str, str, str]]] = {
    "CustomObject": ("custom object", ("createdCustEnt", "changedCustEnt", "deletedCustEnt")),
    "CustomField": ("custom field", ("createdCF", "changedCF", "deletedCF")),
    "ValidationRule": (
        "validation rule",
        ("createdValidationRule", "changedValidationRule", "deletedValidationRule"),
    ),
    "DuplicateRule": (
        "duplicate rule",
        ("createdDuplicateRule", "changedDuplicateRule", "deletedDuplicateRule"),
    ),
    "Role": ("role", ("createdRole", "changedRole", "deletedRole")),
    "PermissionSet": ("permission set", ("PermSetCreate", "PermSetChanged", "PermSetDelete")),
    "User": ("user", ("createduser", "changedUser", "deactivateduser")),
}


def sf_time(at: str) -> str:
    """The store's `2025-01-31T12:00:00.000000Z` as Salesforce writes it: `…00.000+0000`."""
    return at[:23] + "+0000" if len(at) >= 23 else at


def _plural(name: str) -> str:
    return name[:-1] + "ies" if name.endswith("y") else name + ("es" if name.endswith("s") else "s")


def _section(kind: str, name: str) -> str:
    if kind in ("Role", "PermissionSet", "User"):
        return "Manage Users"
    if kind == "DuplicateRule":
        return "Duplicate Management"
    if kind == "CustomObject":
        return "Custom Objects"
    obj = name.partition(".")[0]
    return "Custom Objects" if obj.endswith("__c") else f"Customize {_plural(obj)}"


def _label(kind: str, name: str, spec: dict[str, Any] | None) -> str:
    spec = spec or {}
    if kind == "User":
        return name
    return str(spec.get("label") or name.rpartition(".")[2])


def _row(entry: tuple, users: dict[str, dict[str, Any]]) -> dict[str, Any]:
    seq, at, actor, action, kind, name, before, after = entry
    spec = json.loads(after) if after else (json.loads(before) if before else None)
    noun, actions = _KINDS.get(kind, (kind, ("created", "changed", "deleted")))
    index = ("create", "update", "delete").index(action) if action in _VERBS else 1
    verb = _VERBS.get(action, "Changed")
    act = actions[index]
    section = _section(kind, name)
    if kind == "CustomField" and section == "Custom Objects":
        act += "Custom"
    display = f"{verb} {noun} {_label(kind, name, spec)} ({name})"
    if kind == "PermissionSet" and action == "create":
        display += ": with user license Salesforce"
    user = users.get(actor.lower()) or {
        "Id": sf_id("User", actor),
        "Username": actor,
        "Name": actor,
    }
    return {
        "Id": sf_id("SetupAuditTrail", f"audit/{seq}"),
        "Action": act,
        "Section": section,
        "Display": display,
        "CreatedById": user["Id"],
        "CreatedBy": user,
        "CreatedDate": sf_time(at),
        "DelegateUser": None,
        "CreatedByContext": None,
        "CreatedByIssuer": None,
        "ResponsibleNamespacePrefix": None,
    }


def rows(store: SandboxStore, users: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every SetupAuditTrail row, oldest first; `users`: the org's User rows."""
    by_name = {u["Username"].lower(): u for u in users}
    with store.transaction() as conn:
        entries = conn.execute(
            "SELECT seq, at, actor, action, kind, name, before, after FROM audit ORDER BY seq"
        ).fetchall()
    return [_row(e, by_name) for e in entries]
