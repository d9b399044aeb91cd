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
from typing import Any, NamedTuple

from crmctl.model import ROLE_ONLY, partial_set
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


class Target(NamedTuple):
    """An object (`field` None) or one of its custom fields."""

    object: str
    field: str | None = None
    classification: str | None = None

    @property
    def name(self) -> str:
        return f"{self.object}.{self.field}" if self.field else self.object


class Grant(NamedTuple):
    """What one user may do with one target, and for each permission the paths granting it.

    A tuple, because an organisation of a thousand users has hundreds of thousands.
    """

    user: str
    target: Target
    permissions: tuple[str, ...]  # in OBJECT_PERMISSIONS / FIELD_PERMISSIONS order
    via: tuple[tuple[str, ...], ...]  # one entry per permission

    def paths(self) -> dict[str, tuple[str, ...]]:
        """permission -> the paths that grant it."""
        return dict(zip(self.permissions, self.via, strict=True))


#: The permissions a user can hold on a field, by (read, edit): edit always comes with read.
_PERMS = {(True, True): ("read", "edit"), (True, False): ("read",), (False, True): ("edit",)}
_new = tuple.__new__  # builds a NamedTuple without its Python-level __new__

#: What one combination of permission sets holds: (target, permission, via), in target order.
_Profile = list[tuple[Target, tuple[str, ...], tuple[tuple[str, ...], ...]]]


