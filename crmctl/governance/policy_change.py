"""Governance is governed too: changed governance settings need the policy owners' approval.

The governance settings of an environment are its `approvals`, `provider`,
`protect`, `overrides` and `lint` sections, its history remote, the
project's allowed-signers file (`approvals/allowed_signers`) and the
`credentials` section of the project settings (`crmctl.yaml`). A change to any of them is modelled as a
pseudo-change `Environment/<name>` (never applied to the CRM) whose before
and after are the settings the environment was *last applied with* (recorded
in its history) and the current ones, so it is approved, verified and
reported like any other change. Neither the working tree nor the latest
commit is the baseline: both are what an attacker edits.

Who must approve is decided by the policy *as last applied*: its
`policyOwners`, held by its `roles`, with signatures checked against the
allowed signers as last applied, so nobody can approve their own promotion
or add a key for someone else. When the baseline named no policy owners (a
policy being introduced, or the first apply), the new settings' owners
approve them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from crmctl.errors import SourceLocation
from crmctl.governance.facts import GovernanceBaseline
from crmctl.governance.policy import Policy
from crmctl.plan import Action, Change, diff_specs, fingerprint

__all__ = [
    "ENVIRONMENT_KIND",
    "GOVERNED_SECTIONS",
    "governance_state",
    "signers_text",
    "policy_change",
    "owners_policy",
]

ENVIRONMENT_KIND = "Environment"

#: The environment-file sections whose change needs the policy owners.
GOVERNED_SECTIONS = ("approvals", "provider", "protect", "overrides", "lint")


def _signer_lines(text: str | None) -> list[str]:
    lines = (line.strip() for line in (text or "").splitlines())
    return sorted({" ".join(line.split()) for line in lines if line and not line.startswith("#")})


def governance_state(
    env_data: dict[str, Any], signers: str | None, project: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The governance settings of an environment (what the history records with each apply).

    `project`: the project settings file (`crmctl.yaml`); its `credentials`
    section (which variables may hold secrets) is governed too.
    """
    state = {k: env_data[k] for k in GOVERNED_SECTIONS if env_data.get(k) not in (None, {}, [])}
    # The history remote remembers which approvals were used: pointing it elsewhere is governed.
    remote = (env_data.get("history") or {}).get("remote")
    if remote:
        state["historyRemote"] = remote
    credentials = (project or {}).get("credentials")
    if credentials:
        state["projectCredentials"] = credentials
    state["allowedSigners"] = _signer_lines(signers)
    return state


def signers_text(state: dict[str, Any] | None) -> str:
    """The allowed-signers file recorded in a governance state."""
    return "".join(f"{line}\n" for line in (state or {}).get("allowedSigners", []))


def owners_policy(env: str, current: dict[str, Any], baseline: GovernanceBaseline) -> Policy:
    """The policy whose owners must approve the change from `baseline` to `current`."""
    before = Policy.from_section(env, (baseline.state or {}).get("approvals"))
    if before.policy_owners:
        return replace(before, name=f"{env}'s policy as last applied (v{baseline.version})")
    return Policy.from_section(env, current.get("approvals"))


def policy_change(
    env: str,
    current: dict[str, Any],
    baseline: GovernanceBaseline,
    source: SourceLocation | None = None,
) -> Change | None:
    """The pseudo-change `Environment/<env>`, or None when the governance settings did not change."""
    before = baseline.state or {}
    if before == current:
        return None
    if baseline.state is None:
        reason = (
            "the governance settings were never applied (the first apply of a governed environment)"
        )
    else:
        reason = f"the governance settings changed since v{baseline.version} applied them"
    return Change(
        kind=ENVIRONMENT_KIND,
        name=env,
        action=Action.UPDATE,
        before=before,
        after=current,
        diffs=diff_specs(before, current),
        live_fingerprint=fingerprint(before),
        reason=reason,
        source=source,
    )
