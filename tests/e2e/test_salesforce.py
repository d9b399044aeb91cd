"""crmctl against a Salesforce org (the sandbox's Salesforce API over HTTP), through the CLI."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from crmctl.sandbox.salesforce import state
from tests.e2e.helpers import live_specs, manifest
from tests.salesforce_org import ADMIN, CLIENT_SECRET, SalesforceOrg, key_pair, salesforce_org

ORG_MANIFESTS = [
    manifest("CustomObject", "Invoice__c", label="Invoice", sharingModel="Private"),
    manifest("CustomField", "Invoice__c.Amount__c", type="Currency", label="Amount", precision=16,
             scale=2, required=True, classification="Confidential"),
    manifest("CustomField", "Invoice__c.Status__c", type="Picklist", label="Status",
             values=[{"value": "Draft", "default": True}, "Sent", {"value": "Void", "active": False}]),
    manifest("CustomField", "Invoice__c.Account__c", type="Lookup", label="Account",
             referenceTo="Account"),
    manifest("CustomField", "Account.Region__c", type="Picklist", label="Region",
             values=["EMEA", "AMER", "APAC"], classification="Internal"),
    manifest("CustomField", "Contact.Nickname__c", type="Text", label="Nickname", length=40,
             classification="PII", helpText="What they like to be called"),
    manifest("CustomField", "Contact.VIP__c", type="Checkbox", label="VIP", defaultValue=False),
    manifest("ValidationRule", "Invoice__c.Positive_Amount", condition="Amount__c <= 0",
             errorMessage="The amount must be positive.", errorField="Amount__c"),
    manifest("Role", "CEO", label="Chief Executive"),
    manifest("Role", "Sales", label="Sales", parent="CEO"),
    manifest("PermissionSet", "Invoice_Desk", label="Invoice desk",
             objects={"Invoice__c": ["read", "create", "edit"], "Account": ["read"]},
             fields={"Invoice__c.Amount__c": ["read", "edit"], "Account.Region__c": ["read"]},
             system=["ApiEnabled"]),
    manifest("User", "rep@example.com", email="rep@example.com", firstName="Rita", lastName="Rep",
             role="Sales", permissionSets=["Invoice_Desk"]),
    manifest("DuplicateRule", "Contact.Same_Email", match=[{"field": "Email"},
             {"field": "LastName", "method": "fuzzy"}], action={"onCreate": "alert"}),
]  # fmt: skip


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SalesforceOrg]:
    for item in salesforce_org(tmp_path):
        for name, value in item.env_variables().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("CRMCTL_HTTP_RETRY_BUDGET", "10")
        yield item


@pytest.fixture
def sf_project(project: Path, org: SalesforceOrg) -> Path:
    """The example project with its own manifests folder for the org and environments/sf.yaml."""
    (project / "sf").mkdir()
    org.write_env(project, "sf", manifests="sf")
    return project


def _write(project: Path, *docs: dict) -> Path:
    path = project / "sf" / "org.yaml"
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return path


def test_jwt_login_plan_apply_then_no_changes(sf_project: Path, org: SalesforceOrg, crmctl) -> None:
    _write(sf_project, *ORG_MANIFESTS)
    r = crmctl("plan", "-e", "sf")
    assert r.exit_code == 0, r.output
    assert f"crmctl will make these changes in sf (salesforce {org.url}):" in r.out
    assert "Plan: 13 to add, 0 to change, 0 to destroy." in r.out
    r = crmctl("apply", "-e", "sf", "--auto-approve")
    assert r.exit_code == 0, r.output
    assert "Apply complete: 13 added, 0 changed, 0 destroyed. Recorded as v1 of sf." in r.out
    r = crmctl("plan", "-e", "sf", "--detailed-exitcode")
    assert (r.exit_code, r.out.strip().splitlines()[-1]) == (
        0,
        "No changes. The CRM matches the manifests.",
    )
    # The sandbox's own API sees what the Salesforce API wrote: one store.
    live = live_specs(org.store)
    assert live["User/rep@example.com"]["permissionSets"] == ["Invoice_Desk"]
    assert live["User/rep@example.com"]["role"] == "Sales"
    assert live["CustomField/Contact.Nickname__c"]["classification"] == "PII"
    assert live["Role/Sales"] == {"label": "Sales", "parent": "CEO"}
    assert live["DuplicateRule/Contact.Same_Email"]["match"][1] == {
        "field": "LastName",
        "method": "fuzzy",
    }


def test_client_credentials_login(sf_project: Path, org: SalesforceOrg, crmctl) -> None:
    org.write_env(sf_project, "cc", method="client_credentials", manifests="sf")
    _write(sf_project, manifest("Role", "CEO", label="Chief Executive"))
    r = crmctl("apply", "-e", "cc", "--auto-approve")
    assert r.exit_code == 0, r.output
    assert live_specs(org.store)["Role/CEO"] == {"label": "Chief Executive", "parent": None}


def test_a_wrong_secret_is_refused_without_showing_it(
    sf_project: Path, org: SalesforceOrg, crmctl, monkeypatch: pytest.MonkeyPatch
) -> None:
    org.write_env(sf_project, "cc", method="client_credentials", manifests="sf")
    monkeypatch.setenv("CRMCTL_SF_CLIENT_SECRET", "the-wrong-secret-value")
    r = crmctl("plan", "-e", "cc")
    assert r.exit_code == 1
    assert "Salesforce refused the client_credentials login" in r.err
    assert "invalid_client: invalid client credentials" in r.err
    assert "the-wrong-secret-value" not in r.output and CLIENT_SECRET not in r.output


def test_a_key_the_app_does_not_know_is_refused_without_showing_it(
    sf_project: Path, org: SalesforceOrg, crmctl, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / "other.pem").write_bytes(other)
    monkeypatch.setenv("CRMCTL_SF_JWT_KEY", str(tmp_path / "other.pem"))
    r = crmctl("plan", "-e", "sf")
    assert r.exit_code == 1
    assert (
        "Salesforce refused the jwt login" in r.err and "invalid_grant: invalid assertion" in r.err
    )
    body = other.decode().splitlines()[1]
    assert body not in r.output and key_pair()[0].splitlines()[1] not in r.output


def test_plan_apply_update_delete_and_rollback(
    sf_project: Path, org: SalesforceOrg, crmctl
) -> None:
    _write(sf_project, *ORG_MANIFESTS)
    assert crmctl("apply", "-e", "sf", "--auto-approve").exit_code == 0
    v1 = live_specs(org.store)
    # Change a field, drop a validation rule, change access, move the user to another role.
    docs = copy.deepcopy([d for d in ORG_MANIFESTS if d["kind"] != "ValidationRule"])
    docs[-1]["spec"]["action"] = {"onCreate": "block", "onEdit": "block"}
    by_name = {d["metadata"]["name"]: d["spec"] for d in docs}
    by_name["Invoice__c.Amount__c"]["label"] = "Invoice amount"
    by_name["Invoice_Desk"]["system"] = ["ApiEnabled", "ViewSetup"]
    by_name["rep@example.com"]["role"] = "CEO"
    _write(sf_project, *docs)
    r = crmctl("plan", "-e", "sf")
    assert r.exit_code == 0, r.output
    for line in (
        "~ CustomField/Invoice__c.Amount__c",
        '~ label: "Amount" -> "Invoice amount"',
        "- ValidationRule/Invoice__c.Positive_Amount",
        "~ PermissionSet/Invoice_Desk",
        '~ role: "Sales" -> "CEO"',
    ):
        assert line in r.out, r.out
    assert "Plan: 0 to add, 4 to change, 1 to destroy." in r.out
    r = crmctl("apply", "-e", "sf", "--auto-approve")
    assert r.exit_code == 0, r.output
    live = live_specs(org.store)
    assert "ValidationRule/Invoice__c.Positive_Amount" not in live
    assert live["CustomField/Invoice__c.Amount__c"]["label"] == "Invoice amount"
    assert live["PermissionSet/Invoice_Desk"]["system"] == ["ApiEnabled", "ViewSetup"]
    assert live["User/rep@example.com"]["role"] == "CEO"
    r = crmctl("rollback", "-e", "sf", "--to", "v1", "--auto-approve")
    assert r.exit_code == 0, r.output
    assert "Rollback to v1 complete: 1 added, 4 changed, 0 destroyed." in r.out
    assert live_specs(org.store) == v1


def test_deleting_a_user_deactivates_it(sf_project: Path, org: SalesforceOrg, crmctl) -> None:
    _write(sf_project, *ORG_MANIFESTS)
    assert crmctl("apply", "-e", "sf", "--auto-approve").exit_code == 0
    _write(sf_project, *[d for d in ORG_MANIFESTS if d["kind"] != "User"])
    r = crmctl("apply", "-e", "sf", "--auto-approve")
    assert r.exit_code == 0, r.output
    assert "- User/rep@example.com" in r.out
    user = live_specs(org.store)["User/rep@example.com"]
    assert user["active"] is False  # Salesforce never deletes users
    r = crmctl("plan", "-e", "sf")
    assert "No changes." in r.out  # the inactive user is no longer managed


def _in_use_org(project: Path, org: SalesforceOrg, crmctl) -> None:
    """v1 manages a field and a role; then someone uses both out of band (a validation rule, a
    user), and the manifests delete them and add a field: Salesforce refuses both deletes."""
    _write(project, *ORG_MANIFESTS[:4],
           manifest("CustomField", "Account.Old_Region__c", type="Text", label="Old region"),
           manifest("Role", "Temp", label="Temporary"))  # fmt: skip
    assert crmctl("apply", "-e", "sf", "--auto-approve").exit_code == 0
    org.store.put_config(
        "ValidationRule",
        "Account.Needs_Region",
        {"condition": "ISBLANK(Old_Region__c)", "errorMessage": "Region!"},
        "someone",
    )
    org.store.put_config("User", "temp@example.com",
                         {"email": "temp@example.com", "lastName": "Temp", "role": "Temp"}, "someone")  # fmt: skip
    _write(
        project,
        *ORG_MANIFESTS[:4],
        manifest("CustomField", "Account.New__c", type="Text", label="New"),
    )


def test_a_failing_deploy_is_rolled_back_as_a_whole(
    sf_project: Path, org: SalesforceOrg, crmctl
) -> None:
    _in_use_org(sf_project, org, crmctl)
    before = live_specs(org.store)
    r = crmctl("apply", "-e", "sf", "--auto-approve")
    assert r.exit_code == 1, r.output
    lines = [" ".join(line.split()) for line in r.out.splitlines()]
    assert "+ CustomField/Account.New__c not applied" in lines
    failed = next(i for i, line in enumerate(lines) if "FAILED" in line)
    assert lines[failed].startswith(
        "- Role/Temp FAILED: cannot delete Role/Temp: it is the role of "
        "User/temp@example.com (Salesforce rolled the deploy back as a whole: nothing of it "
        "was saved; it also refused:"
    ), r.out
    assert lines[failed + 1] == (
        "CustomField/Account.Old_Region__c: cannot delete CustomField/Account.Old_Region__c: "
        "it is used by ValidationRule/Account.Needs_Region)"
    ), r.out
    assert live_specs(org.store) == before  # all or nothing: the new field is not there either
    assert "the CRM is back as it was before the apply (checked)" in r.err


def test_plan_validate_reports_each_refused_change_and_saves_nothing(
    sf_project: Path, org: SalesforceOrg, crmctl
) -> None:
    _in_use_org(sf_project, org, crmctl)
    before = live_specs(org.store)
    r = crmctl("plan", "-e", "sf", "--validate")
    assert r.exit_code == 1, r.output
    tail = r.out.split("Validation: ")[1].splitlines()
    assert tail == [
        "the CRM would refuse (checked only, nothing saved):",
        "  Role/Temp: cannot delete Role/Temp: it is the role of User/temp@example.com",
        "  CustomField/Account.Old_Region__c: cannot delete CustomField/Account.Old_Region__c: "
        "it is used by ValidationRule/Account.Needs_Region",
        "2 of 3 change(s) would fail; fix them before applying.",
    ]
    assert live_specs(org.store) == before


def test_plan_validate_accepts_a_good_plan_without_saving(
    sf_project: Path, org: SalesforceOrg, crmctl
) -> None:
    _write(sf_project, *ORG_MANIFESTS)
    r = crmctl("plan", "-e", "sf", "--validate")
    assert r.exit_code == 0, r.output
    assert "Validation: the CRM accepted all 13 change(s) (checked only, nothing saved)." in r.out
    assert live_specs(org.store) == {}


def test_plan_validate_needs_a_provider_that_can(project: Path, crmctl) -> None:
    r = crmctl("plan", "--validate")
    assert r.exit_code == 1
    assert "the sandbox provider cannot check changes without applying them" in r.err


def test_unsupported_kinds_are_reported(sf_project: Path, org: SalesforceOrg, crmctl) -> None:
    retention = manifest("RetentionPolicy", "Old_Invoices", object="Invoice__c", dateField="CreatedDate",
                         retain="P7Y", action="delete", legalBasis="Bookkeeping law")  # fmt: skip
    _write(sf_project, ORG_MANIFESTS[0], retention)
    r = crmctl("plan", "-e", "sf")
    assert r.exit_code == 0, r.output
    assert (
        "RetentionPolicy: 1 resource not planned: this provider does not support RetentionPolicy [warning]"
        in r.out
    )


def test_api_usage_above_80_percent_is_a_warning(
    sf_project: Path, org: SalesforceOrg, crmctl
) -> None:
    state.configure(org.store, dailyApiLimit=1000)
    state.set_usage(org.store, 850)
    _write(sf_project, ORG_MANIFESTS[8])
    r = crmctl("plan", "-e", "sf")
    assert r.exit_code == 0, r.output
    assert "Salesforce: the org has used 85" in r.out and "of its 1000 daily API calls" in r.out
    assert "[warning]" in r.out


def test_request_limit_exceeded_is_retried_with_backoff(
    sf_project: Path, org: SalesforceOrg, crmctl
) -> None:
    _write(sf_project, ORG_MANIFESTS[8])
    state.configure(org.store, limitExceeded=2)  # the next two calls are refused
    r = crmctl("apply", "-e", "sf", "--auto-approve")
    assert r.exit_code == 0, r.output
    assert "Role/CEO" in live_specs(org.store)


def test_a_spent_api_limit_ends_in_a_rate_limit_error(
    sf_project: Path, org: SalesforceOrg, crmctl, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRMCTL_HTTP_RETRIES", "2")
    state.configure(org.store, dailyApiLimit=100)
    state.set_usage(org.store, 100)
    r = crmctl("plan", "-e", "sf")
    assert r.exit_code == 1
    assert (
        "Salesforce kept answering REQUEST_LIMIT_EXCEEDED (API usage 100/100); gave up after 3 attempt(s)"
        in r.err
    )
    assert "hint: the org's API limit is spent" in r.err


def test_the_sandbox_provider_and_the_salesforce_api_agree(
    sf_project: Path, org: SalesforceOrg, crmctl
) -> None:
    """Applied through the Salesforce API, planned through the sandbox's own API: no changes."""
    _write(sf_project, *ORG_MANIFESTS)
    assert crmctl("apply", "-e", "sf", "--auto-approve").exit_code == 0
    token = org.store.issue_token(ADMIN)
    (sf_project / "environments" / "own.yaml").write_text(
        f"provider: {{type: sandbox, url: '{org.url}', tokenEnv: CRMCTL_OWN_TOKEN}}\nmanifests: [sf]\n"
        "history: {path: .crmctl/history-own}\n" + _lint_off()
    )
    r = crmctl("plan", "-e", "own", env={"CRMCTL_OWN_TOKEN": token})
    assert r.exit_code == 0, r.output
    assert "No changes. The CRM matches the manifests." in r.out


def _lint_off() -> str:
    from tests.salesforce_org import LINT_OFF

    return LINT_OFF
