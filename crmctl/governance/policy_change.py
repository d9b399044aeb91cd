"""The environment file is governed too: a changed approvals section needs its policy owners.

The change is modelled as a pseudo-change `Environment/<name>` (never
applied to the CRM) whose before and after are the previous and the current
approvals section, so it is approved, verified and reported like any other
change. The previous section is found in git (see `gitverify.policy_baseline`).

Who must approve is decided by the policy *before* the change: its
`policyOwners`, held by its `roles`, so nobody can approve their own
promotion. When the previous section named no policy owners (a policy being
introduced), the new section's owners approve it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from crmctl.errors import SourceLocation
from crmctl.governance.facts import PolicyBaseline
from crmctl.governance.policy import Policy
from crmctl.plan import Action, Change, diff_specs, fingerprint

__all__ = ["ENVIRONMENT_KIND", "policy_change", "owners_policy"]

ENVIRONMENT_KIND = "Environment"


def owners_policy(env: str, current: dict[str, Any] | None, baseline: PolicyBaseline) -> Policy:
    """The policy whose owners must approve the change from `baseline` to `current`."""
    before = Policy.from_section(env, baseline.section)
    if before.policy_owners:
        return replace(before, name=f"{env}'s policy before this change")
    return Policy.from_section(env, current)


def policy_change(
    env: str,
    current: dict[str, Any] | None,
    baseline: PolicyBaseline | None,
    source: SourceLocation | None = None,
) -> Change | None:
    """The pseudo-change `Environment/<env>`, or None when the approvals section did not change."""
    if baseline is None or (baseline.section or {}) == (current or {}):
        return None
    before, after = baseline.section or {}, current or {}
    return Change(
        kind=ENVIRONMENT_KIND,
        name=env,
        action=Action.UPDATE,
        before=before,
        after=after,
        diffs=diff_specs(before, after),
        live_fingerprint=fingerprint(before),
        reason=f"the approvals section changed {baseline.since}",
        source=source,
    )
