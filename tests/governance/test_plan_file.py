"""Approvals in the saved plan: display only, valid against schemas/plan.json, round-tripped."""

from __future__ import annotations

import json

from jsonschema import Draft202012Validator

from crmctl.plan.encode import plan_to_dict, read_plan
from crmctl.schemas import schema_dir
from tests.governance.gitrepo import commit
from tests.governance.test_approvals import TOMAS, approve, grant_tier_edit
from tests.governance.test_policy_change import promote_author


def test_a_governed_plan_file_matches_the_schema_and_reads_back(governed, crmctl):
    grant_tier_edit(governed)
    promote_author(governed)
    commit(
        governed, TOMAS, "Approve", approve(crmctl, TOMAS, "security-officer", "PermissionSet/*")
    )
    assert crmctl("plan", "-e", "gov", "--out", "plan.json").exit_code == 0
    data = json.loads((governed / "plan.json").read_text())
    Draft202012Validator(json.loads((schema_dir() / "plan.json").read_text())).validate(data)
    assert data["changes"][0]["requires"] == ["security-officer"]
    assert data["changes"][0]["approvals"]["satisfied"] is True
    assert data["policyChange"]["address"] == "Environment/gov"
    assert data["policyChange"]["approvals"]["problems"] == ["security-officer: missing"]
    assert plan_to_dict(read_plan(governed / "plan.json")) == data
