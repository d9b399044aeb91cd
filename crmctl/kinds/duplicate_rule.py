"""DuplicateRule: detects duplicate records on create and edit (`Object.Rule`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from crmctl.dialect import DEFAULT_DIALECT
from crmctl.errors import Diagnostic
from crmctl.kinds.base import ConfigIndex, KindHandler, field_dependency, object_dependency
from crmctl.model import Resource

__all__ = ["DuplicateRuleKind"]


class DuplicateRuleKind(KindHandler):
    kind = "DuplicateRule"

    def object_of(self, name: str) -> str | None:
        return name.partition(".")[0]

    def normalise(self, spec: dict[str, Any]) -> dict[str, Any]:
        spec["match"] = [{"method": "exact", **m} for m in spec.get("match", [])]
        spec["action"] = {"onCreate": "block", "onEdit": "alert", **spec.get("action", {})}
        return spec

    def dependencies(self, resource: Resource, dialect: str = DEFAULT_DIALECT) -> set[str]:
        obj = resource.name.partition(".")[0]
        deps = {object_dependency(obj, dialect)} | {
            field_dependency(obj, m.get("field", ""), dialect)
            for m in resource.spec.get("match", [])
        }
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
        for i, item in enumerate(resource.spec.get("match") or []):
            field = item.get("field")
            if isinstance(field, str) and index.field(obj, field) is None:
                yield self.error(
                    resource, f"match[{i}]: '{field}' is not a field of {obj}", "match", i, "field"
                )
