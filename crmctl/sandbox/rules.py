"""Server-side rules: what the sandbox CRM refuses, as a real CRM would.

`LiveConfig` is the live configuration held in memory (a `ConfigIndex` plus
who-uses-what), kept up to date on every write so that checking one write
never means re-reading thousands of items. Each rule is a small function that
returns a `SandboxError` (or None when the write may go ahead); the store
raises it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from functools import lru_cache

from crmctl.formula import FormulaError, Node, field_references, parse
from crmctl.kinds import HANDLERS, ConfigIndex
from crmctl.kinds.base import field_dependency
from crmctl.model import Resource, address_of
from crmctl.sandbox.db import SandboxError

__all__ = [
    "HasRecords",
    "no_records",
    "conversion_allowed",
    "LiveConfig",
    "name_conflict",
    "reference_errors",
    "type_change_refused",
    "breaks_dependents",
    "delete_refused",
    "object_in_use",
    "field_in_use",
    "role_in_use",
    "permission_set_in_use",
]

#: `(connection, object, field or None) -> bool`: do records of the object hold a
#: value in the field (any record at all when field is None)? Records come later.
HasRecords = Callable[[sqlite3.Connection, str, "str | None"], bool]


def no_records(conn: sqlite3.Connection, obj: str, field: str | None = None) -> bool:
    """The default `HasRecords`: a sandbox without records has none."""
    return False


_LOOKUPS = frozenset({"Lookup", "MasterDetail"})
_TEXTUAL = frozenset({"Text", "TextArea", "LongTextArea"})

#: Conversions that keep every value, so they are allowed with records present.
_SAFE_CONVERSIONS = frozenset(
    {
        ("Picklist", "Text"),
        ("Text", "Picklist"),
        ("Picklist", "MultiPicklist"),
        ("Number", "Currency"),
        ("Currency", "Number"),
        ("Number", "Percent"),
        ("Percent", "Number"),
        ("Date", "DateTime"),
        ("MasterDetail", "Lookup"),
    }
)


def conversion_allowed(old_type: str, new_type: str, has_records: bool) -> bool:
    """Whether a field of `old_type` may become `new_type` (records must survive it)."""
    if old_type == new_type:
        return True
    if (old_type in _LOOKUPS) != (new_type in _LOOKUPS):
        return False  # a reference is not a value: no CRM converts between them
    if (old_type, new_type) in _SAFE_CONVERSIONS:
        return True
    if new_type == "LongTextArea" or (new_type in _TEXTUAL and old_type not in _TEXTUAL):
        return True  # any value has a text form, and nothing is longer than a LongTextArea
    if new_type == "TextArea" and old_type == "Text":
        return True
    return not has_records


@lru_cache(maxsize=4096)
def _parsed(text: str) -> Node | None:
    try:
        return parse(text)
    except FormulaError:
        return None


def _formulas(resource: Resource) -> list[tuple[str, object]]:
    """(object, formula text) pairs of a resource."""
    spec = resource.spec
    if resource.kind == "ValidationRule":
        return [(resource.name.partition(".")[0], spec.get("condition"))]
    if resource.kind == "RetentionPolicy" and isinstance(spec.get("object"), str):
        return [(spec["object"], spec.get("filter"))]
    return []


def _lookup_field(index: ConfigIndex, obj: str, relationship: str) -> str | None:
    """The custom lookup field of `obj` that gives the relationship `X__r`."""
    for field, ftype in index.fields.get(obj.lower(), {}).values():
        resource = index.field_resources.get(f"{obj}.{field}".lower())
        if resource is None or ftype not in _LOOKUPS:
            continue
        rel = resource.spec.get("relationshipName") or field.removesuffix("__c")
        if f"{rel}__r".lower() == relationship.lower():
            return resource.name
    return None


def _relationship_references(text: object, obj: str, index: ConfigIndex) -> set[str]:
    """Custom fields a formula reaches through relationships (`Account__r.Region__c`)."""
    node = _parsed(text) if isinstance(text, str) else None
    if node is None:
        return set()
    found: set[str] = set()
    for ref in field_references(node):
        if len(ref.parts) == 1:
            continue  # the kind's own dependencies() has these
        current: str | None = obj
        for rel in ref.parts[:-1]:
            if ":" in rel:  # polymorphic (Owner:User): standard objects only
                current = None
                break
            if current is None:
                break
            lookup = _lookup_field(index, current, rel) if rel.lower().endswith("__r") else None
            if lookup:
                found.add(address_of("CustomField", lookup))
            current = index.relationships.get((current.lower(), rel.lower())) or (
                index.relationships.get(("*", rel.lower()))
            )
            if current is None:
                break
        if current is not None:
            found.add(field_dependency(current, ref.parts[-1]) or "")
    found.discard("")
    return found


def _key(kind: str, name: str) -> str:
    return address_of(kind, name).lower()


class LiveConfig:
    """The live configuration in memory: the index checks use and who uses what."""

    def __init__(self, resources: Iterable[Resource] = (), generation: int = 0) -> None:
        resources = list(resources)
        self.index = ConfigIndex(resources)
        self.items: dict[str, Resource] = {_key(r.kind, r.name): r for r in resources}
        self._uses: dict[str, set[str]] = {}  # item -> (lower-case) addresses it refers to
        self._used_by: dict[str, set[str]] = {}  # (lower-case) address -> addresses of users
        self.generation = generation  # the database's config_generation this reflects
        self.dirty = False  # changed since the current transaction began
        for resource in resources:
            self._link(resource)

    def get(self, kind: str, name: str) -> Resource | None:
        """The item `kind/name`, its name compared case-insensitively."""
        return self.items.get(_key(kind, name))

    def put(self, resource: Resource) -> None:
        self.dirty = True
        key = _key(resource.kind, resource.name)
        if key in self.items:
            self._unlink(self.items[key])
        self.items[key] = resource
        self.index.add(resource)
        self._link(resource)

    def remove(self, kind: str, name: str) -> None:
        self.dirty = True
        old = self.items.pop(_key(kind, name), None)
        if old is not None:
            self._unlink(old)
            self.index.remove(kind, old.name)

    def dependents(self, kind: str, name: str) -> list[str]:
        """Addresses of the items that refer to `kind/name`, sorted."""
        return sorted(self._used_by.get(_key(kind, name), ()))

    def references(self, resource: Resource) -> set[str]:
        """Lower-case addresses of what `resource` refers to (and so cannot lose)."""
        refs = HANDLERS[resource.kind].dependencies(resource)
        for obj, text in _formulas(resource):
            refs |= _relationship_references(text, obj, self.index)
        key = _key(resource.kind, resource.name)
        return {r.lower() for r in refs} - {key}

    def _link(self, resource: Resource) -> None:
        refs = self.references(resource)
        self._uses[_key(resource.kind, resource.name)] = refs
        for ref in refs:
            self._used_by.setdefault(ref, set()).add(resource.address)

    def _unlink(self, resource: Resource) -> None:
        for ref in self._uses.pop(_key(resource.kind, resource.name), ()):
            users = self._used_by.get(ref)
            if users is not None:
                users.discard(resource.address)
                if not users:
                    del self._used_by[ref]


def name_conflict(live: LiveConfig, kind: str, name: str) -> SandboxError | None:
    """Names are unique regardless of case, as API names are in a CRM."""
    existing = live.get(kind, name)
    if existing is None or existing.name == name:
        return None
    return SandboxError(
        f"{address_of(kind, name)} differs only in case from the existing "
        f"{existing.address}; API names are unique regardless of case",
        status=409,
        code="CONFLICT",
        details={"existing": existing.name},
    )


def _role_cycle(live: LiveConfig, role: Resource) -> str | None:
    path, node = [role.name], role.spec.get("parent")
    while isinstance(node, str):
        parent = live.get("Role", node)
        if parent is None:
            return None
        if parent.name.lower() == role.name.lower():
            return "role hierarchy has a cycle: " + " -> ".join([*path, role.name])
        if parent.name in path:
            return None  # an older cycle this write does not touch
        path.append(parent.name)
        node = parent.spec.get("parent")
    return None


def reference_errors(live: LiveConfig, resource: Resource) -> SandboxError | None:
    """The kind's own checks against the live configuration (which already holds `resource`)."""
    messages = [d.message for d in HANDLERS[resource.kind].check(resource, live.index)]
    if resource.kind == "Role":
        cycle = _role_cycle(live, resource)
        if cycle:
            messages.append(cycle)
    if not messages:
        return None
    return SandboxError(
        f"{resource.address}: {'; '.join(messages)}",
        status=400,
        code="INVALID_SPEC",
        details={"errors": messages, "stage": "references"},
    )


