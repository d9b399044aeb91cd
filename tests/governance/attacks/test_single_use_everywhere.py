"""Approvals are used once, on every runner: the history remote remembers them."""

from __future__ import annotations

import shutil

from crmctl.sandbox.store import SandboxStore
from tests.e2e.helpers import replace_in
from tests.governance.gitrepo import AUTHOR, commit
from tests.governance.test_approvals import TOMAS, apply, approve, grant_tier_edit, refusal

ENV = "environments/gov.yaml"


def _undo_by_hand(root) -> None:
    """Someone sets the live permission set back to what it was before the apply."""
    store = SandboxStore.open(root / ".crmctl" / "sandbox.db")
    try:
        spec = {
            i["name"]: i["spec"] for i in store.list_all_config() if i["kind"] == "PermissionSet"
        }
        fields = dict(spec["Sales_Rep"]["fields"])
        fields["Account.Customer_Tier__c"] = ["read"]
        store.put_config(
            "PermissionSet", "Sales_Rep", {**spec["Sales_Rep"], "fields": fields}, "x@y.z"
        )
    finally:
        store.close()


def test_a_fresh_runner_cannot_reuse_a_used_approval(governed, crmctl):
    grant_tier_edit(governed)
    commit(governed, TOMAS, "Approve", approve(crmctl, TOMAS, "security-officer"))
    assert apply(crmctl).exit_code == 0  # v2 uses Tomas's approval
    _undo_by_hand(governed)  # the same change from the same state: the record matches again
    shutil.rmtree(governed / ".crmctl" / "history")  # a fresh CI runner
    refused = apply(crmctl)
    assert refused.exit_code == 1
    assert refused.err == refusal("PermissionSet/Sales_Rep: security-officer: missing")


def test_a_changed_history_path_cannot_reuse_a_used_approval(governed, crmctl):
    grant_tier_edit(governed)
    record = approve(crmctl, TOMAS, "security-officer")
    assert apply(crmctl).exit_code == 0
    _undo_by_hand(governed)
    replace_in(governed / ENV, "  path: .crmctl/history\n", "  path: .crmctl/elsewhere\n")
    # (a history path is not a governance setting; the remote is the same)
    commit(governed, AUTHOR, "Move the local history", ENV)
    shutil.copy(governed / record, governed / "approvals" / "gov" / "copy.yaml")  # and rename it
    refused = apply(crmctl)
    assert refused.err == refusal("PermissionSet/Sales_Rep: security-officer: missing")


def test_a_governed_environment_without_a_history_remote_refuses_to_apply(governed, crmctl):
    text = (governed / ENV).read_text()
    (governed / ENV).write_text(
        "\n".join(line for line in text.splitlines() if "remote:" not in line) + "\n"
    )
    commit(governed, AUTHOR, "No remote", ENV)
    grant_tier_edit(governed)
    approve(crmctl, TOMAS, "security-officer")
    refused = apply(crmctl)
    assert refused.exit_code == 1
    assert refused.err == (
        "Error: gov has approval rules but no history remote; nothing was applied. Approvals are "
        "single-use, and only a history shared by every runner (each CI job, each laptop) shows "
        "which were used already\n"
        "hint: set history.remote in gov.yaml to a git repository every runner can push to, "
        "e.g. history: {remote: git@github.com:northwind/crm-history.git}\n"
    )


def test_the_embedded_local_environment_needs_no_remote(project, crmctl):
    assert "remote" not in (project / "environments" / "local.yaml").read_text()
    assert crmctl("apply", "--auto-approve").exit_code == 0


def test_pointing_the_history_at_a_fresh_remote_needs_the_policy_owners_again(governed, crmctl):
    import subprocess

    fresh = governed.parent / "fresh-remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(fresh)], check=True)
    text = (governed / ENV).read_text()
    old = next(line for line in text.splitlines() if "remote:" in line)
    (governed / ENV).write_text(text.replace(old, f"  remote: {fresh}"))
    commit(governed, AUTHOR, "A new history remote", ENV)
    shutil.rmtree(governed / ".crmctl" / "history")
    grant_tier_edit(governed)
    approve(crmctl, TOMAS, "security-officer", "PermissionSet/*")
    refused = apply(crmctl)
    assert refused.exit_code == 1
    # The first approval of the settings (v1 of the old remote) does not match the new ones.
    assert (
        "  - Environment/gov: security-officer: stale: tomas.berg@northwind.example " in refused.err
    )
