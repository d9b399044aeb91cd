"""The gate is in the apply path: a program calling Workspace.apply is governed like the CLI."""

from __future__ import annotations

import pytest

from crmctl.config.environment import load_environment
from crmctl.errors import ApprovalError
from crmctl.plan.approval_state import APPROVED, ApprovalLine, ApprovalState
from crmctl.sandbox.store import SandboxStore
from crmctl.workspace import Workspace
from tests.governance.test_approvals import TOMAS, approve, grant_tier_edit


def _live_tier(root) -> list[str]:
    store = SandboxStore.open(root / ".crmctl" / "sandbox.db")
    try:
        spec = {
            i["name"]: i["spec"] for i in store.list_all_config() if i["kind"] == "PermissionSet"
        }
        return spec["Sales_Rep"]["fields"]["Account.Customer_Tier__c"]
    finally:
        store.close()


def test_workspace_apply_without_approvals_is_refused(governed):
    grant_tier_edit(governed)
    workspace = Workspace(load_environment("gov", governed))
    try:
        with workspace.locked("apply"):
            plan = workspace.plan()  # never annotated with approvals by anyone
            with pytest.raises(ApprovalError) as refused:
                workspace.apply(plan)
    finally:
        workspace.close()
    assert refused.value.message == (
        "1 required approval is missing or does not count; nothing was applied:\n"
        "  - PermissionSet/Sales_Rep: security-officer: missing"
    )
    assert _live_tier(governed) == ["read"]


def test_approval_notes_forged_on_the_plan_are_ignored(governed):
    grant_tier_edit(governed)
    workspace = Workspace(load_environment("gov", governed))
    try:
        with workspace.locked("apply"):
            plan = workspace.plan()
            plan.changes[0].approvals = ApprovalState(
                ["security-officer"], ["access-changes"],
                lines=[ApprovalLine("security-officer", APPROVED, TOMAS)],
            )  # fmt: skip
            with pytest.raises(ApprovalError) as refused:
                workspace.apply(plan)
    finally:
        workspace.close()
    assert "PermissionSet/Sales_Rep: security-officer: missing" in refused.value.message
    assert _live_tier(governed) == ["read"]


def test_workspace_apply_with_a_signed_approval_goes_ahead(governed, crmctl):
    grant_tier_edit(governed)
    approve(crmctl, TOMAS, "security-officer")
    workspace = Workspace(load_environment("gov", governed))
    try:
        with workspace.locked("apply"):
            outcome = workspace.apply(workspace.plan())
    finally:
        workspace.close()
    assert (outcome.status, outcome.version) == ("applied", 2)
    assert _live_tier(governed) == ["read", "edit"]


def test_an_unsigned_or_mismatched_break_glass_record_is_refused_by_the_library(governed):
    from dataclasses import replace

    from crmctl.governance.gate import break_glass_request
    from crmctl.governance.sshsig import sign
    from tests.governance.keys import key_of
    from tests.governance.test_approvals import PRIYA

    grant_tier_edit(governed)
    workspace = Workspace(load_environment("gov", governed))
    try:
        with workspace.locked("apply"):
            plan = workspace.plan()
            from crmctl.governance.gate import review

            review(workspace.env, plan, workspace.desired().resources, workspace.history)
            record = break_glass_request(workspace.env, plan, PRIYA, "outage")
            with pytest.raises(ApprovalError) as unsigned:
                workspace.apply(plan, break_glass=record)
            other = replace(record, reason="something else")
            mismatched = replace(record, signature=sign(other.payload, key_of(PRIYA)))
            with pytest.raises(ApprovalError) as edited:
                workspace.apply(plan, break_glass=mismatched)
    finally:
        workspace.close()
    assert unsigned.value.message == (
        "the break-glass record does not count: it is not signed; nothing was applied"
    )
    assert edited.value.message == (
        "the break-glass record does not count: its signature does not match its content (it was "
        "changed after it was signed); nothing was applied"
    )
    assert _live_tier(governed) == ["read"]