@dataclass
class AccessReport:
    """Every grant of the selected users on the selected targets, users, and targets.

    Users with the same permission sets share one profile (rows of target,
    permissions, paths); `grants` spells them out per user on first use, and
    renderers that can work per row use `profiles` directly.
    """

    users: list[UserInfo]
    targets: list[Target]
    profiles: list[tuple[str, _Profile]] = field(default_factory=list)  # (user, rows), by user
    _grants: list[Grant] | None = field(default=None, repr=False, compare=False)

    @property
    def grants(self) -> list[Grant]:
        if self._grants is None:
            self._grants = [
                _new(Grant, (name, *row)) for name, profile in self.profiles for row in profile
            ]
        return self._grants

    @property
    def grant_count(self) -> int:
        return sum(len(profile) for _, profile in self.profiles)


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
        self._add_partial_sets()
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

    def _add_partial_sets(self) -> None:
        """The sets users hold only in part (live Dataverse: `X (security role only)` has
        X's object and system grants, `X (field security profile only)` its field grants),
        for the users who hold them: else such a user would show no access from X at all."""
        held = {
            str(s): found
            for user in self.model.users.values()
            for s in user.get("permissionSets") or []
            if (found := partial_set(str(s)))
        }
        for entry, (set_name, suffix) in sorted(held.items()):
            whole = self.sets.get(set_name.lower())
            if whole is None:
                continue
            name, _, spec = whole
            part = (
                {k: v for k, v in spec.items() if k != "fields"}
                if suffix == ROLE_ONLY
                else {"fields": spec.get("fields") or {}}
            )
            self.sets[entry.lower()] = (name + suffix, grants_of(part), part)

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

    def _prepared(self, fields: list[Target]) -> dict[str, dict[str, dict[str, list[int]]]]:
        """Per permission set (lower name): object key -> permission -> field codes.

        A code is 2 x (index in `fields`) + (1 for edit, 0 for read). Grouping by object
        and permission lets a profile skip, in one step, every field whose object
        permission it lacks.
        """
        index = {f"{t.object}.{t.field}".lower(): i for i, t in enumerate(fields)}
        self._memo: dict[Any, Any] = {}
        prepared: dict[str, dict[str, dict[str, list[int]]]] = {}
        for key, (_, grants, _) in self.sets.items():
            blocks: dict[str, dict[str, list[int]]] = {}
            prepared[key] = blocks
            for qualified, perms in grants.fields.items():
                i = index.get(qualified)
                if i is not None:
                    obj = fields[i].object.lower()
                    for e, perm in enumerate(FIELD_PERMISSIONS):
                        if perm in perms:
                            blocks.setdefault(obj, {}).setdefault(perm, []).append(2 * i + e)
        return prepared

    def _profile(
        self,
        user: UserInfo,
        objects: list[str],
        fields: list[Target],
        prepared: dict[str, dict[str, dict[str, list[int]]]] | None = None,
    ) -> _Profile:
        """What a user's permission sets hold on the chosen targets (users share these).

        `prepared` is `_prepared(fields)`, computed once per report.
        """
        if user.admin:
            via = self._admin_path(user)
            all_objects = (via,) * len(OBJECT_PERMISSIONS)
            held: _Profile = [(Target(o), OBJECT_PERMISSIONS, all_objects) for o in objects]
            both = (via, via)
            return held + [(t, FIELD_PERMISSIONS, both) for t in fields]
        paths = self._object_paths(user)
        held = []
        for obj in objects:
            on_object = paths.get(obj.lower())
            if on_object:
                perms = tuple(p for p in OBJECT_PERMISSIONS if p in on_object)
                vias = tuple(tuple(dict.fromkeys(on_object[p])) for p in perms)
                held.append((Target(obj), perms, vias))
        prepared = self._prepared(fields) if prepared is None else prepared
        # Each permission set's share, for the object permissions the user holds, is the same
        # for every user whose sets give the same object paths: computed once per report and
        # merged here (C-level dict operations; only fields two sets both grant are redone).
        rows: dict[int, tuple[Target, tuple[str, ...], tuple[tuple[str, ...], ...]]] = {}
        merged = False
        for set_name in dict.fromkeys(s.lower() for s in user.permission_sets):
            if set_name not in self.sets:
                continue
            for obj, blocks in prepared[set_name].items():
                on_object = paths.get(obj)
                if not on_object:
                    continue
                share = self._share(set_name, obj, blocks, on_object, fields)
                if not share:
                    continue
                if merged and not rows.keys().isdisjoint(share):
                    overlap = rows.keys() & share.keys()
                    rows.update(share)
                    for i in overlap:
                        rows[i] = self._merged_row(user, i, fields, prepared, paths)
                else:
                    rows.update(share)
            merged = True
        held.extend([rows[i] for i in sorted(rows)])
        return held

    def _via(
        self, names: tuple[str, ...], obj: str, perm: str, objpaths: list[str]
    ) -> tuple[str, ...]:
        """The granting paths of a field permission: the sets granting it, then the object's."""
        key = (*names, "\0", obj, perm, *objpaths)
        via = self._memo.get(key)
        if via is None:
            via = self._memo[key] = tuple(dict.fromkeys([*names, *objpaths]))
        return via

    def _row(
        self, target: Target, read: tuple[str, ...] | None, edit: tuple[str, ...] | None
    ) -> tuple[Target, tuple[str, ...], tuple[tuple[str, ...], ...]]:
        key = (id(read), id(edit))
        both = self._memo.get(key)
        if both is None:
            both = self._memo[key] = tuple(v for v in (read, edit) if v is not None)
        return (target, _PERMS[(read is not None, edit is not None)], both)

    def _share(
        self,
        set_key: str,
        obj: str,
        blocks: dict[str, list[int]],
        on_object: dict[str, list[str]],
        fields: list[Target],
    ) -> dict[int, Any]:
        """One set's rows (field index -> row) on one object's fields, given the user's
        paths to that object's permissions; cached, since many users share them."""
        usable = [perm for perm in blocks if perm in on_object]
        key = ("share", set_key, obj, *(p for perm in usable for p in (perm, *on_object[perm])))
        found = self._memo.get(key)
        if found is not None:
            return found
        name = self.sets[set_key][0]
        vias: dict[int, list[tuple[str, ...] | None]] = {}
        for perm in usable:
            via = self._via((name,), obj, perm, on_object[perm])
            e = FIELD_PERMISSIONS.index(perm)
            for code in blocks[perm]:
                vias.setdefault(code >> 1, [None, None])[e] = via
        found = self._memo[key] = {
            i: self._row(fields[i], read, edit) for i, (read, edit) in vias.items()
        }
        return found

    def _merged_row(
        self,
        user: UserInfo,
        i: int,
        fields: list[Target],
        prepared: dict[str, dict[str, dict[str, list[int]]]],
        paths: dict[str, dict[str, list[str]]],
    ) -> tuple[Target, tuple[str, ...], tuple[tuple[str, ...], ...]]:
        """The row of a field several of the user's sets grant: every set on each path."""
        target = fields[i]
        obj = target.object.lower()
        vias: list[tuple[str, ...] | None] = [None, None]
        keys = [k for k in dict.fromkeys(s.lower() for s in user.permission_sets) if k in self.sets]
        for e, perm in enumerate(FIELD_PERMISSIONS):
            if perm not in paths.get(obj, {}):
                continue
            code = 2 * i + e
            names = tuple(
                self.sets[k][0]
                for k in keys
                if code in self._codes(k, obj, perm, prepared[k].get(obj, {}).get(perm, ()))
            )
            if names:
                vias[e] = self._via(names, obj, perm, paths[obj][perm])
        return self._row(target, vias[0], vias[1])

    def _codes(self, set_key: str, obj: str, perm: str, codes: Any) -> frozenset[int]:
        key = ("codes", set_key, obj, perm)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = frozenset(codes)
        return found

    def user_grants(
        self, user: UserInfo, objects: Iterable[str] | None, fields: Iterable[Target] | None
    ) -> list[Grant]:
        """The grants of one user on the given objects (names) and custom fields."""
        if not user.active:
            return []
        object_list = list(self.objects if objects is None else objects)
        field_list = list(self.fields if fields is None else fields)
        return [
            _new(Grant, (user.name, *row)) for row in self._profile(user, object_list, field_list)
        ]

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
        objects = list(self.objects) if include_objects else []
        report = AccessReport(chosen, [Target(o) for o in objects] + field_list)
        profiles: dict[tuple[bool, tuple[str, ...]], _Profile] = {}
        prepared = self._prepared(field_list)
        found = report.profiles
        for user in chosen:
            if not user.active:
                continue
            key = (user.admin, tuple(sorted({s.lower() for s in user.permission_sets})))
            profile = profiles.get(key)
            if profile is None:
                profile = profiles[key] = self._profile(user, objects, field_list, prepared)
            name = user.name
            found.append((name, profile))
        return report
