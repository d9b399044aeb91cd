"""PermissionSet: object, field and system permissions granted to users."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from crmctl.dialect import DEFAULT_DIALECT
from crmctl.errors import Diagnostic
from crmctl.kinds.base import ConfigIndex, KindHandler, field_dependency, object_dependency
from crmctl.model import Resource

__all__ = [
    "PermissionSetKind",
    "OBJECT_PERMISSIONS",
    "OBJECT_PERMISSION_NEEDS",
    "declarable",
    "declarable_field",
]

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


def declarable(obj: str, index: ConfigIndex) -> bool:
    """Whether a permission-set manifest may name object `obj` (`check` accepts it)."""
    return index.has_object(obj)


def declarable_field(qualified: str, index: ConfigIndex) -> bool:
    """Whether a permission-set manifest may name field `Object.Field` (`check` accepts it)."""
    obj, _, field = qualified.partition(".")
    return index.has_object(obj) and index.field(obj, field) is not None


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

    def undeclarable(
        self, live: dict[str, Any], index: ConfigIndex, deleted: set[str]
    ) -> dict[str, Any]:
        """Entries on objects and fields the configuration does not define.

        `check` refuses a manifest that names them, so they can never be declared:
        they belong to whoever made them (another package, an admin in Setup, a field
        kind crmctl leaves alone) and are kept as they are. Entries on an object or
        field the plan deletes (crmctl's, dropped from the manifests) go with it.
        """

        dialect = index.dialect
        gone = {a.lower() for a in deleted}  # CRM names are case-insensitive

        def kept(address: str | None) -> bool:
            return address is None or address.lower() not in gone

        def kept_object(obj: str) -> bool:
            return not declarable(obj, index) and kept(object_dependency(obj, dialect))

        def kept_field(qualified: str) -> bool:
            obj, _, field = qualified.partition(".")
            return (
                not declarable_field(qualified, index)
                and kept(object_dependency(obj, dialect))
                and kept(field_dependency(obj, field, dialect))
            )

        out: dict[str, Any] = {}
        objects = {o: p for o, p in (live.get("objects") or {}).items() if kept_object(o)}
        fields = {f: p for f, p in (live.get("fields") or {}).items() if kept_field(f)}
        depths = {t: d for t, d in (live.get("depths") or {}).items() if kept_object(t)}
        if depths:  # a Dataverse security role's depth on those tables goes with them
            out["depths"] = depths
        if objects:
            out["objects"] = objects
        if fields:
            out["fields"] = fields
        return out

    def dependencies(self, resource: Resource, dialect: str = DEFAULT_DIALECT) -> set[str]:
        tables = [*resource.spec.get("objects", {}), *(resource.spec.get("depths") or {})]
        deps = {object_dependency(obj, dialect) for obj in tables}
        for qualified in resource.spec.get("fields", {}):
            obj, _, field = qualified.partition(".")
            deps.add(field_dependency(obj, field, dialect))
        deps.discard(None)
        return deps  # type: ignore[return-value]

    def _check_depths(self, resource: Resource, index: ConfigIndex) -> Iterator[Diagnostic]:
        """A Dataverse security role: `objects` and `depths` say the same grants.

        Dataverse grants each privilege at a depth and reads a role back that way, so a
        verb in `objects` without a depth (or a depth for a verb `objects` leaves out)
        would be a change on every plan; viewAll and modifyAll are no Dataverse privileges.
        """
        objects = resource.spec.get("objects") or {}
        depths = resource.spec.get("depths") or {}
        for table, verbs in objects.items():
            if not index.has_object(table):
                continue  # said below
            given = depths.get(table) or {}
            for verb in verbs:
                if verb in ("viewAll", "modifyAll"):
                    implied = "read" if verb == "viewAll" else "read, edit and delete"
                    yield self.error(
                        resource,
                        f"objects.{table}: '{verb}' is not a Dataverse privilege",
                        "objects",
                        table,
                        hint=f"grant {implied} with depth Global in depths.{table}",
                    )
                elif verb not in given:
                    yield self.error(
                        resource,
                        f"objects.{table}: '{verb}' has no depth: a Dataverse security role "
                        f"grants each privilege at a depth",
                        "objects",
                        table,
                        hint=f"add depths.{table}.{verb}: Basic, Local, Deep or Global",
                    )
        for table, verbs in depths.items():
            if not index.has_object(table):
                continue  # said below
            listed = objects.get(table) or []
            for verb in verbs:
                if verb in OBJECT_PERMISSIONS and verb not in listed:
                    yield self.error(
                        resource,
                        f"depths.{table}: '{verb}' is granted here but not listed in "
                        f"objects.{table}",
                        "depths",
                        table,
                        hint=f"add {verb} to objects.{table}, or remove depths.{table}.{verb}",
                    )

    def check(self, resource: Resource, index: ConfigIndex) -> Iterator[Diagnostic]:
        # `depths` (accepted only in a dataverse environment) marks a Dataverse security role,
        # whose table privileges are independent of each other: Salesforce's rules do not apply.
        dataverse = "depths" in resource.spec
        for table in resource.spec.get("depths") or {}:
            if not index.has_object(table):
                yield self.error(resource, f"depths: unknown table '{table}'", "depths", table)
        if dataverse:
            yield from self._check_depths(resource, index)
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