def type_change_refused(
    old: Resource, new: Resource, has_records: Callable[[], bool]
) -> SandboxError | None:
    """A field's type may change only when its values can be converted."""
    old_type, new_type = old.spec.get("type"), new.spec.get("type")
    if old.kind != "CustomField" or old_type == new_type:
        return None
    if conversion_allowed(str(old_type), str(new_type), has_records=True):
        return None
    always = not conversion_allowed(str(old_type), str(new_type), has_records=False)
    if not always and not has_records():
        return None
    reason = (
        "a lookup and a value field cannot be converted into each other"
        if always
        else "existing records cannot be converted"
    )
    return SandboxError(
        f"{new.address}: changing the type from {old_type} to {new_type} is refused: {reason}",
        hint="create a new field, copy the data, then delete the old field",
        status=409,
        code="TYPE_CHANGE_REFUSED",
        details={"from": old_type, "to": new_type},
    )


def breaks_dependents(live: LiveConfig, resource: Resource) -> SandboxError | None:
    """Changing a field must not invalidate what uses it (a date field a policy needs …)."""
    if resource.kind != "CustomField":
        return None  # other kinds are needed only for existing, which an update keeps
    broken: list[str] = []
    for address in live.dependents(resource.kind, resource.name):
        user = live.items[address.lower()]
        broken += [
            f"{user.address}: {d.message}" for d in HANDLERS[user.kind].check(user, live.index)
        ]
    if not broken:
        return None
    return SandboxError(
        f"changing {resource.address} would break what uses it: {'; '.join(broken)}",
        status=409,
        code="IN_USE",
        details={"errors": broken},
    )


