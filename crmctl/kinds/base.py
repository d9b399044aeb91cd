"""What every manifest kind provides, and the index cross-reference checks use.

A kind module knows four things about its resources: their canonical form
(so that equal configurations compare equal), the other resources they
depend on (so plans order changes), and the checks a schema cannot express
(references to other resources).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from functools import cache
from typing import Any, ClassVar

from crmctl.dialect import (
    DATAVERSE,
    DEFAULT_DIALECT,
    is_custom_field,
    is_custom_object,
    is_custom_relationship,
    is_standard_object,
)
from crmctl.errors import Diagnostic
from crmctl.kinds.standard import (
    ACTIVITY_OBJECTS,
    DATAVERSE_SYSTEM_COLUMNS,
    STANDARD_OBJECTS,
    STANDARD_RELATIONSHIPS,
    SYSTEM_FIELDS,
)
from crmctl.model import Resource, address_of
from crmctl.schemas import kind_schema, schema_defaults

__all__ = ["KindHandler", "ConfigIndex", "drop_none", "is_standard_object"]


def drop_none(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec without keys whose value is null (absent and null mean the same)."""
    return {k: v for k, v in spec.items() if v is not None}


def _carriers(obj: str) -> tuple[str, ...]:
    """The objects a custom field of `obj` is on: an Activity field is on Task and Event too."""
    return (obj, *ACTIVITY_OBJECTS) if obj.lower() == "activity" else (obj,)


def _relationship_names(field: str, spec: dict[str, Any]) -> set[str]:
    """Names a formula may traverse a lookup by: the field's own (`Account__r`, as in
    Salesforce) and its relationshipName."""
    return {field.removesuffix("__c"), spec.get("relationshipName") or field.removesuffix("__c")}


@cache
def _spec_defaults(kind: str) -> dict[str, Any]:
    return schema_defaults(kind_schema(kind)["properties"]["spec"])


@cache
def _key_rank(kind: str) -> dict[str, int]:
    """Spec keys in the schema's order, so plans list type and label before the details."""
    return {
        key: i
        for i, key in enumerate(kind_schema(kind)["properties"]["spec"].get("properties", {}))
    }


