"""`crmctl validate` checks names and vendor-only keys in the environment's provider dialect."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.dataverse.test_import_solution import DATAVERSE_ENV

SANDBOX_ENV = "provider: {type: sandbox, path: .crmctl/sandbox.db}\nmanifests: [manifests]\n"

DATAVERSE_MANIFESTS = """\
apiVersion: crmctl/v1
kind: CustomObject
metadata: {name: nw_invoice}
spec:
  label: Invoice
  primaryColumn: nw_number
---
apiVersion: crmctl/v1
kind: CustomField
metadata: {name: nw_invoice.nw_status}
spec:
  type: Picklist
  label: Status
  requiredLevel: recommended
  values:
    - {value: Open, optionValue: 100000000}
---
apiVersion: crmctl/v1
kind: PermissionSet
metadata: {name: Invoice_Clerk}
spec:
  label: Invoice Clerk
  objects:
    nw_invoice: [read, delete]
  depths:
    nw_invoice: {read: Global, delete: Basic, append: Local}
"""

SALESFORCE_MANIFESTS = """\
apiVersion: crmctl/v1
kind: CustomObject
metadata: {name: Invoice__c}
spec:
  label: Invoice
---
apiVersion: crmctl/v1
kind: CustomField
metadata: {name: Account.Region__c}
spec:
  type: Text
  label: Region
---
apiVersion: crmctl/v1
kind: CustomField
metadata: {name: Account.nw_tier}
spec:
  type: Text
  label: Tier
"""


@pytest.fixture
def two_envs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    (root / "environments").mkdir(parents=True)
    (root / "manifests").mkdir()
    (root / "environments" / "dv.yaml").write_text(DATAVERSE_ENV)
    (root / "environments" / "local.yaml").write_text(SANDBOX_ENV)
    monkeypatch.chdir(root)
    monkeypatch.delenv("CRMCTL_ENV", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    return root


def test_dataverse_names_and_keys_are_valid_in_a_dataverse_environment(two_envs, crmctl) -> None:
    (two_envs / "manifests" / "billing.yaml").write_text(DATAVERSE_MANIFESTS)
    r = crmctl("validate", "-e", "dv")
    assert (r.exit_code, r.out, r.err) == (0, "valid: 3 resources in 1 file\n", "")


def test_dataverse_names_and_keys_are_refused_elsewhere(two_envs, crmctl) -> None:
    (two_envs / "manifests" / "billing.yaml").write_text(DATAVERSE_MANIFESTS)
    r = crmctl("validate", "-e", "local")
    assert (r.exit_code, r.err) == (1, "")
    only = "-only setting, accepted only in an environment whose provider is dataverse"
    assert r.out == (
        "manifests/billing.yaml:3: CustomObject/nw_invoice: metadata.name: a CustomObject name "
        "is an API name ending in __c, e.g. Invoice__c (got 'nw_invoice')\n"
        f"manifests/billing.yaml:6: CustomObject/nw_invoice: spec.primaryColumn: 'primaryColumn' "
        f"is a Dataverse{only}\n"
        "manifests/billing.yaml:10: CustomField/nw_invoice.nw_status: metadata.name: a "
        "CustomField name is Object.Field__c, e.g. Account.Region__c (got 'nw_invoice.nw_status')\n"
        "manifests/billing.yaml:14: CustomField/nw_invoice.nw_status: spec.requiredLevel: "
        f"'requiredLevel' is a Dataverse{only}\n"
        "manifests/billing.yaml:16: CustomField/nw_invoice.nw_status: spec.values[0].optionValue: "
        f"'optionValue' is a Dataverse{only}\n"
        f"manifests/billing.yaml:25: PermissionSet/Invoice_Clerk: spec.depths: 'depths' is a "
        f"Dataverse{only}\n"
        "6 errors in 1 file\n"
    )


def test_salesforce_names_are_refused_in_a_dataverse_environment(two_envs, crmctl) -> None:
    (two_envs / "manifests" / "sf.yaml").write_text(SALESFORCE_MANIFESTS)
    r = crmctl("validate", "-e", "dv")
    assert (r.exit_code, r.err) == (1, "")
    assert r.out == (
        "manifests/sf.yaml:3: CustomObject/Invoice__c: metadata.name: a name ending in __c is a "
        "Salesforce API name; in a Dataverse environment a CustomObject name is the table's "
        "logical name, e.g. nw_invoice\n"
        "manifests/sf.yaml:9: CustomField/Account.Region__c: metadata.name: a name ending in __c "
        "is a Salesforce API name; in a Dataverse environment a CustomField name is table.column "
        "in logical names, e.g. account.nw_region\n"
        "manifests/sf.yaml:16: CustomField/Account.nw_tier: metadata.name: a CustomField name in "
        "a Dataverse environment is table.column in logical names: lowercase, the column with "
        "the publisher prefix, e.g. account.nw_region (got 'Account.nw_tier')\n"
        "3 errors in 1 file\n"
    )
    # The same manifests are what a sandbox environment expects (Account.nw_tier aside).
    r = crmctl("validate", "-e", "local")
    assert r.out.endswith("1 error in 1 file\n") and "Account.nw_tier" in r.out


def test_salesforce_permission_rules_still_hold_without_depths(two_envs, crmctl) -> None:
    (two_envs / "manifests" / "ps.yaml").write_text(
        "apiVersion: crmctl/v1\nkind: PermissionSet\nmetadata: {name: P}\n"
        "spec:\n  label: P\n  objects:\n    Account: [read, delete]\n"
    )
    r = crmctl("validate", "-e", "local")
    assert r.out.startswith("manifests/ps.yaml:7: PermissionSet/P: objects.Account: 'delete' needs")


def test_depths_must_name_declared_tables_and_known_privileges(two_envs, crmctl) -> None:
    (two_envs / "manifests" / "ps.yaml").write_text(
        "apiVersion: crmctl/v1\nkind: PermissionSet\nmetadata: {name: P}\n"
        "spec:\n  label: P\n  depths:\n    nw_nothing: {read: Global}\n"
        "---\napiVersion: crmctl/v1\nkind: PermissionSet\nmetadata: {name: Q}\n"
        "spec:\n  label: Q\n  depths:\n    account: {fly: Basic, read: Everywhere}\n"
    )
    r = crmctl("validate", "-e", "dv")
    assert r.out == (
        "manifests/ps.yaml:7: PermissionSet/P: depths: unknown table 'nw_nothing'\n"
        "manifests/ps.yaml:15: PermissionSet/Q: spec.depths.account: key 'fly' is not a "
        "Dataverse table privilege (read, create, edit, delete, append, appendTo, assign, share)\n"
        "manifests/ps.yaml:15: PermissionSet/Q: spec.depths.account.read must be one of Basic, "
        "Local, Deep, Global (got 'Everywhere')\n"
        "3 errors in 1 file\n"
    )


def test_plan_without_the_credentials_says_which_variable_is_missing(
    two_envs, crmctl, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CRMCTL_DV_CLIENT_ID", raising=False)
    (two_envs / "manifests" / "billing.yaml").write_text(DATAVERSE_MANIFESTS)
    r = crmctl("plan", "-e", "dv")
    assert r.exit_code == 1
    assert r.err.startswith(
        "Error: environment variable CRMCTL_DV_CLIENT_ID is not set (client id)\n"
    )
    assert "Traceback" not in r.err + r.out


def test_dataverse_environment_takes_secrets_only_by_variable_name(two_envs, crmctl) -> None:
    (two_envs / "environments" / "dv.yaml").write_text(
        DATAVERSE_ENV.replace("CRMCTL_DV_CLIENT_SECRET", "s3cr3t-value")
    )
    r = crmctl("validate", "-e", "dv")
    assert r.exit_code == 1
    assert (
        "environments/dv.yaml:6: provider.clientSecretEnv: must be the NAME of an environment "
        "variable (secrets never go in this file) (got 's3cr3t-value')"
    ) in r.err + r.out


def test_shipped_dynamics_environment_validates_its_manifests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crmctl
) -> None:
    repo = Path(__file__).resolve().parents[2]
    shutil.copytree(repo / "environments", tmp_path / "environments")
    shutil.copytree(repo / "dynamics", tmp_path / "dynamics")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    r = crmctl("validate", "-e", "dynamics")
    assert (r.exit_code, r.out, r.err) == (0, "valid: 74 resources in 10 files\n", "")


def test_required_column_cannot_have_another_required_level(two_envs, crmctl) -> None:
    (two_envs / "manifests" / "f.yaml").write_text(
        "apiVersion: crmctl/v1\nkind: CustomField\nmetadata: {name: account.nw_tier}\n"
        "spec:\n  type: Text\n  label: Tier\n  required: true\n  requiredLevel: recommended\n"
    )
    r = crmctl("validate", "-e", "dv")
    assert r.out == (
        "manifests/f.yaml:8: CustomField/account.nw_tier: spec.requiredLevel: a required "
        "column's requiredLevel is applicationRequired (or leave requiredLevel out) "
        "(got 'recommended')\n"
        "1 error in 1 file\n"
    )


DATAVERSE_REFERENCES = """\
apiVersion: crmctl/v1
kind: CustomObject
metadata: {name: nw_invoice}
spec: {label: Invoice, primaryColumn: nw_number}
---
apiVersion: crmctl/v1
kind: DuplicateRule
metadata: {name: contact.Same_Email}
spec:
  match: [{field: emailaddress1}, {field: address1_postalcode}]