def _listed(addresses: list[str]) -> str:
    shown = ", ".join(addresses[:10])
    return shown + (f" and {len(addresses) - 10} more" if len(addresses) > 10 else "")


def _in_use(kind: str, name: str, reasons: list[str], hint: str, dependents: list[str]):
    return SandboxError(
        f"cannot delete {address_of(kind, name)}: {'; '.join(reasons)}",
        hint=hint,
        status=409,
        code="IN_USE",
        details={"dependents": dependents},
    )


def object_in_use(name: str, dependents: list[str]) -> SandboxError:
    """An object keeps its fields and rules; they must go first."""
    prefix = name.lower() + "."
    own = [d for d in dependents if d.partition("/")[2].lower().startswith(prefix)]
    others = [d for d in dependents if d not in own]
    reasons = [f"it still has {_listed(own)}"] if own else []
    reasons += [f"it is used by {_listed(others)}"] if others else []
    hint = "delete the object's fields, validation rules and duplicate rules first"
    return _in_use("CustomObject", name, reasons, hint, dependents)


def field_in_use(name: str, dependents: list[str]) -> SandboxError:
    """A field used by rules, policies or permission sets stays until they let go of it."""
    hint = "remove the field from these resources first"
    return _in_use("CustomField", name, [f"it is used by {_listed(dependents)}"], hint, dependents)


def role_in_use(name: str, dependents: list[str]) -> SandboxError:
    """A role with child roles or users stays: the hierarchy would break."""
    children = [d for d in dependents if d.startswith("Role/")]
    others = [d for d in dependents if d not in children]
    reasons = [f"it has child roles {_listed(children)}"] if children else []
    reasons += [f"it is the role of {_listed(others)}"] if others else []
    hint = "re-parent its child roles and move its users to another role first"
    return _in_use("Role", name, reasons, hint, dependents)


def permission_set_in_use(name: str, dependents: list[str]) -> SandboxError:
    """A permission set assigned to users stays until it is unassigned."""
    hint = "remove the permission set from these users first"
    reason = f"it is assigned to {_listed(dependents)}"
    return _in_use("PermissionSet", name, [reason], hint, dependents)


_DELETE_RULES = {
    "CustomObject": object_in_use,
    "CustomField": field_in_use,
    "Role": role_in_use,
    "PermissionSet": permission_set_in_use,
}


def delete_refused(live: LiveConfig, kind: str, name: str) -> SandboxError | None:
    """Nothing may be deleted while other items refer to it."""
    dependents = live.dependents(kind, name)
    if not dependents:
        return None
    rule = _DELETE_RULES.get(kind)
    if rule is None:  # nothing refers to other kinds today; stay safe if that changes
        hint = "change these resources first"
        return _in_use(kind, name, [f"it is used by {_listed(dependents)}"], hint, dependents)
    return rule(name, dependents)
