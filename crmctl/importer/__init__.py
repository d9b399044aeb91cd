"""`crmctl import`: manifests written from the live CRM (whole org, or selected resources),
or converted from another tool's format (`sfdx`: a Salesforce DX project)."""

from __future__ import annotations

from crmctl.importer.document import dump_document, manifest_document, reviewable_spec
from crmctl.importer.layout import layout_path

__all__ = ["dump_document", "layout_path", "manifest_document", "reviewable_spec"]
