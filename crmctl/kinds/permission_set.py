"""PermissionSet: object, field and system permissions granted to users."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from crmctl.dialect import DEFAULT_DIALECT
from crmctl.errors import Diagnostic
from crmctl.kinds.base import ConfigIndex, KindHandler, field_dependency, object_dependency
from crmctl.model import Resource

__all__ = ["PermissionSetKind", "OBJECT_PERMISSIONS", "OBJECT_PERMISSION_NEEDS"]

#: In the order CRMs show them.
OBJECT_PERMISSIONS = ("read", "create", "edit", "delete", "viewAll", "modifyAll")

#: What each object permission needs alongside it (as Salesforce enforces).
OBJECT_PERMISSION_NEEDS: dict[str, tuple[str, ...]] = {
    "create": ("read",),
    "edit": ("read",),
    "delete": ("read", "edit"),
    "viewAll": ("read",),
    "modifyAll": ("read", "edit", "delete", "viewAll"),
}


def _ordered(perms: list[str], order: tuple[str, ...]) -> list[str]:
    return sorted(set(perms), key=lambda p: order.index(p) if p in order else len(order))


class PermissionSetKind(KindHandler):
    kind = "PermissionSet"

    def normalise(self, spec: dict[str, Any]) -> dict[str, Any]:
        # No access and an absent entry mean the same: CRMs store no row for either.
        spec["objects"] = {
            obj: _ordered(perms, OBJECT_PERMISSIONS)
            for obj, perms in sorted(spec.get("objects", {}).items())
            if perms
        }
        spec["fields"] = {
            f: _ordered(perms, ("read", "edit"))
            for f, perms in sorted(spec.get("fields", {}).items())
            if perms
        }
        spec["system"] = sorted(set(spec.get("system", [])))
        return spec

    def dependencies(self, resource: Resource, dialect: str = DEFAULT_DIALECT) -> set[str]:
        tables = [*resource.spec.get("objects", {}), *(resource.spec.get("depths") or {})]
        deps = {object_dependency(obj, dialect) for obj in tables}
        for qualified in resource.spec.get("fields", {}):
            obj, _, field = qualified.partition(".")
            deps.add(field_dependency(obj, field, dialect))
        deps.discard(None)
        return deps  # type: ignore[return-value]

    def check(self, resource: Resource, index: ConfigIndex) -> Iterator[Diagnostic]:
        # `depths` (accepted only in a dataverse environment) marks a Dataverse security role,
        # whose table privileges are independent of each other: Salesforce's rules do not apply.
        dataverse = "depths" in resource.spec
        for table in resource.spec.get("depths") or {}:
            if not index.has_object(table):
                yield self.error(resource, f"depths: unknown table '{table}'", "depths", table)
        for obj, perms in (resource.spec.get("objects") or {}).items():
            if not index.has_object(obj):
                yield self.error(resource, f"objects: unknown object '{obj}'", "objects", obj)
                continue
            for perm, needs in () if dataverse else OBJECT_PERMISSION_NEEDS.items():
                missing = [n for n in needs if n not in perms]
                if perm in perms and missing:
                    yield self.error(
                        resource,
                        f"objects.{obj}: '{perm}' needs {', '.join(repr(m) for m in missing)} too",
                        "objects",
                        obj,
                        hint=f"add {', '.join(missing)} to {obj}, or remove {perm}",
                    )
        for qualified, perms in (resource.spec.get("fields") or {}).items():
            obj, _, field = qualified.partition(".")
            if not index.has_object(obj):
                yield self.error(
                    resource,
                    f"fields: unknown object '{obj}' in '{qualified}'",
                    "fields",
                    qualified,
                )
            elif index.field(obj, field) is None:
                yield self.error(
                    resource, f"fields: '{qualified}' is not a field of {obj}", "fields", qualified
                )
            elif "edit" in perms and "read" not in perms:
                yield self.error(
                    resource,
                    f"fields.{qualified}: 'edit' needs 'read' too",
                    "fields",
                    qualified,
                    hint="use [read, edit]",
                )
