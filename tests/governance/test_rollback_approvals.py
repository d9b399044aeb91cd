"""A rollback needs the same approvals as any apply; a saved rollback plan is approved with --plan."""

from __future__ import annotations

import json

import yaml

from tests.governance.gitrepo import commit
from tests.governance.test_approvals import PERMS, TOMAS, apply, approve, grant_tier_edit, refusal


def test_rollback_is_refused_without_approval_then_applies_once_approved(governed, crmctl):
    grant_tier_edit(governed)
    commit(governed, TOMAS, "Approve", approve(crmctl, TOMAS, "security-officer"))
    assert apply(crmctl).exit_code == 0  # v2 of gov: Sales_Rep may edit the tier

    refused = crmctl("rollback", "-e", "gov", "--to", "v2", "--auto-approve")
    assert refused.exit_code == 0, refused.output  # nothing to do: the CRM is at v2
    assert refused.out == "No changes: the CRM already matches v2.\n"

    revert = (
        (governed / PERMS)
        .read_text()
        .replace(
            "    Account.Customer_Tier__c: [read, edit]\n", "    Account.Customer_Tier__c: [read]\n"
        )
    )
    (governed / PERMS).write_text(revert)
    commit(
        governed, "maria.garcia@northwind.example", "Reps may not edit the tier after all", PERMS
    )
    commit(governed, TOMAS, "Approve", approve(crmctl, TOMAS, "security-officer"))
    assert apply(crmctl).exit_code == 0  # v3

    blocked = crmctl("rollback", "-e", "gov", "--to", "v2", "--auto-approve")
    assert blocked.exit_code == 1
    assert blocked.err == refusal("PermissionSet/Sales_Rep: security-officer: missing")

    saved = crmctl("rollback", "-e", "gov", "--to", "v2", "--out", "rollback.json")
    assert saved.exit_code == 0, saved.output
    record = approve(
        crmctl, TOMAS, "security-officer", "--plan", "rollback.json", "--ticket", "CHG-77"
    )
    assert (
        yaml.safe_load((governed / record).read_text())["changes"][0]["address"]
        == "PermissionSet/Sales_Rep"
    )
    commit(governed, TOMAS, "Approve the rollback", record)

    done = crmctl("apply", "rollback.json")
    assert done.exit_code == 0, done.output
    assert done.out.endswith(
        "Rollback to v2 complete: 0 added, 1 changed, 0 destroyed. Recorded as v4 of gov.\n"
    )
    shown = crmctl("show", "-e", "gov", "v4")
    assert "Approvals:\n  security-officer: tomas.berg@northwind.example (CHG-77)\n" in shown.out
    meta = json.loads(
        (governed / ".crmctl" / "history" / "gov" / "versions" / "000004" / "meta.json").read_text()
    )
    assert meta["rollbackTo"] == "v2"
    assert [a["approver"] for a in meta["approvals"]] == [TOMAS]