class ConfigIndex:
    """Lookups over a whole configuration: objects, fields, roles, permission sets.

    API names are case-insensitive in CRMs, so lookups are too; they return
    the name as declared. Names are read in `dialect` (the environment's): in
    Dataverse's, the standard tables' columns are not listed (any standard
    column name goes, a prefixed one must be declared), and a custom table has
    Dataverse's system columns.
    """

    def __init__(self, resources: Iterable[Resource], dialect: str = DEFAULT_DIALECT) -> None:
        self.dialect = dialect
        standard = STANDARD_OBJECTS if dialect != DATAVERSE else {}
        self.known_standard = frozenset(name.lower() for name in standard)
        self.objects: dict[str, str] = {name.lower(): name for name in standard}
        self.custom_objects: set[str] = set()
        self.object_system_fields: dict[str, dict[str, str]] = {}
        self.fields: dict[str, dict[str, tuple[str, str]]] = {}
        self.field_resources: dict[str, Resource] = {}
        self.relationships: dict[tuple[str, str], str] = {
            (obj.lower(), rel.lower()): target
            for (obj, rel), target in STANDARD_RELATIONSHIPS.items()
            if dialect != DATAVERSE
        }
        self.roles: dict[str, str] = {}
        self.permission_sets: dict[str, str] = {}
        self.value_sets: dict[str, Resource] = {}
        for obj, fields in standard.items():
            self._add_fields(obj, {**SYSTEM_FIELDS, **fields})
        custom_fields = []
        for res in resources:
            if res.kind == "CustomObject":
                self._add_object(res)
            elif res.kind == "CustomField":
                custom_fields.append(res)
            elif res.kind == "Role":
                self.roles[res.name.lower()] = res.name
            elif res.kind == "PermissionSet":
                self.permission_sets[res.name.lower()] = res.name
            elif res.kind == "GlobalValueSet":
                self.value_sets[res.name.lower()] = res
        # Roll-ups last: a min or max has the type of the field it rolls up.
        for res in sorted(custom_fields, key=lambda r: r.spec.get("type") == "Summary"):
            self.field_resources[res.name.lower()] = res
            self._add_custom_field(res)

    def add(self, resource: Resource) -> None:
        """Take a created or replaced resource into account (the sandbox keeps one index live)."""
        self.remove(resource.kind, resource.name)
        lower = resource.name.lower()
        if resource.kind == "CustomObject":
            self._add_object(resource)
        elif resource.kind == "CustomField":
            self.field_resources[lower] = resource
            self._add_custom_field(resource)
        elif resource.kind == "Role":
            self.roles[lower] = resource.name
        elif resource.kind == "PermissionSet":
            self.permission_sets[lower] = resource.name
        elif resource.kind == "GlobalValueSet":
            self.value_sets[lower] = resource

    def remove(self, kind: str, name: str) -> None:
        """Forget a deleted resource; the index ends as if built without it."""
        lower = name.lower()
        if kind == "CustomObject" and lower in self.custom_objects:
            del self.objects[lower]
            self.custom_objects.discard(lower)
            bucket = self.fields.get(lower, {})
            for system in self.object_system_fields.pop(lower, {}):
                bucket.pop(system.lower(), None)
            if not bucket:
                self.fields.pop(lower, None)
        elif kind == "CustomField" and lower in self.field_resources:
            old = self.field_resources.pop(lower)
            obj, _, field = name.partition(".")
            for carrier in _carriers(obj):
                bucket = self.fields.get(carrier.lower(), {})
                bucket.pop(field.lower(), None)
                if not bucket:
                    self.fields.pop(carrier.lower(), None)
                if old.spec.get("type") in ("Lookup", "MasterDetail"):
                    for rel in _relationship_names(field, old.spec):
                        self.relationships.pop((carrier.lower(), f"{rel}__r".lower()), None)
        elif kind == "Role":
            self.roles.pop(lower, None)
        elif kind == "PermissionSet":
            self.permission_sets.pop(lower, None)
        elif kind == "GlobalValueSet":
            self.value_sets.pop(lower, None)

    def _system_fields(self, obj: str, spec: dict[str, Any]) -> dict[str, str]:
        """The fields every custom object of the dialect has (Dataverse: with the table's
        id column and its primary name column)."""
        if self.dialect != DATAVERSE:
            return SYSTEM_FIELDS
        lower = obj.lower()
        primary = spec.get("primaryColumn") or f"{lower.partition('_')[0]}_name"
        return {**DATAVERSE_SYSTEM_COLUMNS, f"{lower}id": "Id", str(primary): "Text"}

    def _add_object(self, res: Resource) -> None:
        self.objects[res.name.lower()] = res.name
        self.custom_objects.add(res.name.lower())
        system = self._system_fields(res.name, res.spec)
        self.object_system_fields[res.name.lower()] = system
        self._add_fields(res.name, system)

    def _add_custom_field(self, res: Resource) -> None:
        obj, _, field = res.name.partition(".")
        ftype = self._value_type(res.spec)
        target = res.spec.get("referenceTo")
        for carrier in _carriers(obj):
            self.fields.setdefault(carrier.lower(), {})[field.lower()] = (field, ftype)
            if ftype in ("Lookup", "MasterDetail") and isinstance(target, str):
                for rel in _relationship_names(field, res.spec):
                    self.relationships[(carrier.lower(), f"{rel}__r".lower())] = target

    def _add_fields(self, obj: str, fields: dict[str, str]) -> None:
        bucket = self.fields.setdefault(obj.lower(), {})
        for name, ftype in fields.items():
            bucket.setdefault(name.lower(), (name, ftype))

    def _value_type(self, spec: dict[str, Any]) -> str:
        """The type of the values a field holds, as formulas see it."""
        ftype = spec.get("type", "Text")
        if ftype == "Formula":
            return str(spec.get("returnType") or "Text")
        if ftype == "AutoNumber":
            return "Text"
        if ftype == "Summary":
            summarized = spec.get("summarizedField")
            if spec.get("summaryOperation") in ("min", "max") and isinstance(summarized, str):
                found = self.field(*summarized.split(".", 1)) if "." in summarized else None
                if found and found[1]:
                    return found[1]
            return "Number"
        return str(ftype)

    def has_object(self, name: str) -> bool:
        """A declared custom object, or any standard object (every name without `__`)."""
        return name.lower() in self.objects or is_standard_object(name, self.dialect)

    def unmodelled(self, obj: str) -> bool:
        """A standard object whose standard fields crmctl does not list (any name goes)."""
        return is_standard_object(obj, self.dialect) and obj.lower() not in self.known_standard

    def field(self, obj: str, field: str) -> tuple[str, str] | None:
        """(declared name, type) of `obj.field`, or None; "" is a type crmctl does not know."""
        found = self.fields.get(obj.lower(), {}).get(field.lower())
        if found is None and self.unmodelled(obj) and not is_custom_field(field, self.dialect):
            # A standard field of a standard object crmctl does not list: its type is
            # unknown, except Dataverse's system columns, which every table has.
            system = DATAVERSE_SYSTEM_COLUMNS if self.dialect == DATAVERSE else {}
            return (field, system.get(field.lower(), ""))
        return found

    def picklist_values(self, obj: str, field: str) -> list[str] | None:
        """The values a custom picklist field of `obj` may take (None: not a known picklist)."""
        from crmctl.kinds.custom_field import picklist_values

        res = self.field_resources.get(f"{obj}.{field}".lower())
        if res is None or res.spec.get("type") not in ("Picklist", "MultiPicklist"):
            return None
        value_set = res.spec.get("valueSetName")
        if isinstance(value_set, str):
            gvs = self.value_sets.get(value_set.lower())
            return None if gvs is None else [str(v["value"]) for v in picklist_values(gvs.spec)]
        return [str(v["value"]) for v in picklist_values(res.spec)]

    def field_type_path(self, obj: str, parts: tuple[str, ...]) -> str | None:
        """The type a formula reference like `Account__r.Owner.Email` has on `obj`, or None."""
        current = obj
        for rel in parts[:-1]:
            if ":" in rel:  # polymorphic: Owner:User.Name
                rel, _, target = rel.partition(":")
                current = target
                continue
            related = self.relationships.get(
                (current.lower(), rel.lower())
            ) or self.relationships.get(("*", rel.lower()))
            if (
                related is None
                and self.unmodelled(current)
                and not is_custom_relationship(rel, self.dialect)
            ):
                return ""  # a standard relationship of an object crmctl does not list
            if related is None:
                return None
            current = related
        standard_column = self.unmodelled(current) and not is_custom_field(parts[-1], self.dialect)
        if standard_column and self.dialect == DATAVERSE:
            return DATAVERSE_SYSTEM_COLUMNS.get(parts[-1].lower(), "")  # "": type unknown
        if current.lower() not in self.fields:
            # An object we do not model (RecordType, Profile …): any field name goes.
            return "Text" if current.lower() not in self.objects else None
        if standard_column:
            return ""  # a standard field of a standard object crmctl does not list
        found = self.field(current, parts[-1])
        return found[1] if found else None


