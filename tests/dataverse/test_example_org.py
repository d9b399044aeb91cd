"""The Dataverse example organisation (dynamics/manifests/) validates, plans and applies
against the sandbox's Dataverse emulator through environments/dynamics-local.yaml."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.dataverse.emulator import CLIENT_ID, CLIENT_SECRET, Emulator, emulator  # noqa: F401

VALIDATION_RULES = [
    ("objects/consent.yaml", 104, "nw_consent.Web_Needs_IP"),
    ("objects/invoice.yaml", 114, "nw_invoice.Due_After_Issue"),
    ("objects/invoice.yaml", 125, "nw_invoice.Paid_Needs_Date"),
    ("objects/subscription.yaml", 111, "nw_subscription.End_After_Start"),
    ("standard/account.yaml", 67, "account.Region_Required_For_Customers"),
    ("standard/contact.yaml", 111, "contact.Email_Or_Phone"),
    ("standard/contact.yaml", 120, "contact.Birth_Date_In_Past"),
]
#: The columns whose required: true is ApplicationRequired, in the plan's order.
REQUIRED_COLUMNS = [
    ("objects/consent.yaml", 66, "nw_consent.nw_capturedon"),
    ("objects/consent.yaml", 41, "nw_consent.nw_channel"),
    ("objects/consent.yaml", 24, "nw_consent.nw_contact"),
    ("objects/consent.yaml", 55, "nw_consent.nw_status"),
    ("objects/invoice.yaml", 27, "nw_invoice.nw_account"),
    ("objects/invoice.yaml", 39, "nw_invoice.nw_amount"),
    ("objects/invoice.yaml", 66, "nw_invoice.nw_issuedate"),
    ("objects/subscription.yaml", 24, "nw_subscription.nw_account"),
    ("objects/subscription.yaml", 42, "nw_subscription.nw_plan"),
    ("objects/subscription.yaml", 87, "nw_subscription.nw_startdate"),
]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, emulator: Emulator) -> Path:  # noqa: F811
    """The repository's environments/ and dynamics/, dynamics-local pointed at the emulator."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copytree(REPO / "environments", root / "environments")
    shutil.copytree(REPO / "dynamics", root / "dynamics")
    env = root / "environments" / "dynamics-local.yaml"
    env.write_text(env.read_text().replace("https://127.0.0.1:8765", emulator.url))
    monkeypatch.setenv("CRMCTL_DV_LOCAL_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("CRMCTL_DV_LOCAL_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.chdir(root)
    monkeypatch.delenv("CRMCTL_ENV", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("CRMCTL_ACTOR", "tester@example.com")
    # The root business unit is named after the organisation (Northwind), as the manifests say.
    emulator.rename_root_unit("Northwind")
    return root


def test_plan_shows_what_dataverse_will_not_apply(project: Path, crmctl) -> None:
    r = crmctl("validate", "-e", "dynamics-local")
    assert (r.exit_code, r.out, r.err) == (0, "valid: 74 resources in 10 files\n", "")
    r = crmctl("plan", "-e", "dynamics-local")
    assert (r.exit_code, r.err) == (0, ""), r.out
    warnings = r.out.partition("\ncrmctl will make these changes")[0]
    assert warnings == "".join(
        [
            "ValidationRule: 7 resources not planned: this provider does not support "
            "ValidationRule [warning]\n",
            *(
                f"dynamics/manifests/{path}:{line}: CustomField/{name}: required is "
                "ApplicationRequired (business required) on Dataverse: its apps enforce it, its "
                "Web API does not (an integration or import can still leave it empty) [warning]\n"
                for path, line, name in REQUIRED_COLUMNS
            ),
            *(
                f"dynamics/manifests/{path}:{line}: ValidationRule/{name}: not planned: "
                "Dataverse business rules cannot be authored through the Web API "
                "(docs/dynamics.md, ValidationRule); the rule is not applied on this "
                "environment [warning]\n"
                for path, line, name in VALIDATION_RULES
            ),
        ]
    )
    assert r.out.endswith("Plan: 66 to add, 0 to change, 0 to destroy.\n")
    # classification is a label kept in git: shown with the column, never sent to Dataverse.
    assert "  + CustomField/contact.nw_nationalid\n" in r.out
    assert '      + classification: "Sensitive"\n' in r.out
    assert "+ CustomObject/nw_invoice\n" in r.out
    assert "+ Role/Northwind" not in r.out  # the root business unit exists in every environment


def test_applies_to_an_empty_emulator_and_plans_empty(
    project: Path,
    emulator: Emulator,  # noqa: F811
    crmctl,
) -> None:
    r = crmctl("apply", "-e", "dynamics-local", "--auto-approve")
    assert r.exit_code == 0, r.output
    # The live environment, read by a client of its own.
    assert emulator.custom_tables() == {"nw_invoice", "nw_subscription", "nw_consent"}
    assert {"Sales EMEA", "Sales AMER", "Customer Success", "Operations"} <= emulator.names(
        "businessunits"
    )
    assert {"Sales Representative", "Security Officer", "CRM Administrator"} <= emulator.names(
        "roles"
    )
    r = crmctl("plan", "-e", "dynamics-local", "--detailed-exitcode")
    assert (r.exit_code, r.err) == (0, ""), r.out
    assert r.out.endswith(
        "Unmanaged: 2 resources in the CRM are not in the manifests; crmctl leaves them alone:\n"
        "  PermissionSet/System_Administrator\n"
        "  PermissionSet/System_Customizer\n"
        "\n"
        "No changes. The CRM matches the manifests.\n"
    )
    # Dataverse stores no classification, and drift does not report it.
    r = crmctl("drift", "-e", "dynamics-local")
    assert (r.exit_code, r.err) == (0, ""), r.out
    assert r.out.endswith("No drift in dynamics-local: 67 in sync.\n")
