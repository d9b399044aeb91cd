"""Which policy rules a change matches, and so which approvals it needs. Pure.

Content criteria look at what the change *does*:

- `classifications`: a CustomField whose classification before or after is
  one of them; a PermissionSet change that grants (adds) a field permission
  on a field with one of them.
- `systemPermissions`: a PermissionSet change that grants one of them.
- `objectPermissions`: a PermissionSet change that grants one of them on
  any object.
- `accessWidening`: a change that widens effective access (a user gains read
  or edit) to an existing field of one of these classifications, as the plan's
  "access widening" warnings say: the caller computes which changes do
  (`crmctl.access.widening.widening_changes`), with the CRM's own access rules.

The `impact` criterion looks at what the change does to stored records
(crmctl.impact): it holds when a finding crosses the rule's percent or
record threshold, or when the impact is unknown (not measured, or a rule
that could not be evaluated).

"Grants" means present after the change and not before it (everything a
created permission set holds is granted). Field classifications come from
the caller (the desired state and the live fields the plan saw); a grant is
also judged on the classification in effect now, so relabelling a field in
the manifests and leaving the relabel out of the apply (--target) cannot
lower what a grant on it needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from crmctl.governance.policy import POLICY_OWNERS_RULE, Policy, Rule
from crmctl.impact.model import ChangeImpact
from crmctl.plan import Change

#: Impacts by change address; None: not measured (every impact criterion holds).
Impacts = Mapping[str, ChangeImpact] | None

__all__ = [
    "Impacts",
    "Requirement",
    "impact_crosses",
    "requirements_for",
    "policy_requirements",
    "required_roles",
]


@dataclass(frozen=True)
class Requirement:
    """What one matched rule asks for: each of `roles`, and `min_approvers` distinct people."""

    rule: str
    roles: tuple[str, ...]
    min_approvers: int = 1


def _spec(spec: dict[str, Any] | None, key: str) -> Any:
    return (spec or {}).get(key) or {}


def _granted_fields(change: Change) -> set[str]:
    before, after = _spec(change.before, "fields"), _spec(change.after, "fields")
    return {
        qualified
        for qualified, perms in after.items()
        if set(perms) - set(before.get(qualified, ()))
    }


def _granted_system(change: Change) -> set[str]:
    return set(_spec(change.after, "system")) - set(_spec(change.before, "system"))


def _granted_object_permissions(change: Change) -> set[str]:
    before, after = _spec(change.before, "objects"), _spec(change.after, "objects")
    granted: set[str] = set()
    for obj, perms in after.items():
        granted |= set(perms) - set(before.get(obj, ()))
    return granted


def _touches_classification(
    change: Change,
    wanted: Iterable[str],
    classifications: Mapping[str, str],
    in_effect: Mapping[str, str] | None = None,
) -> bool:
    wanted = set(wanted)
    if change.kind == "CustomField":
        return any(
            (spec or {}).get("classification") in wanted for spec in (change.before, change.after)
        )
    if change.kind == "PermissionSet":
        labels = (classifications, in_effect or {})
        return any(
            side.get(f.lower()) in wanted for f in _granted_fields(change) for side in labels
        )
    return False


def _content_matches(
    rule: Rule,
    change: Change,
    classifications: Mapping[str, str],
    widened: Mapping[str, set[str]] | None = None,
    in_effect: Mapping[str, str] | None = None,
) -> bool:
    if rule.access_widening and set(rule.access_widening) & (widened or {}).get(
        change.address, set()
    ):
        return True
    if rule.classifications and _touches_classification(
        change, rule.classifications, classifications, in_effect
    ):
        return True
    if change.kind != "PermissionSet":
        return False
    if rule.system_permissions and _granted_system(change) & set(rule.system_permissions):
        return True
    return bool(
        rule.object_permissions
        and _granted_object_permissions(change) & set(rule.object_permissions)
    )


def _name_matches(patterns: Iterable[str], change: Change) -> bool:
    return any(fnmatchcase(change.address if "/" in p else change.name, p) for p in patterns)


def impact_crosses(rule: Rule, impact: ChangeImpact | None) -> bool:
    """Whether a change's impact crosses the rule's threshold (an unknown impact does)."""
    if impact is None:
        return True
    for finding in impact.findings:
        if finding.effect == "not-evaluated":
            return True
        if finding.effect == "no-longer-rejects":
            continue
        if rule.impact_records is not None and finding.count > rule.impact_records:
            return True
        if rule.impact_percent is not None and finding.percent > rule.impact_percent:
            return True
    return False


def rule_matches(
    rule: Rule,
    change: Change,
    classifications: Mapping[str, str],
    impacts: Impacts = None,
    widened: Mapping[str, set[str]] | None = None,
    in_effect: Mapping[str, str] | None = None,
) -> bool:
    """Whether `change` falls under `rule` (see the module docstring for content criteria).

    `impacts`: address -> measured impact (None: not measured).
    `widened`: address -> classifications of the fields whose access the change widens.
    `in_effect`: lower-case field -> the classification in effect now (the CRM's, or the
    label the last apply recorded), which a grant is judged on as well as the manifests'.
    """
    if rule.kinds and change.kind not in rule.kinds:
        return False
    if rule.actions and change.action.word not in rule.actions:
        return False
    if rule.names and not _name_matches(rule.names, change):
        return False
    if rule.has_impact_criterion:
        impact = impacts.get(change.address) if impacts is not None else None
        if impacts is not None and impact is None:
            return False  # measured: a change of a kind that cannot touch records
        if not impact_crosses(rule, impact):
            return False
    return not rule.has_content_criteria or _content_matches(
        rule, change, classifications, widened, in_effect
    )


def requirements_for(
    change: Change,
    policy: Policy,
    classifications: Mapping[str, str],
    impacts: Impacts = None,
    widened: Mapping[str, set[str]] | None = None,
    in_effect: Mapping[str, str] | None = None,
) -> list[Requirement]:
    """The requirements of every rule the change matches, in the policy's order."""
    return [
        Requirement(rule.name, rule.require, rule.min_approvers)
        for rule in policy.rules
        if rule_matches(rule, change, classifications, impacts, widened, in_effect)
    ]


def policy_requirements(owners: Policy) -> list[Requirement]:
    """What a change of the approvals section needs: every policy-owner role of `owners`."""
    if not owners.policy_owners:
        return []
    return [Requirement(POLICY_OWNERS_RULE, owners.policy_owners, 1)]


def required_roles(requirements: Iterable[Requirement]) -> list[str]:
    """Every role the requirements name, once, in order."""
    return list(dict.fromkeys(role for req in requirements for role in req.roles))
