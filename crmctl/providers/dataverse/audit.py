"""Who changed what: Dataverse's audit history (`audits`) as crmctl change-log entries.

Dataverse audits rows (security roles, business units, users), where auditing
is on for the environment and the table; it does not audit table and column
definitions, so drift on those is reported without a name. One paged query
reads the entries since a time, one more the users they name.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from crmctl.providers.base import ChangeLogEntry
from crmctl.providers.dataverse.reads import Snapshot
from crmctl.providers.dataverse.webapi import WebApi

__all__ = ["entries", "whoami"]

#: audit.action: 1 Create, 2 Update, 3 Delete; the privilege and association actions are updates.
_ACTIONS = {1: "create", 2: "update", 3: "delete"}
_KINDS = {"role": "PermissionSet", "businessunit": "Role", "systemuser": "User"}


def entries(api: WebApi, snapshot: Snapshot, since: str | None) -> list[ChangeLogEntry]:
    """Audit entries of the rows crmctl manages, oldest first, from ISO time `since`."""
    params = {
        "$select": "auditid,createdon,action,operation,objecttypecode,_objectid_value,_userid_value",
        "$orderby": "createdon asc",
    }
    if since:
        params["$filter"] = f"createdon ge {_utc(since)}"
    rows = api.get_all("audits", params)
    names = _names(snapshot)
    users = _user_names(api, {str(r.get("_userid_value")) for r in rows if r.get("_userid_value")})
    out = []
    for row in rows:
        kind = _KINDS.get(str(row.get("objecttypecode") or ""))
        name = names.get((kind or "", str(row.get("_objectid_value") or "")))
        if kind is None or name is None:
            continue
        actor = users.get(str(row.get("_userid_value"))) or str(
            row.get("_userid_value@OData.Community.Display.V1.FormattedValue") or "unknown"
        )
        out.append(
            ChangeLogEntry(
                f"{kind}/{name}",
                _ACTIONS.get(int(row.get("action") or 2), "update"),
                actor,
                str(row.get("createdon") or ""),
            )
        )
    return out


def _utc(moment: str) -> str:
    """An ISO time as an OData DateTimeOffset literal in UTC (`2026-11-29T00:48:12Z`)."""
    try:
        parsed = datetime.fromisoformat(moment)
    except ValueError:
        return moment
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _names(snapshot: Snapshot) -> dict[tuple[str, str], str]:
    out = {("PermissionSet", str(r.get("roleid"))): n for n, r in snapshot.roles.items()}
    out.update({("Role", str(r.get("businessunitid"))): n for n, r in snapshot.units.items()})
    out.update({("User", str(r.get("systemuserid"))): n for n, r in snapshot.users.items()})
    return out


def _user_names(api: WebApi, ids: set[str]) -> dict[str, str]:
    """systemuserid -> the user's sign-in name (domainname), else full name."""
    if not ids:
        return {}
    rows = api.get_all("systemusers", {"$select": "systemuserid,domainname,fullname"})
    return {
        str(r["systemuserid"]): str(r.get("domainname") or r.get("fullname") or r["systemuserid"])
        for r in rows
        if str(r.get("systemuserid")) in ids
    }


def whoami(api: WebApi) -> str | None:
    """The sign-in name of the user the token belongs to (the application user)."""
    me: Any = api.get("WhoAmI")
    user_id = (me or {}).get("UserId")
    if not user_id:
        return None
    return _user_names(api, {str(user_id)}).get(str(user_id))
