"""CustomObject: a custom table of the CRM."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from crmctl.dialect import DATAVERSE, microsoft_prefix, publisher_prefix
from crmctl.errors import Diagnostic
from crmctl.kinds.base import ConfigIndex, KindHandler
from crmctl.model import Resource

__all__ = ["CustomObjectKind"]


class CustomObjectKind(KindHandler):
    kind = "CustomObject"

    def normalise(self, spec: dict[str, Any]) -> dict[str, Any]:
        label = spec.get("label", "")
        spec.setdefault("pluralLabel", f"{label}s")
        record_name = {"label": f"{label} Name", "type": "Text", **spec.get("recordName", {})}
        spec["recordName"] = record_name
        return spec

    def normalise_named(self, spec: dict[str, Any], name: str) -> dict[str, Any]:
        # A Dataverse table (nw_invoice: a publisher prefix, no __c) is created with its
        # primary name column, nw_name unless told otherwise: saying so is the same table.
        # (A CustomObject's name is a custom table's in its dialect, so the name tells.)
        prefix = publisher_prefix(name)
        if prefix is not None:
            spec.setdefault("primaryColumn", f"{prefix}_name")
        return spec

    def check(self, resource: Resource, index: ConfigIndex) -> Iterator[Diagnostic]:
        yield from microsoft_name_problems(resource, resource.name, index)


def microsoft_name_problems(
    resource: Resource, name: str, index: ConfigIndex
) -> Iterator[Diagnostic]:
    """A Dataverse table or column declared in Microsoft's own namespace (`msdyn_`…)."""
    prefix = microsoft_prefix(name) if index.dialect == DATAVERSE else None
    if prefix is not None:
        what = "table" if resource.kind == "CustomObject" else "column"
        where = resource.source.location(("metadata", "name")) if resource.source else None
        yield Diagnostic(
            f"{prefix}_ is the prefix of Microsoft's own tables and columns (Dynamics 365 "
            f"apps, Power Pages, Customer Voice), not a publisher's: a {resource.kind} "
            f"creates a {what} of your publisher",
            where or resource.location(),
            resource.address,
            hint=f"name it with your publisher's prefix; Microsoft's {what}s need no declaration",
            code="dataverse-name",
        )
