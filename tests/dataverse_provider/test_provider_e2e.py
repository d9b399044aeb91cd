"""crmctl against a Dataverse environment (the sandbox's emulator over https), through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dataverse_provider.org import DataverseOrg
from tests.dataverse_provider.org import apply_ok as _apply
from tests.dataverse_provider.org import write_manifests as _write
from tests.e2e.helpers import manifest

TABLE = manifest("CustomObject", "nw_invoice", label="Invoice", description="A bill")
AMOUNT = manifest("CustomField", "nw_invoice.nw_amount", type="Currency", label="Amount", scale=2)
STATUS = manifest(
    "CustomField",
    "nw_invoice.nw_status",
    type="Picklist",
    label="Status",
    values=["Draft", "Sent"],
)
REGION = manifest("CustomField", "account.nw_region", type="Text", label="Region", length=50)
DESK = manifest(
    "PermissionSet",
    "Invoice_Desk",
    label="Invoice Desk",
    objects={"nw_invoice": ["read", "create", "edit"]},
    depths={
        "nw_invoice": {"read": "Global", "create": "Basic", "edit": "Local", "appendTo": "Deep"}
    },
)
RULE = manifest(
    "ValidationRule",
    "nw_invoice.Positive_Amount",
    condition="nw_amount <= 0",
    errorMessage="The amount must be positive.",
)
MANIFESTS = [TABLE, AMOUNT, STATUS, REGION, DESK]


def _line(path: Path, text: str, after: str = "") -> int:
    """The 1-based number of the first line holding `text` (after the line holding `after`)."""
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if after in line) if after else 0
    return next(i for i, line in enumerate(lines) if i >= start and text in line) + 1


def _applied(dv: Path, crmctl, *docs: dict) -> None:
    _write(dv, *docs)
    _apply(crmctl)


def test_plan_apply_then_no_changes(dv: Path, org: DataverseOrg, crmctl) -> None:
    path = _write(dv, *MANIFESTS, RULE)
    rule_line = _line(path, "kind: ValidationRule") - 1  # the document starts at apiVersion
    r = crmctl("plan", "-e", "dv")
    assert r.exit_code == 0, r.output
    assert f"crmctl will make these changes in dv (dataverse {org.url}):" in r.out
    assert "Plan: 5 to add, 0 to change, 0 to destroy." in r.out
    assert (
        f"dv/org.yaml:{rule_line}: ValidationRule/nw_invoice.Positive_Amount: not planned: "
        "Dataverse business rules cannot be authored through the Web API (docs/dynamics.md, "
        "ValidationRule); the rule is not applied on this environment [warning]\n"
    ) in r.out
    r = crmctl("apply", "-e", "dv", "--auto-approve")
    assert r.exit_code == 0, r.output
    assert "Apply complete: 5 added, 0 changed, 0 destroyed. Recorded as v1 of dv." in r.out
    r = crmctl("plan", "-e", "dv", "--detailed-exitcode")
    assert r.exit_code == 0, r.output
    assert r.out.strip().splitlines()[-1] == "No changes. The CRM matches the manifests."
    # The Web API itself, asked by a client that is not crmctl, holds what the manifests say.
    table = org.web("GET", "EntityDefinitions(LogicalName='nw_invoice')?$select=DisplayName")
    assert table["DisplayName"]["UserLocalizedLabel"]["Label"] == "Invoice"
    region = org.web(
        "GET",
        "EntityDefinitions(LogicalName='account')/Attributes(LogicalName='nw_region')/"
        "Microsoft.Dynamics.CRM.StringAttributeMetadata?$select=MaxLength",
    )
    assert region["MaxLength"] == 50
    roles = org.web("GET", "roles?$select=roleid,name&$filter=name eq 'Invoice Desk'")["value"]
    assert len(roles) == 1
    privileges = org.web("GET", f"RetrieveRolePrivilegesRole(RoleId={roles[0]['roleid']})")
    depths = {p["PrivilegeName"]: p["Depth"] for p in privileges["RolePrivileges"]}
    assert depths == {
        "prvReadnw_invoice": "Global",
        "prvCreatenw_invoice": "Basic",
        "prvWritenw_invoice": "Local",
        "prvAppendTonw_invoice": "Deep",
    }


def test_an_update_shows_field_by_field_and_applies(dv: Path, org: DataverseOrg, crmctl) -> None:
    _applied(dv, crmctl, *MANIFESTS)
    amount = dict(AMOUNT, spec={**AMOUNT["spec"], "label": "Total"})
    status = dict(STATUS, spec={**STATUS["spec"], "values": ["Draft", "Paid"]})
    desk = dict(
        DESK,
        spec={
            **DESK["spec"],
            "depths": {"nw_invoice": {**DESK["spec"]["depths"]["nw_invoice"], "read": "Local"}},
        },
    )
    _write(dv, TABLE, amount, status, REGION, desk)
    r = crmctl("plan", "-e", "dv")
    assert r.exit_code == 0, r.output
    assert '  ~ CustomField/nw_invoice.nw_amount\n      ~ label: "Amount" -> "Total"\n' in r.out
    assert (
        # The removed option is shown with the value Dataverse gave it (publisher prefix 41230).
        '      - values[Sent]: {"value": "Sent", "label": "Sent", "default": false, "active": true, '
        '"optionValue": 412300001}\n'
        '      + values[Paid]: {"value": "Paid", "label": "Paid", "default": false, "active": true}\n'
    ) in r.out
    assert '      ~ depths.nw_invoice.read: "Global" -> "Local"' in r.out
    assert "Plan: 0 to add, 3 to change, 0 to destroy." in r.out
    r = crmctl("apply", "-e", "dv", "--auto-approve")
    assert r.exit_code == 0, r.output
    r = crmctl("plan", "-e", "dv", "--detailed-exitcode")
    assert r.exit_code == 0, r.out
    assert r.out.strip().splitlines()[-1] == "No changes. The CRM matches the manifests."
    column = org.web(
        "GET",
        "EntityDefinitions(LogicalName='nw_invoice')/Attributes(LogicalName='nw_status')/"
        "Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName&$expand=OptionSet",
    )
    labels = [o["Label"]["UserLocalizedLabel"]["Label"] for o in column["OptionSet"]["Options"]]
    assert labels == ["Draft", "Paid"]


def test_a_type_change_is_refused_in_the_plan_at_its_line(
    dv: Path, org: DataverseOrg, crmctl
) -> None:
    _applied(dv, crmctl, *MANIFESTS)
    region = dict(REGION, spec={"type": "Number", "label": "Region", "scale": 0})
    path = _write(dv, TABLE, AMOUNT, STATUS, region, DESK)
    type_line = _line(path, "type: Number", after="account.nw_region")
    r = crmctl("plan", "-e", "dv")
    assert r.exit_code == 1
    assert (
        f"dv/org.yaml:{type_line}: CustomField/account.nw_region: Dataverse cannot change a column's data "
        "type after it is created (Text -> Number: StringAttributeMetadata -> "
        "IntegerAttributeMetadata); only a text column can become an autonumber column; refused"
    ) in r.out
    assert "The plan has errors and cannot be applied." in r.out
    r = crmctl("apply", "-e", "dv", "--auto-approve")
    assert r.exit_code == 1
    region_column = org.web(
        "GET",
        "EntityDefinitions(LogicalName='account')/Attributes(LogicalName='nw_region')?$select=AttributeType",
    )
    assert region_column["AttributeType"] == "String"


def test_429_is_retried_after_retry_after(dv: Path, org: DataverseOrg, crmctl) -> None:
    _write(dv, *MANIFESTS)
    org.server.faults.configure({"rateLimit": {"count": 2, "retryAfter": 1}})
    r = crmctl("plan", "-e", "dv")
    assert r.exit_code == 0, r.output
    assert "Plan: 5 to add" in r.out
    assert "the CRM answered 429; retrying (1/5)" in r.err


def test_a_failure_mid_apply_restores(dv: Path, org: DataverseOrg, crmctl) -> None:
    _applied(dv, crmctl, TABLE)
    _write(dv, *MANIFESTS)
    org.server.faults.configure({"failNthWrite": {"n": 4, "status": 500}})
    r = crmctl("apply", "-e", "dv", "--auto-approve")
    assert r.exit_code == 1
    assert "  + CustomField/account.nw_region     applied\n" in r.out
    assert "  - CustomField/account.nw_region     undone\n" in r.out
    # Dataverse answered the failed write: nothing of it can still be running, so the
    # restore does not wait out the platform's 4-minute cut (resolve.SETTLED).
    assert "its answer never came" not in r.err, r.err
    assert (
        "They were undone (1 change(s)); the CRM is back as it was before the apply (checked). "
        "Recorded as v2 of dv (failed, restored)."
    ) in r.out + r.err
    columns = org.web(
        "GET", "EntityDefinitions(LogicalName='account')/Attributes?$select=LogicalName"
    )["value"]
    assert "nw_region" not in {c["LogicalName"] for c in columns}
    org.server.faults.clear()
    _write(dv, TABLE)
    r = crmctl("plan", "-e", "dv", "--detailed-exitcode")
    assert r.exit_code == 0, r.out
    assert r.out.strip().splitlines()[-1] == "No changes. The CRM matches the manifests.", r.output


def test_rollback_to_version_1(dv: Path, org: DataverseOrg, crmctl) -> None:
    _applied(dv, crmctl, *MANIFESTS)
    amount = dict(AMOUNT, spec={**AMOUNT["spec"], "label": "Total"})
    _applied(dv, crmctl, TABLE, amount, STATUS, REGION, DESK)
    r = crmctl("rollback", "-e", "dv", "--to", "v1", "--auto-approve")
    assert r.exit_code == 0, r.output
    column = org.web(
        "GET",
        "EntityDefinitions(LogicalName='nw_invoice')/Attributes(LogicalName='nw_amount')?$select=DisplayName",
    )
    assert column["DisplayName"]["UserLocalizedLabel"]["Label"] == "Amount"


def test_the_secret_never_appears(dv: Path, org: DataverseOrg, crmctl, tmp_path: Path) -> None:
    _write(dv, *MANIFESTS)
    outputs = []
    r = crmctl("plan", "-e", "dv", "--out", "plan.json")
    outputs.append(r.output)
    r = crmctl("apply", "plan.json", "--format", "json")
    outputs.append(r.output)
    assert r.exit_code == 0, r.output
    stored = [p.read_bytes() for p in dv.rglob("*") if p.is_file()]
    assert all(org.app.secret not in text for text in outputs)
    assert all(org.app.secret.encode() not in data for data in stored)


def test_a_default_option_is_kept_with_the_options(dv: Path, crmctl) -> None:
    status = dict(
        STATUS, spec={**STATUS["spec"], "values": [{"value": "Draft", "default": True}, "Sent"]}
    )
    _applied(dv, crmctl, TABLE, status)
    r = crmctl("plan", "-e", "dv", "--detailed-exitcode")
    assert r.exit_code == 0, r.out


def test_drift_after_a_hand_change_names_who_made_it(dv: Path, org: DataverseOrg, crmctl) -> None:
    _applied(dv, crmctl, *MANIFESTS)
    role = org.web("GET", "roles?$select=roleid&$filter=name eq 'Invoice Desk'")["value"][0]
    privilege = org.web(
        "GET", "privileges?$select=privilegeid&$filter=name eq 'prvDeletenw_invoice'"
    )["value"][0]
    org.web(
        "POST",
        f"roles({role['roleid']})/Microsoft.Dynamics.CRM.AddPrivilegesRole",
        app=org.other,
        json={
            "Privileges": [
                {
                    "Depth": "Global",
                    "PrivilegeId": privilege["privilegeid"],
                    "BusinessUnitId": org.web("GET", "WhoAmI")["BusinessUnitId"],
                    "PrivilegeName": "prvDeletenw_invoice",
                }
            ]
        },
    )
    r = crmctl("drift", "-e", "dv")
    assert r.exit_code == 2, r.output
    assert ("  ~ PermissionSet/Invoice_Desk  modified out of band by someone-else at ") in r.out, (
        r.out
    )


def test_a_wrong_secret_is_refused_without_showing_it(
    dv: Path, org: DataverseOrg, crmctl, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRMCTL_DV_CLIENT_SECRET", "the-wrong-secret-value")
    _write(dv, TABLE)
    r = crmctl("plan", "-e", "dv")
    assert r.exit_code == 1
    assert r.err.startswith(
        f"Error: sign-in to {org.url}/contoso.onmicrosoft.com as the client in "
        "$CRMCTL_DV_CLIENT_ID failed: invalid_client"
    ), r.err
    assert "the-wrong-secret-value" not in r.output and org.app.secret not in r.output
    assert "Traceback" not in r.output


def test_reading_takes_the_same_requests_as_the_org_grows(
    dv: Path, org: DataverseOrg, crmctl
) -> None:
    from crmctl.config.environment import load_environment
    from crmctl.providers import create_provider

    provider = create_provider(load_environment("dv", dv))
    counts = []
    for start, count in ((0, 2), (2, 10)):
        for i in range(start, start + count):
            org.web("POST", "EntityDefinitions", json=_table_body(f"nw_t{i}"))
            org.web(
                "POST",
                f"EntityDefinitions(LogicalName='nw_t{i}')/Attributes",
                json={
                    "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
                    "SchemaName": f"nw_c{i}",
                    "MaxLength": 20,
                    "DisplayName": _label(f"C{i}"),
                    "RequiredLevel": {"Value": "None"},
                },
            )
        before = provider.requests_made
        live = provider.read(provider.supported_kinds())
        counts.append(provider.requests_made - before)
        assert sum(r.kind == "CustomObject" for r in live) == start + count
    provider.close()
    assert counts[0] == counts[1]


def _label(text: str) -> dict:
    return {"LocalizedLabels": [{"Label": text, "LanguageCode": 1033}]}


def _table_body(name: str) -> dict:
    return {
        "@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata",
        "SchemaName": name,
        "DisplayName": _label(name),
        "DisplayCollectionName": _label(name + "s"),
        "OwnershipType": "UserOwned",
        "IsActivity": False,
        "HasActivities": False,
        "HasNotes": False,
        "Attributes": [
            {
                "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
                "SchemaName": "nw_name",
                "IsPrimaryName": True,
                "MaxLength": 100,
                "FormatName": {"Value": "Text"},
                "DisplayName": _label("Name"),
                "RequiredLevel": {"Value": "None"},
            }
        ],
    }


def test_a_lookup_is_made_and_removed_with_its_relationship(
    dv: Path, org: DataverseOrg, crmctl
) -> None:
    customer = manifest(
        "CustomField",
        "nw_invoice.nw_customer",
        type="Lookup",
        label="Customer",
        referenceTo="account",
    )
    _applied(dv, crmctl, TABLE, customer)
    r = crmctl("plan", "-e", "dv", "--detailed-exitcode")
    assert r.exit_code == 0, r.out
    relationships = org.web(
        "GET",
        "EntityDefinitions(LogicalName='nw_invoice')/ManyToOneRelationships?$select=ReferencedEntity,ReferencingAttribute",
    )["value"]
    assert [(x["ReferencedEntity"], x["ReferencingAttribute"]) for x in relationships] == [
        ("account", "nw_customer")
    ]
    _write(dv, TABLE)
    r = crmctl("apply", "-e", "dv", "--auto-approve")
    assert r.exit_code == 0, r.output
    assert "Apply complete: 0 added, 0 changed, 1 destroyed." in r.out
    columns = org.web(
        "GET", "EntityDefinitions(LogicalName='nw_invoice')/Attributes?$select=LogicalName"
    )
    assert "nw_customer" not in {c["LogicalName"] for c in columns["value"]}


def test_a_table_with_a_lookup_to_it_is_not_deleted(dv: Path, org: DataverseOrg, crmctl) -> None:
    order = manifest("CustomObject", "nw_order", label="Order")
    _applied(dv, crmctl, TABLE, order)
    # The lookup is made by hand, outside crmctl: Dataverse keeps the table while it is used.
    org.web(
        "POST",
        "RelationshipDefinitions",
        json={
            "@odata.type": "Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
            "SchemaName": "nw_order_nw_invoice",
            "ReferencedEntity": "nw_order",
            "ReferencingEntity": "nw_invoice",
            "Lookup": {
                "@odata.type": "Microsoft.Dynamics.CRM.LookupAttributeMetadata",
                "SchemaName": "nw_order",
                "DisplayName": _label("Order"),
                "RequiredLevel": {"Value": "None"},
            },
        },
    )
    _write(dv, TABLE)
    r = crmctl("apply", "-e", "dv", "--auto-approve")
    assert r.exit_code == 1
    assert "FAILED: Dataverse will not delete table nw_order: 1 component(s) depend on it" in r.out
    assert "nothing was deleted" in r.out
    tables = org.web("GET", "EntityDefinitions?$select=LogicalName")["value"]
    assert "nw_order" in {t["LogicalName"] for t in tables}


def _label_body(text: str) -> dict:
    return {"LocalizedLabels": [{"Label": text, "LanguageCode": 1033}]}


def test_microsoft_tables_and_columns_are_never_read_as_crmctls(
    dv: Path, org: DataverseOrg, crmctl
) -> None:
    """A Dynamics 365 app's `msdyn_` table and column are custom to Dataverse, not to the
    manifests, which may not declare them: plan leaves them out, import writes none."""
    _write(dv, TABLE)
    _applied(dv, crmctl, TABLE)
    text = {"@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata", "MaxLength": 50,
            "RequiredLevel": {"Value": "None"}, "FormatName": {"Value": "Text"}}  # fmt: skip
    table = {
        "@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata", "SchemaName": "msdyn_workorder",
        "DisplayName": _label_body("Work Order"),
        "DisplayCollectionName": _label_body("Work Orders"), "OwnershipType": "UserOwned",
        "HasNotes": False, "HasActivities": False, "IsActivity": False,
        "Attributes": [{**text, "SchemaName": "msdyn_name", "IsPrimaryName": True,
                        "DisplayName": _label_body("Name")}],
    }  # fmt: skip
    org.web("POST", "EntityDefinitions", app=org.other, json=table)
    column = {**text, "SchemaName": "msdyn_rating", "DisplayName": _label_body("Rating")}
    org.web(
        "POST", "EntityDefinitions(LogicalName='account')/Attributes", app=org.other, json=column
    )
    r = crmctl("plan", "-e", "dv", "--detailed-exitcode")
    assert r.exit_code == 0, r.output
    assert "msdyn" not in r.out, r.out
    r = crmctl("import", "-e", "dv", "--all", "--out", "imported")
    assert r.exit_code == 0, r.output
    assert "msdyn" not in "".join(p.read_text() for p in (dv / "imported").rglob("*.yaml"))
