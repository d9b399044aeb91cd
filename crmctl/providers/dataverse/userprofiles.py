"""Users in the field security profiles of the permission sets they hold.

A PermissionSet with `fields` is a security role and the field security
profile of the same name (fieldsecurity.py). Dataverse hides a secured column
from every user who is in no profile granting it, so a User holding that
PermissionSet holds both: the role (`systemuserroles_association`) and the
profile, through the N:N relationship `systemuserprofiles_association`
(systemuser <-> fieldsecurityprofile, intersect table `systemuserprofiles`;
Microsoft's list of system intersect entities, "Retrieve records for
many-to-many relationships using intersect entities", and REF §A4):

    POST   systemusers(id)/systemuserprofiles_association/$ref
           {"@odata.id": "<api root>fieldsecurityprofiles(profileid)"}
    DELETE systemusers(id)/systemuserprofiles_association(profileid)/$ref

("Associate and disassociate table rows using the Web API"). An association
is an update no GET by id can check: it goes through `send`, which the
apply's journal notes as unchecked (resolve.py).

**Reading** costs no request per user: the profiles come in the paged
systemusers query, next to the roles
(`$expand=…,systemuserprofiles_association($select=fieldsecurityprofileid)`).
A user holds permission set X when it holds X's role and, where X has a
profile that grants fields, X's profile. Holding one of the two only reads as
`X (security role only)` or `X (field security profile only)`, so the plan
and drift show it, and an apply puts it right.

**Only the profiles of PermissionSets are touched**: a profile whose name is
a security role's (the rule fieldsecurity.attach reads fields by), never the
System Administrator profile (the same id in every environment, REF §A4),
never a profile that is no role's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from crmctl.model import PROFILE_ONLY, ROLE_ONLY, partial_set
from crmctl.providers.dataverse import security

if TYPE_CHECKING:
    from crmctl.providers.dataverse.reads import Snapshot
    from crmctl.providers.dataverse.webapi import WebApi

__all__ = [
    "RELATIONSHIP",
    "EXPAND",
    "ROLE_ONLY",
    "PROFILE_ONLY",
    "profile_id",
    "held",
    "split",
    "write_user",
    "grant_holders",
]

RELATIONSHIP = "systemuserprofiles_association"
#: What the systemusers query expands to read each user's profiles.
EXPAND = f"{RELATIONSHIP}($select=fieldsecurityprofileid)"
#: The System Administrator field security profile: Dataverse's own, never crmctl's.
ADMIN_PROFILE = "572329c1-a042-4e22-be47-367c6374ea45"


def named_profile_id(profiles: dict[str, dict[str, Any]], name: str) -> str | None:
    """The id of the profile named after PermissionSet `name`, granting fields or not
    (never Dataverse's own System Administrator profile)."""
    row = profiles.get(name)
    if row is None:
        return None
    found = str(row.get("fieldsecurityprofileid") or "").lower()
    return found if found and found != ADMIN_PROFILE else None


def profile_id(profiles: dict[str, dict[str, Any]], name: str) -> str | None:
    """The id of PermissionSet `name`'s profile, when it has one that grants fields."""
    found = named_profile_id(profiles, name)
    if found is None:
        return None
    row = profiles[name]
    granted = row.get("granted")
    if granted is None:  # as read: a profile with permission rows
        granted = bool(row.get("permissions"))
    return found if granted else None


def _ids(row: dict[str, Any]) -> set[str]:
    return {str(p.get("fieldsecurityprofileid") or "").lower() for p in row.get(RELATIONSHIP) or []}


def _roles(row: dict[str, Any]) -> set[str]:
    return {
        security.api_name(str(r.get("name") or ""))
        for r in row.get("systemuserroles_association") or []
    }


def held(row: dict[str, Any], snapshot: Snapshot) -> list[str]:
    """A systemusers row (roles and profiles expanded) as a User's `permissionSets`."""
    roles = _roles(row)
    profiles = _ids(row)
    out = set()
    for name in roles:
        found = profile_id(snapshot.profiles, name)
        out.add(name if found is None or found in profiles else name + ROLE_ONLY)
    for name in snapshot.profiles:
        if name in roles or name not in snapshot.roles:
            continue  # held with the role above, or no PermissionSet's profile
        found = profile_id(snapshot.profiles, name)
        if found is not None and found in profiles:
            out.add(name + PROFILE_ONLY)
    return sorted(out)


def split(entries: Iterable[str]) -> tuple[set[str], set[str]]:
    """(permission sets whose role, whose profile) a `permissionSets` list holds."""
    roles: set[str] = set()
    profiles: set[str] = set()
    for entry in entries:
        part = partial_set(entry)
        if part is not None:
            (roles if part[1] == ROLE_ONLY else profiles).add(part[0])
        else:
            roles.add(entry)
            profiles.add(entry)
    return roles, profiles


def write_user(
    api: WebApi,
    snapshot: Snapshot,
    user_id: str,
    row: dict[str, Any] | None,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    """Put the user in the profiles of the permission sets it holds, out of those it no
    longer holds (after the role associations, and after the PermissionSet changes)."""
    current = _ids(row) if row is not None else set()
    had = split(before.get("permissionSets") or [])[1]
    wanted = split(after.get("permissionSets") or [])[1]
    for name in sorted(wanted):
        found = profile_id(snapshot.profiles, name)
        if found is not None and found not in current:
            _associate(api, user_id, found)
            current.add(found)
    for name in sorted(had - wanted):
        # Out of the set's profile even while it grants no fields: it may grant some again.
        found = named_profile_id(snapshot.profiles, name)
        if found is not None and found in current:
            api.send("DELETE", f"systemusers({user_id})/{RELATIONSHIP}({found})/$ref")
            current.discard(found)
    if row is not None:
        row[RELATIONSHIP] = [{"fieldsecurityprofileid": p} for p in sorted(current)]


def grant_holders(api: WebApi, snapshot: Snapshot, name: str, before: str | None) -> None:
    """PermissionSet `name`'s profile has just come to grant fields (`before`: its id as
    read, None when it granted none): the users who hold its role join it, or they would
    keep the role without the field permissions that now belong to it."""
    found = profile_id(snapshot.profiles, name)
    if found is None or before is not None:
        return
    for _, row in sorted(snapshot.users.items()):
        if name in _roles(row) and found not in _ids(row):
            _associate(api, str(row["systemuserid"]), found)
            row[RELATIONSHIP] = [*(row.get(RELATIONSHIP) or []), {"fieldsecurityprofileid": found}]


def _associate(api: WebApi, user_id: str, profile: str) -> None:
    api.send(
        "POST",
        f"systemusers({user_id})/{RELATIONSHIP}/$ref",
        {"@odata.id": f"{api.root}fieldsecurityprofiles({profile})"},
    )
