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
