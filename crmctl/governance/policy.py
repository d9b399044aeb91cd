"""An environment's approval policy (its `approvals:` section), read into plain values.

The environment file's schema has already checked the shape; this module
only gives the section names a reviewer would use and fills in defaults.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from crmctl.kinds.system_permissions import expand

__all__ = ["Policy", "Rule", "BreakGlass", "POLICY_OWNERS_RULE"]

#: The rule name shown for the policy owners' approval of a changed policy.
POLICY_OWNERS_RULE = "policy-owners"


@dataclass(frozen=True)
class Rule:
    """Which changes need which roles.

    Every criterion given must hold (kinds, actions, names, impact); of the
    content criteria (classifications, systemPermissions, objectPermissions,
    accessWidening) one is enough. A rule without `match` applies to every change.

    `impact` holds when the change's measured effect on stored records
    crosses a threshold: more than `impact_percent` % of an object's records,
    or more than `impact_records` records (crmctl.impact). When the impact
    could not be measured it holds too: an unknown impact is not a small one.
    """

    name: str
    require: tuple[str, ...]
    min_approvers: int = 1
    description: str = ""
    kinds: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    classifications: tuple[str, ...] = ()
    system_permissions: tuple[str, ...] = ()
    object_permissions: tuple[str, ...] = ()
    impact_percent: float | None = None
    impact_records: int | None = None
    access_widening: tuple[str, ...] = ()  # classifications whose effective access widens

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rule:
        match = data.get("match") or {}
        impact = match.get("impact") or {}
        return cls(
            name=data["name"],
            require=tuple(data["require"]),
            min_approvers=int(data.get("minApprovers", 1)),
            description=data.get("description", ""),
            kinds=tuple(match.get("kinds", ())),
            actions=tuple(match.get("actions", ())),
            names=tuple(match.get("names", ())),
            classifications=tuple(match.get("classifications", ())),
            system_permissions=expand(match.get("systemPermissions", ())),
            object_permissions=tuple(match.get("objectPermissions", ())),
            impact_percent=impact.get("percent"),
            impact_records=impact.get("records"),
            access_widening=tuple(match.get("accessWidening", ())),
        )

    @property
    def has_impact_criterion(self) -> bool:
        return self.impact_percent is not None or self.impact_records is not None

    @property
    def has_content_criteria(self) -> bool:
        return bool(
            self.classifications
            or self.system_permissions
            or self.object_permissions
            or self.access_widening
        )


@dataclass(frozen=True)
class BreakGlass:
    """Who may apply without the missing approvals in an emergency, and how soon it is reviewed."""

    enabled: bool = False
    role: str | None = None
    review_within_days: int = 2

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> BreakGlass:
        data = data or {}
        days = re.fullmatch(r"P(\d+)D", data.get("reviewWithin", "P2D"))
        return cls(
            enabled=bool(data.get("enabled", False)),
            role=data.get("role"),
            review_within_days=int(days.group(1)) if days else 2,
        )


@dataclass(frozen=True)
class Policy:
    """The approval policy of one environment."""

    environment: str
    roles: dict[str, tuple[str, ...]] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()
    separation_of_duties: bool = True
    require_signed_commits: bool = False
    allow_unsigned_approvals: bool = False
    policy_owners: tuple[str, ...] = ()
    break_glass: BreakGlass = BreakGlass()
    name: str = ""  # how messages call it; default "<env>'s policy"

    @classmethod
    def from_section(cls, environment: str, section: dict[str, Any] | None) -> Policy:
        """The policy of an `approvals:` section (None or {} is the empty policy)."""
        section = section or {}
        return cls(
            environment=environment,
            roles={role: tuple(emails) for role, emails in (section.get("roles") or {}).items()},
            rules=tuple(Rule.from_dict(r) for r in section.get("rules") or ()),
            separation_of_duties=bool(section.get("separationOfDuties", True)),
            require_signed_commits=bool(section.get("requireSignedCommits", False)),
            allow_unsigned_approvals=bool(section.get("allowUnsignedApprovals", False)),
            policy_owners=tuple(section.get("policyOwners") or ()),
            break_glass=BreakGlass.from_dict(section.get("breakGlass")),
        )

    @property
    def title(self) -> str:
        return self.name or f"{self.environment}'s policy"

    @property
    def active(self) -> bool:
        """Whether any change needs an approval at all (an environment without rules needs none)."""
        return bool(self.rules)

    @property
    def measures_impact(self) -> bool:
        """Whether a rule's match depends on the changes' impact on stored records."""
        return any(rule.has_impact_criterion for rule in self.rules)

    @property
    def governed(self) -> bool:
        """Whether the environment has approval rules or policy owners to protect."""
        return bool(self.rules or self.policy_owners)

    def holders(self, role: str) -> tuple[str, ...]:
        return self.roles.get(role, ())

    def holds(self, email: str | None, role: str) -> bool:
        """Whether `email` holds `role` (emails compare case-insensitively)."""
        if not email:
            return False
        return email.lower() in {e.lower() for e in self.holders(role)}

    def role_names(self) -> list[str]:
        """Every role the policy names: holders, rules, policy owners and break-glass."""
        named = [
            *self.roles,
            *(role for rule in self.rules for role in rule.require),
            *self.policy_owners,
            *([self.break_glass.role] if self.break_glass.role else []),
        ]
        return list(dict.fromkeys(named))

    def unknown_role(self, role: str) -> str | None:
        """Why `role` is not a role of this policy (with the closest one), or None if it is."""
        names = self.role_names()
        if role in names:
            return None
        close = difflib.get_close_matches(role, names, n=1, cutoff=0.6)
        known = f"roles: {', '.join(names)}" if names else "the policy names no roles"
        return f"did you mean '{close[0]}'? ({known})" if close else known
