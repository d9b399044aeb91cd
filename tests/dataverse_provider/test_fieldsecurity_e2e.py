"""Field permissions (PermissionSet.fields) through field security profiles, on the emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.dataverse_provider.org import DataverseOrg
from tests.dataverse_provider.org import apply_ok as _apply
from tests.dataverse_provider.org import plan_is_empty as _plan_is_empty
from tests.dataverse_provider.org import write_manifests as _write
from tests.dataverse_provider.test_provider_e2e import AMOUNT, REGION, TABLE
from tests.e2e.helpers import manifest

DESK = manifest(
    "PermissionSet",
    "Invoice_Desk",
    label="Invoice Desk",
    objects={"nw_invoice": ["read"]},
    depths={"nw_invoice": {"read": "Global"}},
    fields={"nw_invoice.nw_amount": ["read", "edit"], "account.nw_region": ["read"]},
)


def _profile(org: DataverseOrg, name: str) -> list[dict[str, Any]]:
    """The profile's permissions, read with plain OData: (entity.column, read, create, update)."""
    found = org.web("GET", "fieldsecurityprofiles", params={"$filter": f"name eq '{name}'"})
    assert len(found["value"]) == 1, found
    profile = found["value"][0]["fieldsecurityprofileid"]
    rows = org.web(
        "GET",
        "fieldpermissions",
        params={"$filter": f"_fieldsecurityprofileid_value eq {profile}"},
    )["value"]
    return sorted(
        (
            f"{r['entityname']}.{r['attributelogicalname']}",
            r["canread"],
            r["cancreate"],
            r["canupdate"],
        )
        for r in rows
    )


def _secured(org: DataverseOrg, table: str, column: str) -> bool:
    path = f"EntityDefinitions(LogicalName='{table}')/Attributes(LogicalName='{column}')"
    return bool(org.web("GET", path, params={"$select": "IsSecured"})["IsSecured"])


def test_field_permissions_apply_secure_columns_and_plan_empty(
    dv: Path, org: DataverseOrg, crmctl
) -> None:
    _write(dv, TABLE, AMOUNT, REGION, DESK)
    r = crmctl("plan", "-e", "dv")
    assert r.exit_code == 0, r.output
    assert (
        '      + fields: {"account.nw_region": ["read"], "nw_invoice.nw_amount": ["read", "edit"]}\n'
    ) in r.out, r.out
    _apply(crmctl)
    assert _profile(org, "Invoice Desk") == [
        ("account.nw_region", 4, 0, 0),
        ("nw_invoice.nw_amount", 4, 4, 4),
    ]
    assert _secured(org, "nw_invoice", "nw_amount")
    assert _secured(org, "account", "nw_region")
    _plan_is_empty(crmctl)


def test_one_field_permission_change_shows_field_by_field(
    dv: Path, org: DataverseOrg, crmctl
) -> None:
    _write(dv, TABLE, AMOUNT, REGION, DESK)
    _apply(crmctl)
    desk = dict(
        DESK,
        spec={
            **DESK["spec"],
            "fields": {**DESK["spec"]["fields"], "account.nw_region": ["read", "edit"]},
        },
    )
    _write(dv, TABLE, AMOUNT, REGION, desk)
    r = crmctl("plan", "-e", "dv")
    assert r.exit_code == 0, r.output
    assert (
        "  ~ PermissionSet/Invoice_Desk\n"
        '      ~ fields.account.nw_region: ["read"] -> ["read", "edit"]\n'
    ) in r.out, r.out
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in r.out
    _apply(crmctl)
    assert _profile(org, "Invoice Desk") == [
        ("account.nw_region", 4, 4, 4),
        ("nw_invoice.nw_amount", 4, 4, 4),
    ]
    _plan_is_empty(crmctl)


def test_a_field_removed_from_the_set_loses_its_permission(
    dv: Path, org: DataverseOrg, crmctl
) -> None:
    _write(dv, TABLE, AMOUNT, REGION, DESK)
    _apply(crmctl)
    desk = dict(DESK, spec={**DESK["spec"], "fields": {"nw_invoice.nw_amount": ["read"]}})
    _write(dv, TABLE, AMOUNT, REGION, desk)
    _apply(crmctl)
    assert _profile(org, "Invoice Desk") == [("nw_invoice.nw_amount", 4, 0, 0)]
    # The column stays secured: unsecuring would open it to everyone who reads the table.
    assert _secured(org, "account", "nw_region")
    _plan_is_empty(crmctl)


def test_a_hand_made_create_only_grant_shows_as_a_change(
    dv: Path, org: DataverseOrg, crmctl
) -> None:
    _write(dv, TABLE, AMOUNT, REGION, DESK)
    _apply(crmctl)
    rows = org.web(
        "GET", "fieldpermissions", params={"$filter": "attributelogicalname eq 'nw_amount'"}
    )["value"]
    org.web(
        "PATCH",
        f"fieldpermissions({rows[0]['fieldpermissionid']})",
        json={"canupdate": 0},
        app=org.other,
    )
    r = crmctl("plan", "-e", "dv")
    assert '      ~ fields.nw_invoice.nw_amount: ["read"] -> ["read", "edit"]\n' in r.out, r.out
    _apply(crmctl)
    _plan_is_empty(crmctl)


def test_deleting_the_permission_set_deletes_its_profile(
    dv: Path, org: DataverseOrg, crmctl
) -> None:
    _write(dv, TABLE, AMOUNT, REGION, DESK)
    _apply(crmctl)
    _write(dv, TABLE, AMOUNT, REGION)
    _apply(crmctl)
    found = org.web("GET", "fieldsecurityprofiles", params={"$filter": "name eq 'Invoice Desk'"})
    assert found["value"] == []
    left = org.web(
        "GET", "fieldpermissions", params={"$filter": "attributelogicalname eq 'nw_amount'"}
    )["value"]
    assert left == []
    _plan_is_empty(crmctl)