---
apiVersion: crmctl/v1
kind: RetentionPolicy
metadata: {name: Old_Leads}
spec: {object: lead, dateField: createdon, retain: P2Y, action: delete, legalBasis: GDPR}
---
apiVersion: crmctl/v1
kind: RetentionPolicy
metadata: {name: Old_Invoices}
spec: {object: nw_invoice, dateField: modifiedon, retain: P2Y, action: anonymize,
       anonymizeFields: [nw_number], legalBasis: GDPR}
---
apiVersion: crmctl/v1
kind: PermissionSet
metadata: {name: Clerk}
spec:
  label: Clerk
  fields: {contact.nw_missing: [read], account.name: [read], contact.emailaddress1: [read]}
---
apiVersion: crmctl/v1
kind: RetentionPolicy
metadata: {name: Bad_Date}
spec: {object: lead, dateField: statecode, retain: P2Y, action: delete, legalBasis: GDPR}
"""


def test_dataverse_standard_and_system_columns_go_prefixed_ones_must_be_declared(
    two_envs, crmctl
) -> None:
    # Standard tables' own columns (emailaddress1, address1_postalcode) are Dataverse's, not
    # Salesforce's Account/Contact fields; every table has the system columns (createdon,
    # typed DateTime); a custom table has its primary column; a prefixed column is custom.
    (two_envs / "manifests" / "refs.yaml").write_text(DATAVERSE_REFERENCES)
    r = crmctl("validate", "-e", "dv")
    assert (r.exit_code, r.err) == (1, "")
    assert r.out == (
        "manifests/refs.yaml:28: PermissionSet/Clerk: fields: 'contact.nw_missing' is not a "
        "field of contact\n"
        "manifests/refs.yaml:33: RetentionPolicy/Bad_Date: dateField 'statecode' is a Picklist "
        "field; it must be a Date or DateTime field\n"
        "2 errors in 1 file\n"
    )
