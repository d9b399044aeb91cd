"""`recover --finish` carries out the interrupted plan only with its approvals, verified again.

The journal of an interrupted apply is a local file: a plan widened in it
must not be finished on the strength of the approvals of the original.
"""

from __future__ import annotations

import json

from crmctl.config.environment import load_environment
from crmctl.executor import journal_state, snapshot
from crmctl.workspace import Workspace
from tests.governance.test_approvals import TOMAS, approve, grant_tier_edit


def interrupted_apply(root) -> Workspace:
    """An apply of the current plan that stopped right after writing its journal."""
    workspace = Workspace(load_environment("gov", root))
    plan = workspace.plan()
    before = snapshot(workspace.read_live().values())
    workspace.journal.start(journal_state("gov", "someone@example.com", plan, before))
    workspace.close()
    return workspace


def test_recover_finish_refuses_a_plan_widened_in_the_journal(governed, crmctl):
    grant_tier_edit(governed)
    approve(crmctl, TOMAS, "security-officer")
    workspace = interrupted_apply(governed)
    data = json.loads(workspace.journal.data_path.read_text())
    change = data["plan"]["changes"][0]
    change["after"]["system"] = [*change["after"].get("system", []), "ModifyAllData"]
    workspace.journal.data_path.write_text(json.dumps(data))
    refused = crmctl("recover", "-e", "gov", "--finish")
    assert refused.exit_code == 1
    assert (
        "  - PermissionSet/Sales_Rep: security-officer: stale: tomas.berg@northwind.example "
        "approved an earlier version of the desired spec\n"
    ) in refused.err


def test_recover_finish_uses_the_approvals_of_the_interrupted_apply(governed, crmctl):
    grant_tier_edit(governed)
    approve(crmctl, TOMAS, "security-officer")
    interrupted_apply(governed)
    done = crmctl("recover", "-e", "gov", "--finish")
    assert done.exit_code == 0, done.output
    meta = json.loads((governed / ".crmctl/history/gov/versions/000002/meta.json").read_text())
    assert [a["approver"] for a in meta["approvals"]] == [TOMAS]
