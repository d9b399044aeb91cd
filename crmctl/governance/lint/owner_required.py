"""owner-required: every resource names the team accountable for it (`metadata.owner`)."""

from __future__ import annotations

from collections.abc import Iterator

from crmctl.errors import Diagnostic
from crmctl.governance.lint.base import LintContext, finding, metadata_location

ID = "owner-required"
SUMMARY = "every resource has an owner (metadata.owner)"


def check(context: LintContext) -> Iterator[Diagnostic]:
    for resource in context.resources:
        owner = resource.metadata.get("owner")
        if not isinstance(owner, str) or not owner.strip():
            yield finding(
                ID,
                resource,
                "has no owner",
                metadata_location(resource),
                hint="set metadata.owner to the team accountable for it, e.g. owner: sales-ops",
            )
