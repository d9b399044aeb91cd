"""Users and their permission-set assignments, through REST.

Read: two SOQL queries (users with their role; assignments with their
permission set), paged. Write: sObject Collections, 200 records a request,
all or none per request. Salesforce never deletes users: deleting a User
deactivates it (IsActive = false) and leaves its assignments alone.
Assignments are rows: added and removed, never updated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from crmctl.model import Resource
from crmctl.plan.action import Action
from crmctl.plan.model import Change
from crmctl.providers.base import ApplyResult, ChangeFailure
from crmctl.providers.salesforce.rest import RestClient, SaveResult

__all__ = ["UserAccess", "UserDefaults", "USERS_SOQL", "ASSIGNMENTS_SOQL"]

USERS_SOQL = (
    "SELECT Id, Username, Email, FirstName, LastName, IsActive, UserRole.DeveloperName "
    "FROM User WHERE UserType = 'Standard'"
)
ASSIGNMENTS_SOQL = (
    "SELECT Id, AssigneeId, PermissionSet.Name FROM PermissionSetAssignment "
    "WHERE PermissionSet.IsOwnedByProfile = false"
)


@dataclass(frozen=True)
class UserDefaults:
    """What a new user needs that crmctl does not model (from `provider.userDefaults`)."""

    profile: str = "Standard User"
    time_zone: str = "GMT"
    locale: str = "en_US"
    language: str = "en_US"
    email_encoding: str = "UTF-8"

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> UserDefaults:
        config = config or {}
        return cls(
            profile=config.get("profile", cls.profile),
            time_zone=config.get("timeZone", cls.time_zone),
            locale=config.get("locale", cls.locale),
            language=config.get("language", cls.language),
            email_encoding=config.get("emailEncoding", cls.email_encoding),
        )


def _alias(username: str) -> str:
    return (re.sub(r"[^A-Za-z0-9]", "", username.partition("@")[0]) or "user")[:8]


@dataclass
class _Work:
    """The writes one change needs, and whether any of them happened."""

    change: Change
    error: str | None = None
    wrote: bool = False


@dataclass
class UserAccess:
    """Reads and writes users; remembers the ids it has seen."""

    rest: RestClient
    defaults: UserDefaults = field(default_factory=UserDefaults)
    user_ids: dict[str, str] = field(default_factory=dict)  # username (lower) -> Id
    assignment_ids: dict[tuple[str, str], str] = field(default_factory=dict)

    def read(self) -> list[Resource]:
        users = self.rest.query(USERS_SOQL)
        assignments = self.rest.query(ASSIGNMENTS_SOQL)
        by_id: dict[str, dict[str, Any]] = {}
        self.user_ids.clear()
        self.assignment_ids.clear()
        for row in users:
            role = (row.get("UserRole") or {}).get("DeveloperName")
            spec: dict[str, Any] = {
                "email": row.get("Email") or "",
                "lastName": row.get("LastName") or "",
                "active": bool(row.get("IsActive")),
                "role": role,
                "permissionSets": [],
            }
            if row.get("FirstName"):
                spec["firstName"] = row["FirstName"]
            by_id[row["Id"]] = {"name": row["Username"], "spec": spec}
            self.user_ids[row["Username"].lower()] = row["Id"]
        for row in assignments:
            user = by_id.get(str(row.get("AssigneeId")))
            name = (row.get("PermissionSet") or {}).get("Name")
            if user is None or not name:
                continue
            user["spec"]["permissionSets"].append(name)
            self.assignment_ids[(user["name"].lower(), name)] = row["Id"]
        return [Resource("User", u["name"], u["spec"]) for u in by_id.values()]

    # --- writing ---------------------------------------------------------------------
    def apply(self, changes: list[Change]) -> ApplyResult:
        """Carry out User changes; on an error, report it and what was written."""
        work = [_Work(c) for c in changes]
        roles = self._ids("SELECT Id, DeveloperName FROM UserRole", "DeveloperName")
        sets = self._ids(
            "SELECT Id, Name FROM PermissionSet WHERE IsOwnedByProfile = false", "Name"
        )
        for item in work:
            item.error = _missing(item.change, roles, sets)
            if item.error:
                return _result(work)  # nothing written yet
        if not self.user_ids and any(c.action is not Action.CREATE for c in changes):
            self.read()
        creates = [w for w in work if w.change.action is Action.CREATE]
        if creates:
            profile = self._profile_id()
            records = [self._record(w.change, roles, profile) for w in creates]
            if not self._save(creates, self.rest.create(records)):
                return _result(work)
        updates = [w for w in work if w.change.action is not Action.CREATE]
        records = [self._record(w.change, roles, None) for w in updates]
        if updates and not self._save(updates, self.rest.update(records)):
            return _result(work)
        adds: list[tuple[_Work, str]] = []
        removes: list[tuple[_Work, str]] = []
        for item in work:
            for pair in _assignment_changes(item.change):
                (adds if pair[0] == "+" else removes).append((item, pair[1]))
        if removes:
            ids = [self.assignment_ids.get((w.change.name.lower(), n), "") for w, n in removes]
            if not self._save([w for w, _ in removes], self.rest.delete(ids)):
                return _result(work)
        if adds:
            rows = [
                {
                    "attributes": {"type": "PermissionSetAssignment"},
                    "AssigneeId": self.user_ids[w.change.name.lower()],
                    "PermissionSetId": sets[n],
                }
                for w, n in adds
            ]
            if not self._save([w for w, _ in adds], self.rest.create(rows)):
                return _result(work)
        return _result(work)

    def _ids(self, soql: str, key: str) -> dict[str, str]:
        return {row[key]: row["Id"] for row in self.rest.query(soql)}

    def _profile_id(self) -> str | None:
        name = self.defaults.profile.replace("\\", "\\\\").replace("'", "\\'")
        rows = self.rest.query(f"SELECT Id FROM Profile WHERE Name = '{name}'")
        return rows[0]["Id"] if rows else None

    def _record(self, change: Change, roles: dict[str, str], profile: str | None) -> dict:
        spec = change.after or {}
        record: dict[str, Any] = {"attributes": {"type": "User"}}
        if change.action is Action.DELETE:
            record.update(Id=self.user_ids.get(change.name.lower()), IsActive=False)
            return record
        fields = {
            "Email": spec.get("email"),
            "FirstName": spec.get("firstName"),
            "LastName": spec.get("lastName"),
            "IsActive": spec.get("active", True),
            "UserRoleId": roles.get(spec["role"]) if spec.get("role") else None,
        }
        if change.action is Action.CREATE:
            record.update(
                Username=change.name,
                Alias=_alias(change.name),
                TimeZoneSidKey=self.defaults.time_zone,
                LocaleSidKey=self.defaults.locale,
                LanguageLocaleKey=self.defaults.language,
                EmailEncodingKey=self.defaults.email_encoding,
                ProfileId=profile,
            )
            record.update({k: v for k, v in fields.items() if v is not None})
        else:
            record["Id"] = self.user_ids.get(change.name.lower())
            record.update(fields)  # None clears a field
        return record

    def _save(self, items: list[_Work], results: list[SaveResult]) -> bool:
        """Record what happened to each item; False when any of them failed."""
        ok = True
        for item, result in zip(items, results, strict=False):
            if result.success:
                item.wrote = True
                if result.id and item.change.action is Action.CREATE:
                    self.user_ids[item.change.name.lower()] = result.id
            elif item.error is None and "ALL_OR_NONE_OPERATION_ROLLED_BACK" not in result.message:
                item.error, ok = result.message, False
            elif item.error is None:
                ok = False
        if not ok and not any(i.error for i in items):
            items[0].error = "Salesforce refused the request"
        return ok


def _missing(change: Change, roles: dict[str, str], sets: dict[str, str]) -> str | None:
    spec = change.after
    if spec is None:
        return None
    if spec.get("role") and spec["role"] not in roles:
        return f"role {spec['role']} does not exist in the org"
    unknown = [p for p in spec.get("permissionSets", []) if p not in sets]
    if unknown:
        return f"permission set(s) {', '.join(unknown)} do not exist in the org"
    return None


def _assignment_changes(change: Change) -> Iterable[tuple[str, str]]:
    if change.action is Action.DELETE:
        return []
    before = set((change.before or {}).get("permissionSets", []))
    after = set((change.after or {}).get("permissionSets", []))
    return [("-", n) for n in sorted(before - after)] + [("+", n) for n in sorted(after - before)]


def _result(work: list[_Work]) -> ApplyResult:
    """Failed: the first change with an error. Applied: every other change with a write done
    (so a restore after the failure undoes it too)."""
    result = ApplyResult()
    failed = next((w for w in work if w.error), None)
    for item in work:
        if item is failed:
            continue
        if item.wrote or (failed is None):
            result.applied.append(item.change.address)
    if failed is not None:
        result.failed.append(ChangeFailure(failed.change.address, failed.error or ""))
    return result
