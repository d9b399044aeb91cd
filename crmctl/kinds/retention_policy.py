"""RetentionPolicy: how long records of an object are kept, and what happens after."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from crmctl.errors import Diagnostic
from crmctl.kinds.base import ConfigIndex, KindHandler, field_dependency, object_dependency
from crmctl.kinds.formulas import formula_dependencies, formula_diagnostics
from crmctl.model import Resource

__all__ = ["RetentionPolicyKind"]


class RetentionPolicyKind(KindHandler):
    kind = "RetentionPolicy"

    def normalise(self, spec: dict[str, Any]) -> dict[str, Any]:
        if "anonymizeFields" in spec:
            spec["anonymizeFields"] = sorted(set(spec["anonymizeFields"]))
        return spec

    def dependencies(self, resource: Resource) -> set[str]:
        spec = resource.spec
        obj = spec.get("object")
        if not isinstance(obj, str):
            return set()
        fields = [spec.get("dateField"), *spec.get("anonymizeFields", [])]
        deps = {object_dependency(obj)} | {
            field_dependency(obj, f) for f in fields if isinstance(f, str)
        }
        deps |= formula_dependencies(spec.get("filter"), obj)
        deps.discard(None)
        return deps  # type: ignore[return-value]

    def check(self, resource: Resource, index: ConfigIndex) -> Iterator[Diagnostic]:
        spec = resource.spec
        obj = spec.get("object")
        if not isinstance(obj, str):
            return
        if not index.has_object(obj):
            yield self.error(
                resource,
                f"object '{obj}' is neither declared as a CustomObject nor a standard object",
                "object",
            )
            return
        date_field = spec.get("dateField")
        if isinstance(date_field, str):
            found = index.field(obj, date_field)
            if found is None:
                yield self.error(
                    resource, f"dateField '{date_field}' is not a field of {obj}", "dateField"
                )
            elif found[1] not in ("Date", "DateTime"):
                yield self.error(
                    resource,
                    f"dateField '{date_field}' is a {found[1]} field; it must be a Date or DateTime field",
                    "dateField",
                )
        for i, field in enumerate(spec.get("anonymizeFields") or []):
            if index.field(obj, field) is None:
                yield self.error(
                    resource,
                    f"anonymizeFields: '{field}' is not a field of {obj}",
                    "anonymizeFields",
                    i,
                )
        yield from formula_diagnostics(resource, ("filter",), obj, index)
