"""RecordType: a kind of record of one object, with the picklist values its records may take.

`Object.DeveloperName`; `picklists` maps each picklist field of the object to
the subset of its values records of this type may take (one may be the
default). Fields left out of `picklists` offer none of their values to the
record type's records, as in Salesforce.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from crmctl.dialect import DEFAULT_DIALECT
from crmctl.errors import Diagnostic
from crmctl.kinds.base import ConfigIndex, KindHandler, field_dependency, object_dependency
from crmctl.model import Resource

__all__ = ["RecordTypeKind", "record_type_values"]

#: Objects whose record types must name a business process (Salesforce requires it).
PROCESS_OBJECTS = ("Opportunity", "Case", "Lead", "Solution")


def record_type_values(items: list[Any]) -> list[dict[str, Any]]:
    """A picklist's values for a record type in their full form: {value, default}."""
    out = []
    for item in items or []:
        given = {"value": item} if isinstance(item, str) else item
        out.append({"value": given.get("value"), "default": bool(given.get("default", False))})
    return out


class RecordTypeKind(KindHandler):
    kind = "RecordType"

    def object_of(self, name: str) -> str | None:
        return name.partition(".")[0]

    def normalise(self, spec: dict[str, Any]) -> dict[str, Any]:
        if "picklists" in spec:
            # Fields in name order (a mapping has none); values in the order given.
            spec["picklists"] = {
                field: record_type_values(values)
                for field, values in sorted(spec["picklists"].items(), key=lambda kv: kv[0].lower())
            }
        return spec

    def dependencies(self, resource: Resource, dialect: str = DEFAULT_DIALECT) -> set[str]:
        obj = resource.name.partition(".")[0]
        deps = {object_dependency(obj, dialect)}
        for field in resource.spec.get("picklists") or {}:
            deps.add(field_dependency(obj, field, dialect))
        deps.discard(None)
        return deps  # type: ignore[return-value]

    def check(self, resource: Resource, index: ConfigIndex) -> Iterator[Diagnostic]:
        obj = resource.name.partition(".")[0]
        if not index.has_object(obj):
            yield self.error(
                resource,
                f"object '{obj}' is neither declared as a CustomObject nor a standard object",
            )
            return
        if obj in PROCESS_OBJECTS and not resource.spec.get("businessProcess"):
            yield self.error(
                resource,
                f"a record type of {obj} needs a businessProcess (Salesforce requires one)",
                hint="name the sales, support, lead or solution process its records follow",
            )
        for field, items in (resource.spec.get("picklists") or {}).items():
            yield from self._picklist(resource, index, obj, field, items)

    def _picklist(
        self, resource: Resource, index: ConfigIndex, obj: str, field: str, items: list[Any]
    ) -> Iterator[Diagnostic]:
        found = index.field(obj, field)
        if found is None:
            yield self.error(
                resource, f"picklists: '{field}' is not a field of {obj}", "picklists", field
            )
            return
        if found[1] and found[1] not in ("Picklist", "MultiPicklist"):
            yield self.error(
                resource,
                f"picklists: {obj}.{field} is a {found[1]} field, not a picklist",
                "picklists",
                field,
            )
            return
        allowed = index.picklist_values(obj, field)
        values = record_type_values(items)
        seen: set[str] = set()
        for i, entry in enumerate(values):
            value = str(entry["value"])
            if value.lower() in seen:
                yield self.error(
                    resource, f"picklists.{field}: '{value}' is listed twice", "picklists", field, i
                )
            seen.add(value.lower())
            if allowed is not None and value not in allowed:
                yield self.error(
                    resource,
                    f"picklists.{field}: '{value}' is not a value of {obj}.{field}",
                    "picklists",
                    field,
                    i,
                )
        if sum(e["default"] for e in values) > 1:
            yield self.error(
                resource,
                f"picklists.{field}: at most one value can be the default",
                "picklists",
                field,
            )
