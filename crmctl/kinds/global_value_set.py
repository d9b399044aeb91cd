"""GlobalValueSet: picklist values shared by the picklist fields that name it (`valueSetName`)."""

from __future__ import annotations

from collections.abc import Iterator

from crmctl.errors import Diagnostic
from crmctl.kinds.base import ConfigIndex, KindHandler
from crmctl.kinds.custom_field import picklist_values
from crmctl.model import Resource

__all__ = ["GlobalValueSetKind"]


class GlobalValueSetKind(KindHandler):
    kind = "GlobalValueSet"

    def normalise(self, spec: dict) -> dict:
        if "values" in spec:
            spec["values"] = picklist_values(spec)  # order matters: it is the order users see
        return spec

    def check(self, resource: Resource, index: ConfigIndex) -> Iterator[Diagnostic]:
        seen: dict[str, int] = {}
        defaults = 0
        for i, entry in enumerate(picklist_values(resource.spec)):
            value = str(entry["value"])
            if value.lower() in seen:
                yield self.error(
                    resource,
                    f"value '{value}' is listed twice (values[{seen[value.lower()]}] and values[{i}])",
                    "values",
                    i,
                )
            seen.setdefault(value.lower(), i)
            defaults += bool(entry["default"])
        if defaults > 1:
            yield self.error(
                resource,
                f"a GlobalValueSet can have one default value; {defaults} are marked default",
                "values",
            )
