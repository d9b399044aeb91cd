"""StandardField: what an org customises of a standard field (`Account.Industry`).

Salesforce lets admins customise a standard field's help text and its history
and feed tracking through the Metadata API; its label, type and picklist
values are Salesforce's (standard picklist values are a StandardValueSet,
which crmctl does not manage). crmctl manages the standard fields of the
standard objects it lists (`kinds.standard`). Removing a StandardField from
the manifests resets it: no help text, no tracking.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from crmctl.errors import Diagnostic
from crmctl.kinds.base import ConfigIndex, KindHandler
from crmctl.kinds.standard import STANDARD_OBJECTS
from crmctl.model import Resource

__all__ = ["StandardFieldKind", "customised", "CUSTOMISABLE_SYSTEM_FIELDS"]

_OBJECTS = {name.lower(): name for name in STANDARD_OBJECTS}
#: Fields every object has whose tracking an admin can turn on (the others are the server's).
CUSTOMISABLE_SYSTEM_FIELDS = ("Name", "OwnerId")


def customised(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec without what is Salesforce's default (no help text, no tracking)."""
    return {k: v for k, v in spec.items() if v not in (False, None, "")}


class StandardFieldKind(KindHandler):
    kind = "StandardField"

    def object_of(self, name: str) -> str | None:
        return name.partition(".")[0]

    def normalise(self, spec: dict[str, Any]) -> dict[str, Any]:
        return customised(spec)

    def check(self, resource: Resource, index: ConfigIndex) -> Iterator[Diagnostic]:
        obj, _, field = resource.name.partition(".")
        declared = _OBJECTS.get(obj.lower())
        if declared is None:
            yield self.error(
                resource,
                f"crmctl manages standard fields of {', '.join(sorted(STANDARD_OBJECTS))} only; "
                f"'{obj}' is not one of them",
            )
            return
        fields = {
            name.lower() for name in (*STANDARD_OBJECTS[declared], *CUSTOMISABLE_SYSTEM_FIELDS)
        }
        if field.lower() not in fields:
            yield self.error(
                resource,
                f"'{field}' is not a standard field of {declared} that crmctl knows",
                hint="custom fields are CustomFields (Object.Field__c)",
            )
        if not customised(resource.spec):
            yield self.error(
                resource,
                "customises nothing (no helpText, no tracking): leave the field out of the "
                "manifests",
            )
