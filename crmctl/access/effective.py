"""Effective access: who can read or edit each object and custom field, and through what.

The rules are the sandbox CRM's own (crmctl.sandbox.permissions and auth),
so a report never disagrees with what the CRM enforces:

- an inactive user can do nothing;
- a permission set with ModifyAllData or CustomizeApplication makes its
  users admins, who bypass every check;
- object permissions come from permission sets (with the CRM's implications:
  edit needs read, modifyAll grants everything), and ViewAllData /
  ModifyAllData grant them on every object;
- a custom field is readable (editable) when the object is readable
  (editable) and a permission set grants the field `read` (`edit`);
  standard fields follow their object. Roles decide whose records a user
  sees, never which fields, so they grant nothing here.

Work is done per permission set and per field a set names, never per user x
field, so a thousand users over five thousand fields stays fast.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from crmctl.sandbox.permissions import Grants, grants_of
from crmctl.sandbox.records import OrgModel

__all__ = [
    "OBJECT_PERMISSIONS",
    "FIELD_PERMISSIONS",
    "UserInfo",
    "Target",
    "Grant",
    "AccessReport",
    "OrgAccess",
]

OBJECT_PERMISSIONS = ("read", "create", "edit", "delete", "viewAll", "modifyAll")
FIELD_PERMISSIONS = ("read", "edit")
_SYSTEM = ("ModifyAllData", "CustomizeApplication", "ViewAllData")


@dataclass(frozen=True)
class UserInfo:
    """A user as the report shows them."""

    name: str
    role: str | None
    active: bool
    admin: bool
    permission_sets: tuple[str, ...]


@dataclass(frozen=True)
class Target:
    """An object (`field` None) or one of its custom fields."""

    object: str
    field: str | None = None
    classification: str | None = None

    @property
    def name(self) -> str:
        return f"{self.object}.{self.field}" if self.field else self.object


@dataclass(frozen=True)
class Grant:
    """One user holding one permission on one target, and the paths that grant it."""

    user: str
    target: Target
    permission: str
    via: tuple[str, ...]


@dataclass
class AccessReport:
    """Every grant of the selected users on the selected targets, users, and targets."""

    users: list[UserInfo]
    targets: list[Target]
    grants: list[Grant] = field(default_factory=list)


def _system_paths(set_name: str, spec: Mapping[str, Any]) -> list[str]:
    system = set(spec.get("system") or [])
    return [f"{perm} ({set_name})" for perm in _SYSTEM if perm in system]


class OrgAccess:
    """The access rules of one configuration, ready to answer per user or in bulk."""

    def __init__(self, items: Iterable[Mapping[str, Any]]) -> None:
        """From configuration items `{"kind", "name", "spec"}` (manifests or the live CRM)."""
        items = list(items)
        self.model = model = OrgModel.from_config(items)
        declared = {i["name"].lower(): i["name"] for i in items if i["kind"] == "PermissionSet"}
        self.sets: dict[str, tuple[str, Grants, dict[str, Any]]] = {}  # lower -> name, grants, spec
        for key, spec in model.permission_sets.items():
            self.sets[key] = (declared.get(key, key), grants_of(spec), spec)
        self.objects = sorted((o.name for o in model.objects.values()), key=str.lower)
        self.fields: list[Target] = []
        custom = [i for i in items if i["kind"] == "CustomField"]
        for item in sorted(custom, key=lambda i: i["name"].lower()):
            obj, _, fname = item["name"].partition(".")
            known = model.object(obj)
            fdef = known.field(fname) if known else None
            if known is not None and fdef is not None:
                classification = (item.get("spec") or {}).get("classification")
                self.fields.append(Target(known.name, fdef.name, classification))

    # ------------------------------------------------------------ users

    def user(self, username: str) -> UserInfo | None:
        spec = self.model.users.get(username.lower())
        if spec is None:
            return None
        sets = tuple(spec.get("permissionSets") or [])
        admin = any(self.sets[s.lower()][1].admin for s in sets if s.lower() in self.sets)
        return UserInfo(spec["name"], spec.get("role"), bool(spec.get("active", True)), admin, sets)

    def users(self) -> list[UserInfo]:
        found = (self.user(name) for name in self.model.users)
        return sorted((u for u in found if u is not None), key=lambda u: u.name.lower())

    # ------------------------------------------------------------ grants

    def _object_paths(self, user: UserInfo) -> dict[str, dict[str, list[str]]]:
        """object key -> permission -> granting paths (non-admin users)."""
        out: dict[str, dict[str, list[str]]] = {}
        everywhere: dict[str, list[str]] = {}
        for set_name in user.permission_sets:
            entry = self.sets.get(set_name.lower())
            if entry is None:
                continue
            name, grants, spec = entry
            for obj, perms in grants.objects.items():
                bucket = out.setdefault(obj, {})
                for perm in perms:
                    bucket.setdefault(perm, []).append(name)
            if grants.everywhere:
                paths = _system_paths(name, spec)
                for perm in grants.everywhere:
                    everywhere.setdefault(perm, []).extend(p for p in paths if "Data" in p)
        if everywhere:
            for obj in self.model.objects:
                bucket = out.setdefault(obj, {})
                for perm, paths in everywhere.items():
                    bucket.setdefault(perm, []).extend(paths)
        return out

    def _admin_path(self, user: UserInfo) -> tuple[str, ...]:
        paths = []
        for set_name in user.permission_sets:
            entry = self.sets.get(set_name.lower())
            if entry is not None and entry[1].admin:
                paths += [
                    f"admin: {p}" for p in _system_paths(entry[0], entry[2]) if "View" not in p
                ]
        return tuple(paths)

    def user_grants(
        self, user: UserInfo, objects: Iterable[str] | None, fields: Iterable[Target] | None
    ) -> list[Grant]:
        """The grants of one user on the given objects (names) and custom fields."""
        if not user.active:
            return []
        grants: list[Grant] = []
        object_list = list(self.objects if objects is None else objects)
        field_list = list(self.fields if fields is None else fields)
        if user.admin:
            via = self._admin_path(user)
            for obj in object_list:
                target = Target(obj)
                grants += [Grant(user.name, target, p, via) for p in OBJECT_PERMISSIONS]
            for target in field_list:
                grants += [Grant(user.name, target, p, via) for p in FIELD_PERMISSIONS]
            return grants
        paths = self._object_paths(user)
        for obj in object_list:
            held = paths.get(obj.lower(), {})
            target = Target(obj)
            for perm in OBJECT_PERMISSIONS:
                if perm in held:
                    grants.append(Grant(user.name, target, perm, tuple(dict.fromkeys(held[perm]))))
        field_sets: dict[str, dict[str, list[str]]] = {}
        for set_name in user.permission_sets:
            entry = self.sets.get(set_name.lower())
            if entry is None:
                continue
            for qualified, perms in entry[1].fields.items():
                bucket = field_sets.setdefault(qualified, {})
                for perm in perms:
                    bucket.setdefault(perm, []).append(entry[0])
        for target in field_list:
            granted = field_sets.get(f"{target.object}.{target.field}".lower())
            if not granted:
                continue
            on_object = paths.get(target.object.lower(), {})
            for perm in FIELD_PERMISSIONS:
                if perm in granted and perm in on_object:
                    via = tuple(dict.fromkeys([*granted[perm], *on_object[perm]]))
                    grants.append(Grant(user.name, target, perm, via))
        return grants

    def report(
        self,
        *,
        users: Iterable[str] | None = None,
        fields: Iterable[Target] | None = None,
        include_objects: bool = True,
    ) -> AccessReport:
        """Grants of the users named (all when None) on objects and the given fields."""
        chosen = self.users()
        if users is not None:
            wanted = {u.lower() for u in users}
            chosen = [u for u in chosen if u.name.lower() in wanted]
        field_list = list(self.fields if fields is None else fields)
        objects = self.objects if include_objects else []
        report = AccessReport(chosen, [Target(o) for o in objects] + field_list)
        for user in chosen:
            report.grants.extend(self.user_grants(user, objects, field_list))
        return report
