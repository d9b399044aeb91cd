"""CustomObject: a custom table of the CRM."""

from __future__ import annotations

from typing import Any

from crmctl.kinds.base import KindHandler

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
        prefix, underscore, _ = name.partition("_")
        if underscore and not name.endswith("__c"):
            spec.setdefault("primaryColumn", f"{prefix}_name")
        return spec
