"""Attacks on saved plans: a plan file is applied only as crmctl made it.

At apply the plan is computed again (manifests at the recorded digest and the
live CRM; for a rollback, the version's recorded snapshot) and the file is
refused unless its changes are identical. Each attack edits a real saved plan
the way someone with write access to the file could, against a sandbox server
on 127.0.0.1; each is refused with exit 1 and nothing reaches the CRM.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crmctl.kinds import HANDLERS
from crmctl.plan import fingerprint
from tests.e2e.helpers import live_specs, manifest, replace_in, write_manifest

PERMISSION_SETS = Path("manifests") / "access" / "permission-sets.yaml"
HINT = (
    "hint: a plan file is applied only as crmctl made it; make a new plan: crmctl plan --out FILE\n"
)
REFUSED = (
    "Error: plan file plan.json: the saved plan is not the plan crmctl computes now from the manifests and the "
    "live CRM; nothing was applied:\n"
)


def _applied_then_saved(project: Path, crmctl) -> dict:
    """Apply the example org, change Sales_Rep's label, save that plan; return the file's JSON."""
    applied = crmctl("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    replace_in(project / PERMISSION_SETS, "label: Sales Representative", "label: Sales Rep")
    saved = crmctl("plan", "--out", "plan.json")
    assert saved.exit_code == 0, saved.output
    data = json.loads((project / "plan.json").read_text())
    assert [c["address"] for c in data["changes"]] == ["PermissionSet/Sales_Rep"]
    return data


def _write(project: Path, data: dict) -> None:
    (project / "plan.json").write_text(json.dumps(data, indent=2))


def test_saved_plan_with_modify_all_data_added_to_after_is_refused(
    http_project, sandbox_server, crmctl
):
    data = _applied_then_saved(http_project, crmctl)
    change = data["changes"][0]
    change["after"]["system"] = sorted([*change["after"].get("system", []), "ModifyAllData"])
    _write(http_project, data)
    before = live_specs(sandbox_server.store)

    result = crmctl("apply", "plan.json")

    assert result.exit_code == 1
    assert result.err == (
        REFUSED + "  - PermissionSet/Sales_Rep: its `after` differs in system\n" + HINT
    )
    assert live_specs(sandbox_server.store) == before
    assert "ModifyAllData" not in before["PermissionSet/Sales_Rep"].get("system", [])


def test_saved_plan_with_an_injected_permission_set_is_refused(
    http_project, sandbox_server, crmctl
):
    data = _applied_then_saved(http_project, crmctl)
    after = HANDLERS["PermissionSet"].canonical(
        {"label": "Backdoor", "system": ["ModifyAllData", "ViewAllData"]}, "Backdoor"
    )
    injected = {
        **data["changes"][0],
        "address": "PermissionSet/Backdoor",
        "name": "Backdoor",
        "action": "create",
        "symbol": "+",
        "before": None,
        "after": after,
        "diff": [],
        "liveFingerprint": None,
    }
    data["changes"].append(injected)
    _write(http_project, data)
    before = live_specs(sandbox_server.store)

    result = crmctl("apply", "plan.json")

    assert result.exit_code == 1
    assert result.err == (
        REFUSED + "  - PermissionSet/Backdoor: the file would create it; the plan computed now "
        "has no change to it\n" + HINT
    )
    assert live_specs(sandbox_server.store) == before
    assert "PermissionSet/Backdoor" not in before


def test_saved_plan_with_an_injected_delete_of_a_protected_object_is_refused(
    http_project, sandbox_server, crmctl
):
    env_file = http_project / "environments" / "e2e.yaml"
    replace_in(env_file, "protect: [Role/CEO]", "protect: [Role/CEO, CustomObject/*]")
    data = _applied_then_saved(http_project, crmctl)
    live = live_specs(sandbox_server.store)["CustomObject/Invoice__c"]
    spec = HANDLERS["CustomObject"].canonical(live, "Invoice__c")
    data["changes"].insert(
        0,
        {
            "address": "CustomObject/Invoice__c",
            "kind": "CustomObject",
            "name": "Invoice__c",
            "action": "delete",
            "symbol": "-",
            "reason": "removed from the manifests (crmctl manages it)",
            "before": spec,
            "after": None,
            "diff": [],
            "liveFingerprint": fingerprint(spec),  # fresh: the staleness check alone passes it
        },
    )
    _write(http_project, data)
    before = live_specs(sandbox_server.store)

    result = crmctl("apply", "plan.json")

    assert result.exit_code == 1
    assert result.err == (
        REFUSED + "  - CustomObject/Invoice__c: the file would delete it; the plan computed now "
        "has no change to it\n" + HINT
    )
    assert live_specs(sandbox_server.store) == before


def test_saved_plan_posing_as_a_rollback_to_skip_the_digest_is_refused(
    http_project, sandbox_server, crmctl
):
    data = _applied_then_saved(http_project, crmctl)
    data["changes"][0]["after"]["system"] = ["ModifyAllData"]
    data["rollbackTo"], data["manifestsDigest"] = "v1", ""
    _write(http_project, data)
    before = live_specs(sandbox_server.store)

    result = crmctl("apply", "plan.json")

    assert result.exit_code == 1
    assert result.err == (
        "Error: plan file plan.json: the saved plan is stale; nothing was applied:\n"
        "  - the rollback plan to v1 records no snapshot digest (made by an older crmctl, or edited)\n"
        "hint: make a new plan: crmctl plan --out FILE\n"
    )
    assert live_specs(sandbox_server.store) == before


def test_saved_plan_posing_as_a_rollback_with_a_real_snapshot_digest_is_refused(
    http_project, sandbox_server, crmctl
):
    """Even with v1's true snapshot digest, the changes must be those of a rollback to v1."""
    data = _applied_then_saved(http_project, crmctl)
    assert crmctl("rollback", "--to", "v1", "--out", "back.json").exit_code == 0
    digest = json.loads((http_project / "back.json").read_text())["snapshotDigest"]
    data["changes"][0]["after"]["system"] = ["ModifyAllData"]
    data["rollbackTo"], data["manifestsDigest"], data["snapshotDigest"] = "v1", "", digest
    _write(http_project, data)
    before = live_specs(sandbox_server.store)

    result = crmctl("apply", "plan.json")

    assert result.exit_code == 1
    assert result.err == (
        "Error: plan file plan.json: the saved plan is not the plan crmctl computes now from the recorded snapshot "
        "of v1 and the live CRM; nothing was applied:\n"
        "  - PermissionSet/Sales_Rep: the file would update it; the plan computed now has no "
        "change to it\n" + HINT
    )
    assert live_specs(sandbox_server.store) == before


