"""Governance: approval policy, approval status and lint. Pure, except where named.

- `policy`, `matching`: what an environment's policy asks of a change.
- `records`: approval records (YAML files under approvals/<env>/, signed over
  their canonical content), read and written.
- `sshsig`: OpenSSH signatures made and checked with `ssh-keygen -Y`.
- `facts`, `status`, `breakglass`, `policy_change`: what the records, the
  signatures and the git facts mean for each change — pure decisions.
- `lint`: governance rules over the manifests.
- `gitverify` (GitPython) gathers the git facts (who asked for a change),
  `verify` wires facts, signatures and decisions together, and `gate` is the
  approval gate `Workspace.apply` runs before every apply; they are the only
  modules here that reach git.
"""

from __future__ import annotations

from crmctl.governance.matching import Requirement, required_roles, requirements_for
from crmctl.governance.policy import BreakGlass, Policy, Rule
from crmctl.governance.status import approvals_used, change_status, plan_problems

__all__ = [
    "BreakGlass",
    "Policy",
    "Requirement",
    "Rule",
    "approvals_used",
    "change_status",
    "plan_problems",
    "required_roles",
    "requirements_for",
]