class KindHandler:
    """Base for one manifest kind; subclasses override what their kind needs."""

    kind: ClassVar[str]

    def canonical(self, spec: dict[str, Any], name: str | None = None) -> dict[str, Any]:
        """The spec with schema defaults filled in and order-free lists sorted.

        With the resource's `name`, defaults that depend on it are settled too
        (a relationship field's default relationship name).
        """
        # Shallow on purpose: normalise() builds new containers for whatever it changes,
        # so the input is never modified, and copying every nested value made plans slow.
        out = {key: copy.copy(value) for key, value in _spec_defaults(self.kind).items()}
        out.update(drop_none(spec))
        out = self.normalise(out)
        if name is not None:
            out = self.normalise_named(out, name)
        rank = _key_rank(self.kind)
        return dict(sorted(out.items(), key=lambda item: rank.get(item[0], len(rank))))

    def normalise(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Kind-specific canonical form; must not modify nested values of `spec` in place."""
        return spec

    def normalise_named(self, spec: dict[str, Any], name: str) -> dict[str, Any]:
        """Canonical form of what depends on the resource's name (same rules as normalise)."""
        return spec

    def object_of(self, name: str) -> str | None:
        """The object a resource of this kind belongs to, if any."""
        return None

    def undeclarable(
        self, live: dict[str, Any], index: ConfigIndex, deleted: set[str]
    ) -> dict[str, Any]:
        """What of a live (canonical) spec no manifest of this configuration can declare.

        Such parts are not crmctl's: a plan keeps them as they are (adds them to the
        desired spec) and never shows them. Parts about a resource the plan deletes
        (`deleted`: addresses) are crmctl's and go with it. Most kinds have none.
        """
        return {}

    def adopt_unsaid(self, desired: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
        """`desired` (canonical) with what the CRM chose where the manifest may say but did
        not (a Dataverse option's integer value): the live choice is then not a change.

        Plan and drift compare the result with `live`; most kinds have nothing of the kind.
        """
        return desired

    def unsaid(self, spec: dict[str, Any]) -> dict[str, Any]:
        """`spec` (a snapshot: a read of the CRM) without what the CRM chose and
        `adopt_unsaid` fills in: a rollback aims at what was said, never at a choice the CRM
        cannot make again (a Dataverse option's value)."""
        return spec

    def retired(self, live: dict[str, Any]) -> bool:
        """Whether a live spec is what the CRM keeps of a resource it was asked to delete
        (a user is deactivated, never deleted): a delete landed when the read shows this."""
        return False

    def dependencies(self, resource: Resource, dialect: str = DEFAULT_DIALECT) -> set[str]:
        """Addresses of the resources this one needs to exist first (names read in `dialect`)."""
        return set()

    def ordering_dependencies(self, resource: Resource, index: ConfigIndex) -> set[str]:
        """`dependencies`, plus those only the other resources tell (a formula's related
        fields: which object `Account__r` is depends on the lookup's declaration)."""
        return self.dependencies(resource, index.dialect)

    def check(self, resource: Resource, index: ConfigIndex) -> Iterator[Diagnostic]:
        """Problems a schema cannot see, one resource at a time."""
        return iter(())

    def check_all(self, resources: list[Resource], index: ConfigIndex) -> Iterator[Diagnostic]:
        """Problems that span resources of this kind (cycles and the like)."""
        return iter(())

    # Helpers shared by the kind modules.
    def error(
        self, resource: Resource, message: str, *path: str | int, hint: str | None = None
    ) -> Diagnostic:
        return Diagnostic(
            message, resource.location(*path), address=resource.address, hint=hint, code="reference"
        )


def field_dependency(obj: str, field: str, dialect: str = DEFAULT_DIALECT) -> str | None:
    """The address of a custom field (standard fields have none to depend on)."""
    if is_custom_field(field, dialect):
        return address_of("CustomField", f"{obj}.{field}")
    return None


def object_dependency(obj: str, dialect: str = DEFAULT_DIALECT) -> str | None:
    """The address of a custom object (standard objects have none)."""
    if is_custom_object(obj, dialect):
        return address_of("CustomObject", obj)
    return None
