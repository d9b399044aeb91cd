"""show PLANFILE, apply PLANFILE shows the plan first, --format json for apply, show and diff."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.helpers import replace_in


def _roles_plan(crmctl) -> None:
    saved = crmctl("plan", "--target", "Role/*", "--out", "roles.json")
    assert saved.exit_code == 0, saved.output


def test_show_renders_a_saved_plan_file(project: Path, crmctl):
    _roles_plan(crmctl)
    plan = crmctl("plan", "--target", "Role/*")
    created = json.loads((project / "roles.json").read_text())["createdAt"]
    shown = crmctl("show", "roles.json")
    assert (shown.exit_code, shown.err) == (0, "")
    assert shown.out == (
        f"Saved plan roles.json (made {created} by crmctl 0.1.0); crmctl apply roles.json "
        "checks it against the CRM again before applying.\n\n" + plan.out
    )
    as_json = crmctl("show", "roles.json", "--format", "json")
    assert json.loads(as_json.out) == json.loads((project / "roles.json").read_text())


def test_show_names_both_choices_for_something_that_is_neither(project: Path, crmctl):
    result = crmctl("show", "latest")
    assert (result.exit_code, result.err) == (
        1,
        "Error: 'latest' is not a version; versions look like v12\n"
        "hint: crmctl history lists them; a saved plan is shown with: crmctl show FILE.json\n",
    )
    missing = crmctl("show", "nope.json")
    assert (missing.exit_code, missing.err) == (1, "Error: plan file nope.json does not exist\n")


def test_apply_planfile_prints_the_plan_before_applying(project: Path, crmctl):
    _roles_plan(crmctl)
    plan = crmctl("plan", "--target", "Role/*")
    applied = crmctl("apply", "roles.json")
    assert applied.exit_code == 0, applied.output
    assert applied.out.startswith(plan.out + "\nResult:\n  + Role/")
    assert applied.out.endswith("Recorded as v1 of local.\n")


def test_apply_json_is_one_document_with_the_plan_the_result_and_the_version(project: Path, crmctl):
    _roles_plan(crmctl)
    result = crmctl("apply", "roles.json", "--format", "json")
    assert (result.exit_code, result.err) == (0, "")
    document = json.loads(result.out)
    saved = json.loads((project / "roles.json").read_text())
    addresses = [c["address"] for c in saved["changes"]]
    assert {
        k: document[k] for k in ("formatVersion", "environment", "status", "ok", "version")
    } == {
        "formatVersion": 1,
        "environment": "local",
        "status": "applied",
        "ok": True,
        "version": "v1",
    }
    assert document["summary"] == {"added": len(addresses), "changed": 0, "destroyed": 0}
    assert document["result"] == {
        "status": "applied",
        "changes": [{"address": a, "action": "create", "result": "applied"} for a in addresses],
    }
    assert [c["address"] for c in document["plan"]["changes"]] == addresses

    again = crmctl("apply", "--auto-approve", "--target", "Role/*", "--format", "json")
    assert again.exit_code == 0
    assert json.loads(again.out)["changes"] == []  # no changes: the plan document


def test_apply_json_refuses_to_ask_for_confirmation(project: Path, crmctl):
    result = crmctl("apply", "--format", "json")
    assert result.exit_code == 1
    assert result.out == ""
    assert result.err.endswith(
        "Error: --format json cannot ask for confirmation: add --auto-approve, or apply a saved "
        "plan (crmctl plan --out plan.json && crmctl apply plan.json --format json)\n"
    )


def test_show_and_diff_of_versions_as_json(project: Path, crmctl):
    assert crmctl("apply", "--auto-approve", "--target", "Role/*").exit_code == 0
    replace_in(project / "manifests" / "access" / "roles.yaml", "label: VP Sales", "label: VP Sls")
    assert crmctl("apply", "--auto-approve", "--target", "Role/*").exit_code == 0

    shown = json.loads(crmctl("show", "v2", "--format", "json").out)
    assert (shown["formatVersion"], shown["environment"], shown["version"]) == (1, "local", "v2")
    assert shown["meta"]["status"] == "applied"
    assert shown["result"]["changes"] == [
        {"address": "Role/VP_Sales", "action": "update", "result": "applied"}
    ]
    assert shown["snapshotAfter"]["Role/VP_Sales"]["label"] == "VP Sls"

    diffed = crmctl("diff", "v1", "v2", "--format", "json")
    assert diffed.exit_code == 0
    document = json.loads(diffed.out)
    assert {k: document[k] for k in ("formatVersion", "environment", "from", "to", "summary")} == {
        "formatVersion": 1,
        "environment": "local",
        "from": "v1",
        "to": "v2",
        "summary": {"added": 0, "changed": 1, "removed": 0},
    }
    [change] = document["changes"]
    assert (change["address"], change["action"], change["diff"]) == (
        "Role/VP_Sales",
        "update",
        [{"path": "label", "change": "changed", "before": "VP Sales", "after": "VP Sls"}],
    )


def test_markdown_of_a_plan_with_errors_opens_with_a_cannot_be_applied_banner(
    project: Path, crmctl
):
    result = crmctl("plan", "--format", "markdown", "--target", "Role/Nope")
    assert result.exit_code == 1
    assert result.out.startswith(
        "### crmctl plan for `local`\n"
        "\n"
        "> ❌ **This plan cannot be applied**: 1 error.\n"
        ">\n"
        "> - --target Role/Nope matches no resource in the manifests or the CRM\n"
        "\n"
        "**No changes planned.**\n"
    )
    assert "- [" not in result.out


def refuse_a_delete(project: Path) -> str:
    """After a first apply: the manifests drop a field a hand-made rule uses (the CRM refuses
    that delete) and change two other resources. Returns the refusal."""
    from crmctl.sandbox.store import SandboxStore

    assert crmctl_ok(project)
    store = SandboxStore.open(project / ".crmctl" / "sandbox.db")
    store.put_config(
        "ValidationRule",
        "Lead.Hand_Made",
        {"condition": "Lead_Score__c > 99", "errorMessage": "x"},
        "someone@example.com",
    )
    lead = project / "manifests" / "standard" / "lead.yaml"
    text = lead.read_text()
    start = text.index(
        "apiVersion: crmctl/v1\nkind: CustomField\nmetadata:\n  name: Lead.Lead_Score__c"
    )
    lead.write_text(text[:start] + text[text.index("---\n", start) + 4 :])
    replace_in(
        lead, "condition: OR(Lead_Score__c < 0, Lead_Score__c > 100)", "condition: ISBLANK(Company)"
    )
    replace_in(lead, "  errorField: Lead_Score__c\n", "")
    perms = project / "manifests" / "access" / "permission-sets.yaml"
    replace_in(perms, "    Lead.Lead_Score__c: [read, edit]\n", "")
    replace_in(perms, "label: Marketing\n", "label: Marketing Team\n")
    return (
        "cannot delete CustomField/Lead.Lead_Score__c: it is used by ValidationRule/Lead.Hand_Made"
    )


def crmctl_ok(project: Path) -> bool:
    from crmctl.cli import main

    return main(["apply", "--auto-approve"]) == 0


def test_a_failed_apply_in_json_prints_the_document_then_the_error(project: Path, crmctl, capsys):
    refusal = refuse_a_delete(project)
    capsys.readouterr()
    result = crmctl("apply", "--auto-approve", "--format", "json")
    assert result.exit_code == 1
    document = json.loads(result.out)
    assert (document["status"], document["ok"], document["version"]) == (
        "failed, restored",
        False,
        "v2",
    )
    assert document["result"]["changes"][-1] == {
        "address": "CustomField/Lead.Lead_Score__c",
        "action": "delete",
        "result": "failed",
        "error": refusal,
    }
    assert document["result"]["restore"]["complete"] is True
    assert result.err.startswith(
        f"Error: apply stopped at CustomField/Lead.Lead_Score__c: {refusal}\n"
    )
