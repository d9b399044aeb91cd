"""ValidationRule: rejects a record when its condition formula is true (`Object.Rule`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from crmctl.dialect import DEFAULT_DIALECT
from crmctl.errors import Diagnostic
from crmctl.kinds.base import ConfigIndex, KindHandler, field_dependency, object_dependency
from crmctl.kinds.formulas import (
    formula_dependencies,
    formula_diagnostics,
    formula_related_dependencies,
)
from crmctl.model import Resource

__all__ = ["ValidationRuleKind"]


class ValidationRuleKind(KindHandler):
    kind = "ValidationRule"

    def normalise(self, spec: dict[str, Any]) -> dict[str, Any]:
        # Whitespace around a formula means nothing, and tools drop it (the Salesforce CLI
        # trims the XML text it converts): a YAML block's final newline is no change.
        if isinstance(spec.get("condition"), str):
            spec["condition"] = spec["condition"].strip()
        return spec

    def object_of(self, name: str) -> str | None:
        return name.partition(".")[0]

    def dependencies(self, resource: Resource, dialect: str = DEFAULT_DIALECT) -> set[str]:
        obj = resource.name.partition(".")[0]
        deps = formula_dependencies(resource.spec.get("condition"), obj, dialect)
        error_field = resource.spec.get("errorField")
        for dep in (
            object_dependency(obj, dialect),
            field_dependency(obj, error_field, dialect) if error_field else None,
        ):
            if dep:
                deps.add(dep)
        return deps

    def ordering_dependencies(self, resource: Resource, index: ConfigIndex) -> set[str]:
        obj = resource.name.partition(".")[0]
        condition = resource.spec.get("condition")
        return self.dependencies(resource, index.dialect) | formula_related_dependencies(
            condition, obj, index
        )

    def check(self, resource: Resource, index: ConfigIndex) -> Iterator[Diagnostic]:
        obj = resource.name.partition(".")[0]
        if not index.has_object(obj):
            yield self.error(
                resource,
                f"object '{obj}' is neither declared as a CustomObject nor a standard object",
            )
            return
        yield from formula_diagnostics(resource, ("condition",), obj, index)
        error_field = resource.spec.get("errorField")
        if isinstance(error_field, str) and index.field(obj, error_field) is None:
            yield self.error(
                resource, f"errorField '{error_field}' is not a field of {obj}", "errorField"
            )
