import json

import pytest
from jsonschema import Draft202012Validator

from crmctl.errors import PlanError
from crmctl.model import Resource
from crmctl.plan import PlanInputs, make_plan
from crmctl.plan.encode import plan_from_dict, plan_to_dict, read_plan, write_plan
from crmctl.schemas import schema_dir


def sample_plan():
    desired = {
        "Role/CEO": Resource("Role", "CEO", {"label": "Chief"}),
        "Role/VP": Resource("Role", "VP", {"label": "VP", "parent": "CEO"}),
    }
    live = {
        "Role/CEO": Resource("Role", "CEO", {"label": "CEO"}),
        "Role/Old": Resource("Role", "Old", {"label": "Old"}),
    }
    plan = make_plan(PlanInputs("local", desired, live, managed={"Role/Old"}))
    plan.manifests_digest = "d" * 64
    return plan


def test_round_trip_keeps_every_change(tmp_path):
    plan = sample_plan()
    write_plan(plan, tmp_path / "plan.json")
    again = read_plan(tmp_path / "plan.json")
    assert plan_to_dict(again) == plan_to_dict(plan)
    assert [(c.action.value, c.address) for c in again.changes] == [
        ("~", "Role/CEO"),
        ("+", "Role/VP"),
        ("-", "Role/Old"),
    ]


def test_encoded_plan_matches_the_published_schema():
    schema = json.loads((schema_dir() / "plan.json").read_text())
    Draft202012Validator.check_schema(schema)
    Draft202012Validator(schema).validate(plan_to_dict(sample_plan()))


def test_unreadable_plan_files_are_clear_errors(tmp_path):
    with pytest.raises(PlanError, match=r"plan file .*missing.json does not exist"):
        read_plan(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(PlanError, match=r"is not valid JSON \(line 1: Expecting property name"):
        read_plan(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text('{"formatVersion": 99}')
    with pytest.raises(PlanError, match="is not a crmctl plan of format version 1"):
        read_plan(tmp_path / "other.json")
    data = plan_to_dict(sample_plan())
    data["changes"][0]["action"] = "explode"
    with pytest.raises(
        PlanError, match=r"not a crmctl plan file: changes/0/action: 'explode' is not one of"
    ):
        plan_from_dict(data)
