"""What the calling user may do with records: object permissions, sharing and field permissions.

A user's rights are the union of their permission sets (by User config item;
a caller with no User item has none). Admins bypass everything.

- Object permissions: `read` for GET and queries, `create`, `edit`, `delete`.
  `viewAll` also grants read, `modifyAll` grants everything; the system
  permissions ViewAllData and ModifyAllData grant them on every object.
- Sharing (whose records): standard objects and `ReadWrite` custom objects
  are public; on `Read` objects users read everyone's records but edit and
  delete only their own; on `Private` objects they see only their own.
  viewAll lifts the read limit, modifyAll the write limit. The role
  hierarchy does not widen visibility in the sandbox.
- Field permissions apply to custom fields only (standard fields follow the
  object): a custom field without `read` is left out of every record the
  user reads and cannot be filtered on; writing one without `edit` is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crmctl.sandbox.auth import ADMIN_PERMISSIONS
from crmctl.sandbox.records import FieldDef, ObjectDef, OrgModel

__all__ = ["Access", "Grants", "access_for", "grants_of", "holds_admin_permission"]

_ALL = frozenset({"read", "create", "edit", "delete", "viewAll", "modifyAll"})
_IMPLIES = {
    "modifyAll": _ALL,
    "viewAll": frozenset({"read", "viewAll"}),
    "edit": frozenset({"read", "edit"}),
    "create": frozenset({"read", "create"}),
    "delete": frozenset({"read", "delete"}),
}


@dataclass(frozen=True)
class Access:
    """One user's record rights, computed once per configuration version."""

    username: str
    is_admin: bool
    objects: dict[str, frozenset[str]] = field(default_factory=dict)  # object key -> perms
    fields: dict[str, frozenset[str]] = field(default_factory=dict)  # "obj.field" lower -> perms
    everywhere: frozenset[str] = frozenset()  # from ViewAllData / ModifyAllData

    def allows(self, obj: ObjectDef, permission: str) -> bool:
        """Whether the user has an object permission (read, create, edit, delete …)."""
        return (
            self.is_admin
            or permission in self.everywhere
            or permission in self.objects.get(obj.key, ())
        )

    def reads_all(self, obj: ObjectDef) -> bool:
        """Whether the user reads other users' records of the object."""
        return obj.sharing != "Private" or self.allows(obj, "viewAll")

    def writes_all(self, obj: ObjectDef) -> bool:
        """Whether the user edits and deletes other users' records of the object."""
        return obj.sharing == "ReadWrite" or self.allows(obj, "modifyAll")

    def owns_or_reads(self, obj: ObjectDef, owner: str) -> bool:
        return self.reads_all(obj) or owner.lower() == self.username.lower()

    def owns_or_writes(self, obj: ObjectDef, owner: str) -> bool:
        return self.writes_all(obj) or owner.lower() == self.username.lower()

    def can_read_field(self, obj: ObjectDef, fdef: FieldDef) -> bool:
        if self.is_admin or not fdef.custom:
            return True
        return "read" in self.fields.get(f"{obj.key}.{fdef.name.lower()}", ())

    def can_edit_field(self, obj: ObjectDef, fdef: FieldDef) -> bool:
        if self.is_admin or not fdef.custom:
            return True
        return "edit" in self.fields.get(f"{obj.key}.{fdef.name.lower()}", ())

    def readable(self, obj: ObjectDef, record: dict) -> dict:
        """The record without the fields the user may not read (and without undeclared ones)."""
        out = {}
        for name, value in record.items():
            fdef = obj.field(name)
            if fdef is not None and value is not None and self.can_read_field(obj, fdef):
                out[fdef.name] = value
        return out


@dataclass(frozen=True)
class Grants:
    """What one permission set grants, with the CRM's implications applied."""

    objects: dict[str, frozenset[str]]  # object key (lower case) -> perms
    fields: dict[str, frozenset[str]]  # "obj.field" lower case -> perms
    everywhere: frozenset[str]  # from ViewAllData / ModifyAllData
    admin: bool  # ModifyAllData or CustomizeApplication: bypasses every check


def grants_of(spec: dict) -> Grants:
    """The rights one permission set's spec grants (shared by enforcement and access reports)."""
    objects: dict[str, set[str]] = {}
    fields: dict[str, set[str]] = {}
    for obj, perms in (spec.get("objects") or {}).items():
        bucket = objects.setdefault(obj.lower(), set())
        for perm in perms:
            bucket |= _IMPLIES.get(perm, {perm})
    for qualified, perms in (spec.get("fields") or {}).items():
        bucket = fields.setdefault(qualified.lower(), set())
        bucket |= set(perms) | ({"read"} if "edit" in perms else set())
    system = set(spec.get("system") or [])
    everywhere: set[str] = set()
    if "ModifyAllData" in system:
        everywhere |= _ALL
    if "ViewAllData" in system:
        everywhere |= _IMPLIES["viewAll"]
    return Grants(
        objects={k: frozenset(v) for k, v in objects.items()},
        fields={k: frozenset(v) for k, v in fields.items()},
        everywhere=frozenset(everywhere),
        admin=bool(ADMIN_PERMISSIONS & system),  # canonical names, compared exactly, as in auth
    )


def holds_admin_permission(model: OrgModel, username: str) -> bool:
    """Whether a User's permission sets make them an admin (as the sandbox's auth decides)."""
    user = model.users.get(username.lower())
    for set_name in (user or {}).get("permissionSets", []):
        spec = model.permission_sets.get(set_name.lower())
        if spec is not None and grants_of(spec).admin:
            return True
    return False


def access_for(model: OrgModel, username: str, is_admin: bool) -> Access:
    """The rights of a user from their permission sets (cached on the model)."""
    key = ("access", username.lower(), is_admin)
    if key in model.cache:
        return model.cache[key]
    objects: dict[str, set[str]] = {}
    fields: dict[str, set[str]] = {}
    everywhere: set[str] = set()
    user = model.users.get(username.lower())
    for set_name in (user or {}).get("permissionSets", []):
        spec = model.permission_sets.get(set_name.lower())
        if spec is None:
            continue
        grants = grants_of(spec)
        for obj, perms in grants.objects.items():
            objects.setdefault(obj, set()).update(perms)
        for qualified, perms in grants.fields.items():
            fields.setdefault(qualified, set()).update(perms)
        everywhere |= grants.everywhere
    access = Access(
        username=username,
        is_admin=is_admin,
        objects={k: frozenset(v) for k, v in objects.items()},
        fields={k: frozenset(v) for k, v in fields.items()},
        everywhere=frozenset(everywhere),
    )
    model.cache[key] = access
    return access
