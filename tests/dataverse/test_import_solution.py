"""`crmctl import --from dataverse-solution`: the fixture solution and the two shared ones."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from crmctl.importer.dataverse import import_dataverse_solution
from tests.conftest import SHARED_DATA, require_shared

FIXTURE = Path(__file__).resolve().parents[1] / "importer" / "dataverse_solution"
SHARED = SHARED_DATA / "dataverse"
RULES_ENGINE = SHARED / "powerplatform-rules-engine"
HMCTS = SHARED / "hmcts-pre-rec-evidence" / "src"

DATAVERSE_ENV = (
    "provider:\n"
    "  type: dataverse\n"
    "  url: https://contoso.crm.dynamics.com\n"
    "  tenantId: contoso.onmicrosoft.com\n"
    "  clientIdEnv: CRMCTL_DV_CLIENT_ID\n"
    "  clientSecretEnv: CRMCTL_DV_CLIENT_SECRET\n"
    "manifests: [manifests]\n"
)


@pytest.fixture
def dv_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project with one dataverse environment `dv` (manifests/ not created yet)."""
    root = tmp_path / "project"
    (root / "environments").mkdir(parents=True)
    (root / "environments" / "dv.yaml").write_text(DATAVERSE_ENV)
    monkeypatch.chdir(root)
    monkeypatch.delenv("CRMCTL_ENV", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    return root


def _lines(result) -> list[str]:
    return [line.render() for line in result.report]


def test_fixture_tables_columns_and_choices() -> None:
    result = import_dataverse_solution(FIXTURE)
    assert result.counts() == {"CustomObject": 1, "CustomField": 10, "PermissionSet": 3}
    res = result.resources
    assert res["CustomObject/nw_invoice"].spec == {
        "label": "Invoice",
        "pluralLabel": "Invoices",
        "description": "A bill sent to a customer.",
        "recordName": {"label": "Invoice Number"},
        "primaryColumn": "nw_number",
    }
    assert res["CustomField/nw_invoice.nw_reference"].spec == {
        "type": "Text", "length": 400, "label": "Reference", "required": True,
    }  # fmt: skip
    assert res["CustomField/nw_invoice.nw_billingemail"].spec == {
        "type": "Email", "label": "Billing Email", "requiredLevel": "recommended",
    }  # fmt: skip
    assert res["CustomField/nw_invoice.nw_amount"].spec["type"] == "Currency"
    assert res["CustomField/nw_invoice.nw_dueon"].spec["type"] == "Date"
    assert res["CustomField/nw_invoice.nw_notes"].spec["type"] == "LongTextArea"
    assert res["CustomField/nw_invoice.nw_paid"].spec["type"] == "Checkbox"
    assert res["CustomField/nw_invoice.nw_account"].spec["referenceTo"] == "account"
    status = res["CustomField/nw_invoice.nw_status"].spec
    assert status["values"] == [
        {"value": "Draft", "optionValue": 412300000},
        {"value": "Sent", "optionValue": 412300001, "default": True},
    ]
    region = res["CustomField/nw_invoice.nw_region"].spec
    assert region["globalOptionSet"] == "nw_region"
    assert [v["value"] for v in region["values"]] == ["North", "South"]


def test_fixture_roles_keep_all_four_depths() -> None:
    result = import_dataverse_solution(FIXTURE)
    clerk = result.resources["PermissionSet/Billing_Clerk"].spec
    assert clerk["label"] == "Billing Clerk"
    assert clerk["objects"] == {"nw_invoice": ["read", "create", "edit"], "account": ["read"]}
    assert clerk["depths"] == {
        "nw_invoice": {
            "create": "Basic", "read": "Local", "edit": "Basic", "append": "Basic",
            "appendTo": "Basic",
        },
        "account": {"read": "Deep"},
    }  # fmt: skip
    manager = result.resources["PermissionSet/Billing_Manager"].spec
    # Dataverse privileges are independent: delete without write is kept as it is.
    assert manager["objects"] == {"nw_invoice": ["read", "delete"]}
    assert manager["depths"] == {
        "nw_invoice": {"read": "Global", "delete": "Deep", "assign": "Local", "share": "Local"}
    }
    depths = {d for spec in (clerk, manager) for t in spec["depths"].values() for d in t.values()}
    assert depths == {"Basic", "Local", "Deep", "Global"}
    assert result.resources["PermissionSet/Invoice_Amounts"].spec == {
        "label": "Invoice Amounts",
        "description": "Who sees invoice amounts",
        "fields": {"nw_invoice.nw_amount": ["read", "edit"], "nw_invoice.nw_notes": ["read"]},
    }


def test_fixture_reports_what_it_cannot_convert_with_file_and_reason() -> None:
    assert sorted(_lines(import_dataverse_solution(FIXTURE))) == sorted(
        [
            "Entities/nw_Invoice/Entity.xml: CustomField/nw_invoice.nw_scan: column type image "
            "has no crmctl field type",
            "Entities/nw_Invoice/Entity.xml: CustomField/nw_invoice.nw_lines: MinValue/MaxValue "
            "(0..500) are not modelled by crmctl yet (the rest is converted)",
            "OptionSets/nw_unused.xml: a global choice no converted column uses: crmctl declares "
            "a choice's values on the columns that use it",
            "Workflows: 1 file(s): crmctl has no kind for Workflows",
            "Roles/Billing Clerk.xml: PermissionSet/Billing_Clerk: 1 privilege(s) that are not "
            "table privileges with a depth: prvExportToExcel (the rest is converted)",
            "Roles/Billing Clerk.xml: PermissionSet/Billing_Clerk: privileges on 1 table(s) left "
            "out, not in this solution and not standard tables crmctl knows: nw_shipment "
            "(the rest is converted)",
            "Roles/Billing Clerk.xml: PermissionSet/Billing_Clerk: permissions on object "
            "nw_shipment left out: the object is not converted (the rest is converted)",
            "Other/FieldSecurityProfiles.xml: PermissionSet/Invoice_Amounts: nw_invoice.nw_notes: "
            "create without update has no crmctl counterpart (crmctl's field access is read and "
            "edit) (the rest is converted)",
        ]
    )


def test_cli_writes_files_that_validate_in_a_dataverse_environment(
    dv_project: Path, crmctl
) -> None:
    r = crmctl("import", "--from", "dataverse-solution", str(FIXTURE), "--out", "manifests")
    assert (r.exit_code, r.err) == (0, "")
    assert r.out.startswith(
        "Wrote 4 file(s) to manifests:\n"
        "  objects/nw_invoice.yaml  11 resources\n"
        "  permission-sets/Billing_Clerk.yaml  1 resource\n"
        "  permission-sets/Billing_Manager.yaml  1 resource\n"
        "  permission-sets/Invoice_Amounts.yaml  1 resource\n"
    )
    assert r.out.endswith(
        "Imported 14 resources (1 CustomObject, 10 CustomField, 3 PermissionSet) from "
        f"{FIXTURE}; 3 item(s) not converted, 5 converted in part (listed above).\n"
    )
    written = (dv_project / "manifests" / "objects" / "nw_invoice.yaml").read_text()
    assert written.startswith(
        "# Imported from the unpacked Dataverse solution dataverse_solution "
        "by crmctl import --from dataverse-solution.\n"
    )
    docs = list(yaml.safe_load_all(written))
    assert docs[0]["metadata"] == {"name": "nw_invoice"}
    r = crmctl("validate", "-e", "dv")
    assert (r.exit_code, r.out, r.err) == (0, "valid: 14 resources in 4 files\n", "")
    # A second import does not overwrite without --force, and writes nothing.
    r = crmctl("import", "--from", "dataverse-solution", str(FIXTURE), "--out", "manifests")
    assert r.exit_code == 1
    assert "4 file(s) to write already exist in manifests" in r.err


def test_cli_refuses_a_folder_without_a_solution(dv_project: Path, crmctl) -> None:
    (dv_project / "empty").mkdir()
    r = crmctl("import", "--from", "dataverse-solution", "empty", "--out", "manifests")
    assert r.exit_code == 1
    assert "nothing to import from empty: no convertible components found" in r.err
    assert not (dv_project / "manifests").exists()


@pytest.mark.parametrize(
    ("folder", "expected", "counts"),
    [
        # lookups to system tables (aaduser, systemuser) are kept: any table without a publisher
        # prefix is a standard one, as on Salesforce any object without __c
        (RULES_ENGINE, "valid: 23 resources in 6 files\n", {"CustomObject": 6, "CustomField": 17}),
        (HMCTS, "valid: 77 resources in 11 files\n", {"CustomObject": 10, "CustomField": 67}),
    ],
    ids=["rules-engine", "hmcts"],
)
def test_shared_solutions_import_and_validate_clean(
    folder: Path, expected: str, counts: dict[str, int], dv_project: Path, crmctl
) -> None:
    require_shared(folder)
    assert import_dataverse_solution(folder).counts() == counts
    r = crmctl("import", "--from", "dataverse-solution", str(folder), "--out", "manifests")
    assert (r.exit_code, r.err) == (0, "")
    r = crmctl("validate", "-e", "dv")
    assert (r.exit_code, r.out, r.err) == (0, expected, "")


def test_shared_solutions_report_with_file_and_reason() -> None:
    rules = _lines(import_dataverse_solution(require_shared(RULES_ENGINE)))
    assert (
        "Entities/bac_packagereviewprocess/Entity.xml: CustomObject/bac_packagereviewprocess: "
        "a business process flow table: its process creates it; crmctl does not declare it"
    ) in rules
    # a lookup to a system table (aaduser) is kept, not left out
    assert not any("bac_assignment.bac_person" in line for line in rules)
    hmcts = _lines(import_dataverse_solution(require_shared(HMCTS)))
    assert (
        "Entities/pre__Assets/Entity.xml: CustomField/pre__assets.pre__article: "
        "column type file has no crmctl field type"
    ) in hmcts
