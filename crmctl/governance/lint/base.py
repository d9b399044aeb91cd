"""What every governance lint rule gets and returns: the resources, the settings, Diagnostics.

A rule is a module with an `ID`, a one-line `SUMMARY` and a `check(context)`
generator of Diagnostics (located at the offending key's file and line).
Rules never print; the runner sets each finding's severity from the
environment's `lint:` section.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crmctl.errors import Diagnostic, Severity, SourceLocation
from crmctl.model import Resource

__all__ = ["LintSettings", "LintContext", "finding", "metadata_location", "description_of"]

#: Classifications whose fields hold personal data.
PERSONAL = ("PII", "Sensitive")


@dataclass(frozen=True)
class LintSettings:
    """An environment's `lint:` section: severity per rule (default error) and limits."""

    severities: dict[str, str] = field(default_factory=dict)  # rule id -> error | warning | off
    max_permission_sets_per_user: int = 5

    @classmethod
    def from_section(cls, section: dict[str, Any] | None) -> LintSettings:
        section = section or {}
        return cls(
            severities=dict(section.get("rules") or {}),
            max_permission_sets_per_user=int(section.get("maxPermissionSetsPerUser", 5)),
        )

    def severity(self, rule_id: str) -> Severity | None:
        """The severity of a rule's findings here; None when the rule is off."""
        level = self.severities.get(rule_id, "error")
        return None if level == "off" else Severity(level)


@dataclass
class LintContext:
    """The desired state a rule looks at, and the environment's settings."""

    resources: list[Resource]
    settings: LintSettings = field(default_factory=LintSettings)

    def of_kind(self, kind: str) -> list[Resource]:
        return [r for r in self.resources if r.kind == kind]


def metadata_location(resource: Resource, key: str | None = None) -> SourceLocation | None:
    """Where `metadata.<key>` (or the metadata block) is declared."""
    if resource.source is None:
        return None
    return resource.source.location(("metadata", key) if key else ("metadata",))


def description_of(resource: Resource) -> str:
    """The resource's description: its spec's, else its metadata's ('' when neither)."""
    text = resource.spec.get("description") or resource.metadata.get("description") or ""
    return text.strip() if isinstance(text, str) else ""


def finding(
    rule_id: str,
    resource: Resource,
    message: str,
    location: SourceLocation | None = None,
    hint: str | None = None,
) -> Diagnostic:
    """A lint finding about `resource` (the runner sets its severity)."""
    return Diagnostic(
        f"{message} ({rule_id})",
        location or resource.location(),
        address=resource.address,
        hint=hint,
        code=f"lint/{rule_id}",
    )