def test_saved_rollback_plan_is_bound_to_the_recorded_snapshot(
    http_project, sandbox_server, crmctl
):
    """Editing the version's snapshot in the history after `rollback --out` is caught."""
    _applied_then_saved(http_project, crmctl)
    assert crmctl("apply", "plan.json").exit_code == 0  # v2: Sales_Rep's label changed
    assert crmctl("rollback", "--to", "v1", "--out", "back.json").exit_code == 0
    after_file = http_project / ".crmctl" / "history" / "e2e" / "versions" / "000001" / "after.json"
    replace_in(after_file, '"Sales Representative"', '"Sales Representatives"')
    before = live_specs(sandbox_server.store)

    result = crmctl("apply", "back.json")

    assert result.exit_code == 1
    assert result.err == (
        "Error: plan file back.json: the saved plan is stale; nothing was applied:\n"
        "  - the recorded snapshot of v1 is not the one the plan was made from\n"
        "hint: make a new plan: crmctl plan --out FILE\n"
    )
    assert live_specs(sandbox_server.store) == before


def test_saved_rollback_plan_is_refused_when_protection_was_added_since(
    http_project, sandbox_server, crmctl
):
    """`protect` is checked again at apply: here on a rollback plan, which no digest covers."""
    assert crmctl("apply", "--auto-approve").exit_code == 0  # v1
    write_manifest(
        http_project,
        "probe.yaml",
        manifest("CustomObject", "Probe__c", label="Probe", pluralLabel="Probes"),
    )
    assert crmctl("apply", "--auto-approve").exit_code == 0  # v2 creates Probe__c
    saved = crmctl("rollback", "--to", "v1", "--out", "back.json")
    assert saved.exit_code == 0, saved.output
    changes = json.loads((http_project / "back.json").read_text())["changes"]
    assert [(c["action"], c["address"]) for c in changes] == [("delete", "CustomObject/Probe__c")]
    replace_in(
        http_project / "environments" / "e2e.yaml",
        "protect: [Role/CEO]",
        "protect: [Role/CEO, CustomObject/Probe__c]",
    )
    before = live_specs(sandbox_server.store)

    result = crmctl("apply", "back.json")

    assert result.exit_code == 1
    assert result.err == (
        "Error: the plan has errors and cannot be applied; nothing was applied\n"
        "environments/e2e.yaml:7: CustomObject/Probe__c: refusing to delete a protected "
        "resource (protect: CustomObject/Probe__c)\n"
        "  hint: remove it from the environment's protect list first, or keep it in the manifests\n"
    )
    assert live_specs(sandbox_server.store) == before
    assert "CustomObject/Probe__c" in before


def test_an_untouched_saved_plan_applies_the_recomputed_plan(http_project, sandbox_server, crmctl):
    _applied_then_saved(http_project, crmctl)
    result = crmctl("apply", "plan.json")
    assert result.exit_code == 0, result.output
    assert live_specs(sandbox_server.store)["PermissionSet/Sales_Rep"]["label"] == "Sales Rep"


def test_saved_plan_binding_is_the_library_s_not_the_cli_s(http_project, sandbox_server, crmctl):
    """A program calling the library gets the same refusal, and the recomputed plan otherwise."""
    from crmctl.config.environment import load_environment
    from crmctl.errors import PlanError
    from crmctl.plan.encode import plan_from_dict
    from crmctl.workspace import Workspace

    data = _applied_then_saved(http_project, crmctl)
    workspace = Workspace(load_environment("e2e", http_project))
    try:
        bound = workspace.bind_saved(plan_from_dict(data))
        assert [(c.action.word, c.address) for c in bound.changes] == [
            ("update", "PermissionSet/Sales_Rep")
        ]
        data["changes"][0]["after"]["label"] = "Owner of everything"
        with pytest.raises(PlanError) as refused:
            workspace.bind_saved(plan_from_dict(data))
    finally:
        workspace.close()
    assert str(refused.value).endswith("  - PermissionSet/Sales_Rep: its `after` differs in label")


def test_a_saved_targeted_plan_is_recomputed_with_its_targets(http_project, sandbox_server, crmctl):
    assert crmctl("plan", "--target", "Role/*", "--out", "roles.json").exit_code == 0
    result = crmctl("apply", "roles.json")
    assert result.exit_code == 0, result.output
    assert {a.split("/")[0] for a in live_specs(sandbox_server.store)} == {"Role"}
