"""RetentionPolicy: how long records of an object are kept, and what happens after."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from crmctl.dialect import DEFAULT_DIALECT
from crmctl.errors import Diagnostic
from crmctl.kinds.base import ConfigIndex, KindHandler, field_dependency, object_dependency
from crmctl.kinds.formulas import formula_dependencies, formula_diagnostics
from crmctl.model import Resource

__all__ = ["RetentionPolicyKind", "period_problem", "MAX_RETENTION_DAYS"]

_PERIOD = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$")
#: A century, in days: longer is no retention policy at all, and date arithmetic
#: on it would leave the calendar.
MAX_RETENTION_DAYS = 36525
_DAYS_PER = (365.25, 30.4375, 7, 1)  # a year, a month, a week, a day, on average
_PERIOD_HINT = "retain must be more than zero and at most a century, e.g. P7Y, P18M or P90D"


def period_problem(retain: object) -> str | None:
    """Why an ISO-8601 retention period is unusable (zero, or over a century), or None."""
    if not isinstance(retain, str):
        return None
    match = _PERIOD.match(retain)
    if match is None:
        return None  # the schema reports the format
    parts = match.groups()
    if any(part is not None and len(part) > 6 for part in parts):
        return f"retain {retain[:20]}{'...' * (len(retain) > 20)} is more than a century"
    days = sum(int(part) * per for part, per in zip(parts, _DAYS_PER, strict=True) if part)
    if days <= 0:
        return f"retain {retain} is zero: records would be deleted as soon as they are written"
    if days > MAX_RETENTION_DAYS:
        return f"retain {retain} is more than a century"
    return None


class RetentionPolicyKind(KindHandler):
    kind = "RetentionPolicy"

    def normalise(self, spec: dict[str, Any]) -> dict[str, Any]:
        if "anonymizeFields" in spec:
            spec["anonymizeFields"] = sorted(set(spec["anonymizeFields"]))
        return spec

    def dependencies(self, resource: Resource, dialect: str = DEFAULT_DIALECT) -> set[str]:
        spec = resource.spec
        obj = spec.get("object")
        if not isinstance(obj, str):
            return set()
        fields = [spec.get("dateField"), *spec.get("anonymizeFields", [])]
        deps = {object_dependency(obj, dialect)} | {
            field_dependency(obj, f, dialect) for f in fields if isinstance(f, str)
        }
        deps |= formula_dependencies(spec.get("filter"), obj, dialect)
        deps.discard(None)
        return deps  # type: ignore[return-value]

    def check(self, resource: Resource, index: ConfigIndex) -> Iterator[Diagnostic]:
        spec = resource.spec
        problem = period_problem(spec.get("retain"))
        if problem:
            yield self.error(resource, problem, "retain", hint=_PERIOD_HINT)
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
