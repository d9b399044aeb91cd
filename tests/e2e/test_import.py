"""crmctl import end to end: adopt out-of-band changes, and bootstrap a project from a live org."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.conftest import EXAMPLE, HTTP_ENV
from tests.e2e.helpers import desired_specs, live_specs
from tests.e2e.out_of_band import tamper

REPO = Path(__file__).resolve().parents[2]


def apply_all(crmctl) -> None:
    result = crmctl("apply", "--auto-approve")
    assert result.exit_code == 0, result.output


def test_importing_drift_then_planning_gives_an_empty_plan(http_project, sandbox_server, crmctl):
    apply_all(crmctl)
    tamper(sandbox_server)
    manifests = http_project / "manifests"
    before = {p: p.read_text() for p in manifests.rglob("*.yaml")}

    result = crmctl(
        "import",
        "CustomField/Account.Region__c",
        "ValidationRule/Invoice__c.Positive_Amount",
        "PermissionSet/Hand_Made",
        "--owner",
        "security",
    )
    assert result.exit_code == 0, result.output
    assert result.out.splitlines() == [
        "  ~ CustomField/Account.Region__c  updated in manifests/standard/account.yaml",
        "  - ValidationRule/Invoice__c.Positive_Amount  removed in manifests/objects/invoice.yaml",
        "  + PermissionSet/Hand_Made  added in manifests/access/permission-sets.yaml",
        "Imported 3 resources into 3 files. "
        "Review the diff, then crmctl plan should show no changes for them.",
    ]

    account = manifests / "standard" / "account.yaml"
    assert account.read_text() == before[account].replace(
        "  label: Region\n", "  label: Sales Region\n", 1
    )
    invoice = manifests / "objects" / "invoice.yaml"
    assert "Positive_Amount" not in invoice.read_text()
    assert before[invoice].startswith(invoice.read_text())
    permission_sets = manifests / "access" / "permission-sets.yaml"
    assert permission_sets.read_text() == before[permission_sets] + (
        "---\n"
        "apiVersion: crmctl/v1\n"
        "kind: PermissionSet\n"
        "metadata:\n"
        "  name: Hand_Made\n"
        "  owner: security\n"
        "spec:\n"
        "  label: Hand made\n"
        "  objects:\n"
        "    Account: [read]\n"
    )
    untouched = [p for p in before if p not in (account, invoice, permission_sets)]
    assert all(p.read_text() == before[p] for p in untouched)

    assert crmctl("validate").exit_code == 0
    plan = crmctl("plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    assert plan.out == "No changes. The CRM matches the manifests.\n"
    drift = crmctl("drift")
    assert drift.exit_code == 0, drift.output
    assert drift.out.splitlines()[-1] == (
        "No drift in e2e: 3 adopted into the manifests, 77 in sync."
    )


def test_import_with_a_glob_leaves_the_owner_to_fill_in(http_project, sandbox_server, crmctl):
    apply_all(crmctl)
    tamper(sandbox_server)
    result = crmctl("import", "PermissionSet/Hand*")
    assert result.exit_code == 0, result.output
    assert result.out.splitlines() == [
        "  + PermissionSet/Hand_Made  added in manifests/access/permission-sets.yaml",
        "note: 1 resource has no owner: fill in the `# owner: TODO` lines "
        "(or import again with --owner TEAM); "
        "the owner-required lint rule holds the plan back until then",
        "Imported 1 resource into 1 file. "
        "Review the diff, then crmctl plan should show no changes for them.",
    ]
    text = (http_project / "manifests" / "access" / "permission-sets.yaml").read_text()
    assert text.endswith(
        "  name: Hand_Made\n"
        "  # owner: TODO  (imported from the CRM: name the accountable team)\n"
        "spec:\n  label: Hand made\n  objects:\n    Account: [read]\n"
    )
    assert crmctl("validate").exit_code == 0


def test_import_of_what_exists_nowhere_is_an_error(http_project, sandbox_server, crmctl):
    result = crmctl("import", "Role/Nobody")
    assert result.exit_code == 1
    assert result.err.splitlines()[0] == (
        "Error: Role/Nobody matches nothing in the CRM or in the manifests"
    )
    usage = crmctl("import")
    assert usage.exit_code == 1
    assert "give the KIND/NAME of resources to import, or --all" in usage.err


def test_whole_org_import_into_an_empty_project(
    http_project, sandbox_server, crmctl, tmp_path, monkeypatch
):
    apply_all(crmctl)  # the example org, live on the server
    tamper(sandbox_server)  # and some hand-made changes on top
    empty = tmp_path / "bootstrap"
    (empty / "environments").mkdir(parents=True)
    (empty / "environments" / "e2e.yaml").write_text(
        HTTP_ENV.format(url=sandbox_server.url, protect="Role/CEO")
    )
    monkeypatch.chdir(empty)

    result = crmctl("import", "--all", "--out", "manifests", "--owner", "crm-admins")
    assert result.exit_code == 0, result.output
    assert result.out.splitlines()[-1] == (
        f"Imported {EXAMPLE.resources} resources into 16 files. "
        "Review the diff, then crmctl plan should show no changes for them."
    )
    files = sorted(str(p.relative_to(empty)) for p in (empty / "manifests").rglob("*.yaml"))
    assert files == [
        "manifests/access/permission-sets/CRM_Admin.yaml",
        "manifests/access/permission-sets/Data_Steward.yaml",
        "manifests/access/permission-sets/Hand_Made.yaml",
        "manifests/access/permission-sets/Marketing.yaml",
        "manifests/access/permission-sets/Sales_Rep.yaml",
        "manifests/access/permission-sets/Security_Officer.yaml",
        "manifests/access/permission-sets/Service_Agent.yaml",
        "manifests/access/roles.yaml",
        "manifests/access/users.yaml",
        "manifests/objects/Consent__c.yaml",
        "manifests/objects/Invoice__c.yaml",
        "manifests/objects/Subscription__c.yaml",
        "manifests/retention/policies.yaml",
        "manifests/standard/Account.yaml",
        "manifests/standard/Contact.yaml",
        "manifests/standard/Lead.yaml",
    ]
    invoice = [
        (d["kind"], d["metadata"]["name"])
        for d in yaml.safe_load_all((empty / "manifests/objects/Invoice__c.yaml").read_text())
    ]
    assert invoice[0] == ("CustomObject", "Invoice__c")
    assert {k for k, _ in invoice} == {"CustomObject", "CustomField", "ValidationRule"}
    assert (empty / "manifests/access/permission-sets/Hand_Made.yaml").read_text() == (
        "# The permission set Hand_Made.\n"
        "apiVersion: crmctl/v1\n"
        "kind: PermissionSet\n"
        "metadata:\n"
        "  name: Hand_Made\n"
        "  owner: crm-admins\n"
        "spec:\n"
        "  label: Hand made\n"
        "  objects:\n"
        "    Account: [read]\n"
    )

    validate = crmctl("validate")
    assert validate.exit_code == 0, validate.output
    assert validate.out == f"valid: {EXAMPLE.resources} resources in 16 files\n"
    plan = crmctl("plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    assert plan.out == "No changes. The CRM matches the manifests.\n"
    assert desired_specs(empty) == live_specs(sandbox_server.store)
    assert crmctl("drift").out.splitlines()[-1] == f"No drift in e2e: {EXAMPLE.resources} in sync."

    again = crmctl("import", "--all", "--out", "manifests")
    assert again.exit_code == 1
    assert again.err.splitlines()[0] == (
        "Error: manifests already holds 16 manifest files; --all bootstraps an empty folder"
    )
    forced = crmctl("import", "--all", "--out", "manifests", "--force")
    assert forced.exit_code == 0, forced.output
