"""plan and apply end to end, over HTTP to a sandbox server on a free port."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from crmctl.schemas import schema_dir
from tests.conftest import EXAMPLE
from tests.e2e.helpers import desired_specs, live_specs, manifest, replace_in, write_manifest


def apply_all(crmctl):
    result = crmctl("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    return result


def test_first_plan_creates_everything_then_apply_then_plan_is_empty(
    http_project, sandbox_server, crmctl
):
    first = crmctl("plan", "--detailed-exitcode")
    assert first.exit_code == 2, first.output
    assert (
        first.out.splitlines()[-1]
        == f"Plan: {EXAMPLE.resources} to add, 0 to change, 0 to destroy."
    )
    assert (
        '  + CustomField/Account.Region__c\n      + type: "Picklist"\n      + label: "Region"\n'
        in first.out
    )

    result = apply_all(crmctl)
    assert (
        result.out.splitlines()[-1]
        == f"Apply complete: {EXAMPLE.resources} added, 0 changed, 0 destroyed. Recorded as v1 of e2e."
    )
    assert live_specs(sandbox_server.store) == desired_specs(http_project)

    again = crmctl("plan", "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert again.out == "No changes. The CRM matches the manifests.\n"


KIND_CASES = [
    (
        manifest("CustomObject", "Ticket__c", label="Ticket"),
        ("label", "Ticket", "Support Ticket"),
    ),
    (
        manifest("CustomField", "Account.Segment__c", type="Text", label="Segment", length=40),
        ("label", "Segment", "Market Segment"),
    ),
    (
        manifest(
            "ValidationRule",
            "Account.Name_Short",
            condition="LEN(Name) > 80",
            errorMessage="Too long",
        ),
        ("errorMessage", "Too long", "Names are at most 80 characters"),
    ),
    (
        manifest("DuplicateRule", "Lead.Same_Email", match=[{"field": "Email"}]),
        ("active", True, False),
    ),
    (
        manifest(
            "RetentionPolicy",
            "Old_Cases",
            object="Case",
            dateField="ClosedDate",
            retain="P6Y",
            action="delete",
            legalBasis="Contract",
        ),
        ("retain", "P6Y", "P7Y"),
    ),
    (
        manifest("Role", "Auditor", label="Auditor", parent="CEO"),
        ("label", "Auditor", "Internal Auditor"),
    ),
    (
        manifest("PermissionSet", "Reader", label="Reader", objects={"Account": ["read"]}),
        ("label", "Reader", "Account Reader"),
    ),
    (
        manifest(
            "User",
            "new.person@northwind.example",
            email="new.person@northwind.example",
            lastName="Person",
            role="CEO",
        ),
        ("lastName", "Person", "Persson"),
    ),
]


@pytest.mark.parametrize("doc,update", KIND_CASES, ids=[c[0]["kind"] for c in KIND_CASES])
def test_each_kind_is_created_updated_and_deleted(
    http_project, sandbox_server, crmctl, doc, update
):
    apply_all(crmctl)
    kind, name = doc["kind"], doc["metadata"]["name"]
    address = f"{kind}/{name}"
    path = write_manifest(http_project, "extra.yaml", doc)

    created = crmctl("plan")
    assert created.exit_code == 0, created.output
    assert f"  + {address}\n" in created.out
    assert created.out.splitlines()[-1] == "Plan: 1 to add, 0 to change, 0 to destroy."
    apply_all(crmctl)
    assert live_specs(sandbox_server.store)[address] == desired_specs(http_project)[address]

    key, old, new = update
    doc["spec"][key] = new
    write_manifest(http_project, "extra.yaml", doc)
    updated = crmctl("plan")
    assert (
        f"  ~ {address}\n      ~ {key}: {json.dumps(old)} -> {json.dumps(new)}\n" in updated.out
    ), updated.out
    assert updated.out.splitlines()[-1] == "Plan: 0 to add, 1 to change, 0 to destroy."
    apply_all(crmctl)
    assert live_specs(sandbox_server.store)[address][key] == new

    path.unlink()
    deleted = crmctl("plan")
    assert f"  - {address}\n" in deleted.out
    assert deleted.out.splitlines()[-1] == "Plan: 0 to add, 0 to change, 1 to destroy."
    apply_all(crmctl)
    assert address not in live_specs(sandbox_server.store)
    assert crmctl("plan", "--detailed-exitcode").exit_code == 0


def test_field_level_lines_for_a_picklist_and_a_permission_set(
    http_project, sandbox_server, crmctl
):
    apply_all(crmctl)
    account = http_project / "manifests" / "standard" / "account.yaml"
    replace_in(account, "values: [EMEA, AMER, APAC]", "values: [EMEA, AMER, APAC, LATAM]")
    replace_in(account, "label: Region", "label: Sales Region")
    perms = http_project / "manifests" / "access" / "permission-sets.yaml"
    replace_in(
        perms,
        "    Account.Customer_Tier__c: [read]\n",
        "    Account.Customer_Tier__c: [read, edit]\n",
    )
    result = crmctl("plan")
    assert result.out == (
        f"crmctl will make these changes in e2e (sandbox {sandbox_server.url}):\n"
        "\n"
        "  ~ CustomField/Account.Region__c\n"
        '      ~ label: "Region" -> "Sales Region"\n'
        '      + values[LATAM]: {"value": "LATAM", "label": "LATAM", "default": false, "active": true}\n'
        "  ~ PermissionSet/Sales_Rep\n"
        '      ~ fields.Account.Customer_Tier__c: ["read"] -> ["read", "edit"]\n'
        "\n"
        "Plan: 0 to add, 2 to change, 0 to destroy.\n"
    )


def test_unmanaged_resources_are_listed_and_never_deleted(http_project, sandbox_server, crmctl):
    apply_all(crmctl)
    sandbox_server.store.put_config(
        "Role", "Shadow_IT", {"label": "Made by hand"}, "someone@northwind.example"
    )
    result = crmctl("plan", "--detailed-exitcode")
    assert result.exit_code == 0
    assert result.out == (
        "Unmanaged: 1 resource in the CRM is not in the manifests; crmctl leaves them alone:\n"
        "  Role/Shadow_IT\n"
        "\n"
        "No changes. The CRM matches the manifests.\n"
    )
    apply_all(crmctl)
    assert "Role/Shadow_IT" in live_specs(sandbox_server.store)


def test_deleting_a_protected_resource_fails_the_plan(http_project, sandbox_server, crmctl):
    apply_all(crmctl)
    roles = http_project / "manifests" / "access" / "roles.yaml"
    # CEO is protected in e2e.yaml; take it (and the roles and users under it) out of the manifests.
    text = roles.read_text()
    roles.write_text(text.replace("  parent: CEO\n", "  parent: null\n").split("---\n", 1)[1])
    result = crmctl("plan")
    assert result.exit_code == 1
    assert (
        "environments/e2e.yaml:7: Role/CEO: refusing to delete a protected resource (protect: Role/CEO)\n"
        in result.out
    )
    assert "The plan has errors and cannot be applied.\n" in result.out
    applied = crmctl("apply", "--auto-approve")
    assert applied.exit_code == 1
    assert "Role/CEO" in live_specs(sandbox_server.store)


def test_saved_plan_applies_exactly_and_stale_plans_are_refused(
    http_project, sandbox_server, crmctl
):
    saved = crmctl("plan", "--out", "plan.json")
    assert saved.exit_code == 0
    assert (
        saved.err == ""
        and "Saved the plan to plan.json. Apply exactly this plan with: crmctl apply plan.json"
        in saved.out
    )
    data = json.loads((http_project / "plan.json").read_text())
    Draft202012Validator(json.loads((schema_dir() / "plan.json").read_text())).validate(data)
    assert "token" not in (http_project / "plan.json").read_text().lower()
    result = crmctl("apply", "plan.json")
    assert result.exit_code == 0, result.output
    assert live_specs(sandbox_server.store) == desired_specs(http_project)

    roles = http_project / "manifests" / "access" / "roles.yaml"
    replace_in(roles, "label: VP Sales", "label: Vice President Sales")
    assert crmctl("plan", "--out", "plan2.json").exit_code == 0
    sandbox_server.store.put_config(
        "Role", "VP_Sales", {"label": "Changed by hand", "parent": "CEO"}, "someone@example.com"
    )
    stale = crmctl("apply", "plan2.json")
    assert stale.exit_code == 1
    assert stale.err == (
        "Error: plan file plan2.json: the saved plan is stale; nothing was applied:\n"
        "  - Role/VP_Sales changed in the CRM since the plan was made\n"
        "hint: make a new plan: crmctl plan --out FILE\n"
    )
    assert live_specs(sandbox_server.store)["Role/VP_Sales"]["label"] == "Changed by hand"

    assert crmctl("plan", "--out", "plan3.json").exit_code == 0
    replace_in(roles, "label: Vice President Sales", "label: VP of Sales")
    edited = crmctl("apply", "plan3.json")
    assert edited.exit_code == 1
    assert (
        "  - the manifests or the environment file changed since the plan was made\n" in edited.err
    )


def test_target_and_exclude(http_project, sandbox_server, crmctl):
    only_roles = crmctl("plan", "--target", "Role/*", "--exclude", "Role/Operations")
    assert only_roles.out.splitlines()[-1] == "Plan: 8 to add, 0 to change, 0 to destroy."
    assert "Role/Operations" not in only_roles.out
    assert crmctl("apply", "--auto-approve", "--target", "Role/*").exit_code == 0
    assert sorted(a for a in live_specs(sandbox_server.store)) == sorted(
        a for a in desired_specs(http_project) if a.startswith("Role/")
    )
    rest = crmctl("plan")
    assert rest.out.splitlines()[-1] == "Plan: 70 to add, 0 to change, 0 to destroy."
    bad = crmctl("plan", "--target", "Sales_Rep")
    assert bad.exit_code == 1
    assert (
        "Invalid value for --target: 'Sales_Rep' is not KIND/NAME (e.g. PermissionSet/Sales_Rep)"
        in bad.err
    )


def test_exit_codes_for_errors(http_project, sandbox_server, crmctl, monkeypatch):
    write_manifest(http_project, "bad.yaml", manifest("Role", "Broken", label="B", parent="Nobody"))
    invalid = crmctl("plan")
    assert invalid.exit_code == 1
    assert invalid.err == (
        "Error: the manifests have 1 problem; nothing was planned\n"
        "manifests/bad.yaml:8: Role/Broken: parent role 'Nobody' is not declared\n"
        "hint: fix them and run again (crmctl validate shows the same list)\n"
    )
    (http_project / "manifests" / "bad.yaml").unlink()

    no_terminal = crmctl("apply")
    assert no_terminal.exit_code == 1
    assert (
        "Error: apply needs a confirmation, but there is no terminal to ask on; nothing was applied"
        in no_terminal.err
    )
    assert live_specs(sandbox_server.store) == {}

    monkeypatch.delenv("CRMCTL_TEST_TOKEN")
    no_token = crmctl("plan")
    assert no_token.exit_code == 1
    assert no_token.err == (
        "Error: environment variable CRMCTL_TEST_TOKEN is not set\n"
        "hint: export CRMCTL_TEST_TOKEN=<token> (crmctl sandbox init prints one)\n"
    )
    monkeypatch.setenv("CRMCTL_TEST_TOKEN", "wrong")
    bad_token = crmctl("plan")
    assert (
        bad_token.exit_code == 1 and ": 401 " in bad_token.err and "Traceback" not in bad_token.err
    )
    assert "wrong" not in bad_token.err.replace("wrong token", "")


def test_unreachable_crm_is_a_clear_error(http_project, sandbox_server, crmctl, monkeypatch):
    monkeypatch.setenv("CRMCTL_HTTP_RETRIES", "1")
    sandbox_server.server.stop()
    result = crmctl("plan")
    assert result.exit_code == 1
    retry, error = result.err.split("\n", 1)
    assert retry == (
        f"cannot reach the CRM at {sandbox_server.url} (connection refused); retrying (1/1) now..."
    )
    assert error.startswith(f"Error: GET {sandbox_server.url}/api/v1/config/")
    assert (
        ": cannot reach the CRM (connection refused)\nhint: check the URL and that the server is running\n"
        in result.err
    )


def test_a_change_the_crm_refuses_stops_apply_and_reports(http_project, sandbox_server, crmctl):
    apply_all(crmctl)
    # Someone adds, by hand, a rule that uses a field the manifests are about to remove.
    sandbox_server.store.put_config(
        "ValidationRule",
        "Lead.Hand_Made",
        {"condition": "Lead_Score__c > 99", "errorMessage": "x"},
        "someone@example.com",
    )
    lead = http_project / "manifests" / "standard" / "lead.yaml"
    text = lead.read_text()
    start = text.index(
        "apiVersion: crmctl/v1\nkind: CustomField\nmetadata:\n  name: Lead.Lead_Score__c"
    )
    end = text.index("---\n", start) + 4
    lead.write_text(text[:start] + text[end:])
    perms = http_project / "manifests" / "access" / "permission-sets.yaml"
    replace_in(perms, "    Lead.Lead_Score__c: [read, edit]\n", "")
    replace_in(
        lead, "condition: OR(Lead_Score__c < 0, Lead_Score__c > 100)", "condition: ISBLANK(Company)"
    )
    replace_in(lead, "  errorField: Lead_Score__c\n", "")
    replace_in(perms, "label: Marketing\n", "label: Marketing Team\n")

    before = live_specs(sandbox_server.store)
    result = crmctl("apply", "--auto-approve")
    assert result.exit_code == 1, result.output
    refusal = (
        "cannot delete CustomField/Lead.Lead_Score__c: it is used by ValidationRule/Lead.Hand_Made"
    )
    assert result.out.endswith(
        "Result:\n"
        "  ~ ValidationRule/Lead.Score_Range  applied\n"
        "  ~ PermissionSet/Marketing          applied\n"
        f"  - CustomField/Lead.Lead_Score__c   FAILED: {refusal}\n"
        "Restored (undoing the changes above):\n"
        "  ~ ValidationRule/Lead.Score_Range  undone\n"
        "  ~ PermissionSet/Marketing          undone\n"
    )
    assert result.err == (
        f"Error: apply stopped at CustomField/Lead.Lead_Score__c: {refusal}\n"
        "2 change(s) applied (0 added, 2 changed, 0 destroyed), 1 not applied. They were undone (2 change(s)); "
        "the CRM is back as it was before the apply (checked). Recorded as v2 of e2e (failed, restored).\n"
        "hint: fix the cause and apply again\n"
    )
    assert live_specs(sandbox_server.store) == before

    partial = crmctl("apply", "--auto-approve", "--no-restore")
    assert partial.exit_code == 1
    assert partial.err == (
        f"Error: apply stopped at CustomField/Lead.Lead_Score__c: {refusal}\n"
        "2 change(s) applied (0 added, 2 changed, 0 destroyed), 1 not applied. "
        "Recorded as v3 of e2e (failed, partial).\n"
        "hint: fix the cause and run crmctl plan again: it shows what is left to do\n"
    )
    live = live_specs(sandbox_server.store)
    assert live["PermissionSet/Marketing"]["label"] == "Marketing Team"
    assert "CustomField/Lead.Lead_Score__c" in live


def test_markdown_and_json_formats(http_project, crmctl):
    apply_all(crmctl)
    replace_in(
        http_project / "manifests" / "access" / "roles.yaml", "label: VP Sales", "label: VP | Sales"
    )
    md = crmctl("plan", "--format", "markdown")
    assert md.exit_code == 0
    assert md.out == (
        "### crmctl plan for `e2e`\n"
        "\n"
        "**Plan: 0 to add, 1 to change, 0 to destroy.**\n"
        "\n"
        "| | Resource | What changes |\n"
        "|---|---|---|\n"
        "| ~ | `Role/VP_Sales` | `label` |\n"
        "\n"
        "<details><summary>~ <code>Role/VP_Sales</code></summary>\n"
        "\n"
        "```diff\n"
        '- label: "VP Sales"\n'
        '+ label: "VP | Sales"\n'
        "```\n"
        "</details>\n"
        "\n"
    )
    js = crmctl("plan", "--format", "json")
    data = json.loads(js.out)
    Draft202012Validator(json.loads((schema_dir() / "plan.json").read_text())).validate(data)
    assert data["summary"] == {"add": 0, "change": 1, "destroy": 0}
    assert data["changes"][0]["diff"] == [
        {"path": "label", "change": "changed", "before": "VP Sales", "after": "VP | Sales"}
    ]
