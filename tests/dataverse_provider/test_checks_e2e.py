"""What Dataverse would refuse mid-apply is refused by the plan at the manifest line.

The root business unit (one Role without a parent, adopted by name); names the provider
composes from manifest values (retention); option values (`values[].optionValue`).
Each against the sandbox's emulator over https, through the CLI.
"""

from __future__ import annotations

from pathlib import Path

from tests.dataverse_provider.org import DataverseOrg
from tests.dataverse_provider.org import apply_ok as _apply
from tests.dataverse_provider.org import plan_is_empty as _plan_is_empty
from tests.dataverse_provider.org import write_manifests as _write
from tests.dataverse_provider.test_provider_e2e import TABLE
from tests.dataverse_provider.test_retention_e2e import ISSUED
from tests.e2e.helpers import manifest

NORTHWIND = manifest("Role", "Northwind", label="Northwind")
SALES = manifest("Role", "Sales", label="Sales", parent="Northwind")


def _line(path: Path, text: str, after: str = "") -> int:
    """The 1-based number of the first line holding `text` (after the line holding `after`)."""
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if after in line) if after else 0
    return next(i for i, line in enumerate(lines) if i >= start and text in line) + 1


def _units(org: DataverseOrg) -> list[str]:
    return sorted(u["name"] for u in org.web("GET", "businessunits?$select=name")["value"])


def test_a_root_role_not_named_as_the_root_unit_is_refused_by_the_plan(
    dv: Path, org: DataverseOrg, crmctl
) -> None:
    path = _write(dv, NORTHWIND, SALES)
    line = _line(path, "name: Northwind")
    r = crmctl("plan", "-e", "dv")
    assert r.exit_code == 1, r.output
    assert (
        f"dv/org.yaml:{line}: Role/Northwind: a Role without a parent is the environment's root "
        "business unit, which crmctl adopts by name, and this environment's root unit is "
        "'sandbox' (Role/sandbox), not Northwind; refused\n"
        "  hint: rename Role/Northwind to sandbox in the manifests (its label 'sandbox', and "
        "every parent: Northwind), or rename the environment's root business unit to "
        "'Northwind' first"
    ) in r.out, r.out
    assert "The plan has errors and cannot be applied." in r.out
    r = crmctl("apply", "-e", "dv", "--auto-approve")
    assert r.exit_code == 1
    assert _units(org) == ["sandbox"]  # nothing was written: Sales was not created either


def test_the_root_unit_renamed_in_dataverse_is_adopted(dv: Path, org: DataverseOrg, crmctl) -> None:
    root = org.web(
        "GET", "businessunits?$select=businessunitid&$filter=_parentbusinessunitid_value eq null"
    )
    org.web(
        "PATCH", f"businessunits({root['value'][0]['businessunitid']})", json={"name": "Northwind"}
    )
    _write(dv, NORTHWIND, SALES)
    r = crmctl("apply", "-e", "dv", "--auto-approve")
    assert r.exit_code == 0, r.output
    assert "Apply complete: 1 added, 0 changed, 0 destroyed." in r.out
    assert _units(org) == ["Northwind", "Sales"]
    _plan_is_empty(crmctl)


def test_two_roots_are_refused_by_the_plan(dv: Path, org: DataverseOrg, crmctl) -> None:
    root = manifest("Role", "sandbox", label="sandbox")
    path = _write(dv, root, NORTHWIND)
    lines = (_line(path, "name: sandbox"), _line(path, "name: Northwind"))
    r = crmctl("plan", "-e", "dv")
    assert r.exit_code == 1, r.output
    for line, name in zip(lines, ("sandbox", "Northwind"), strict=True):
        assert (
            f"dv/org.yaml:{line}: Role/{name}: a Dataverse environment has one root business "
            "unit, and 2 Roles without a parent are declared (sandbox, Northwind); refused\n"
            "  hint: keep one Role without a parent (the root unit) and give the others a parent"
        ) in r.out, r.out
    assert crmctl("apply", "-e", "dv", "--auto-approve").exit_code == 1
    assert _units(org) == ["sandbox"]


def test_removing_the_root_role_is_refused_by_the_plan(dv: Path, org: DataverseOrg, crmctl) -> None:
    root = manifest("Role", "sandbox", label="sandbox", description="The environment")
    viewer = manifest("PermissionSet", "Viewer", label="Viewer")
    _write(dv, root, viewer)
    _apply(crmctl)
    _write(dv, viewer)
    r = crmctl("plan", "-e", "dv")
    assert r.exit_code == 1, r.output
    assert (
        "Role/sandbox: Role/sandbox is the environment's root business unit ('sandbox'), which "
        "Dataverse never deletes; refused\n"
        "  hint: keep Role/sandbox in the manifests: the root unit is adopted, never created or "
        "deleted"
    ) in r.out, r.out
    assert crmctl("apply", "-e", "dv", "--auto-approve").exit_code == 1
    assert _units(org) == ["sandbox"]


# The name of a policy's job or retention policy is `<name> {"legalBasis": …, "retain": …}`:
# 49 characters around an empty legal basis for PURGE, 52 for ARCHIVE.
def _purge(legal_basis: str) -> dict:
    return manifest(
        "RetentionPolicy",
        "Invoice_Purge",
        object="nw_invoice",
        dateField="nw_issuedon",
        retain="P7Y",
        action="delete",
        legalBasis=legal_basis,
    )


def _archive(legal_basis: str) -> dict:
    return manifest(
        "RetentionPolicy",
        "Invoice_Archive",
        object="nw_invoice",
        dateField="nw_issuedon",
        retain="P18M",
        action="archive",
        legalBasis=legal_basis,
    )


def _retention_names(org: DataverseOrg) -> list[str]:
    jobs = [row["name"] for row in org.web("GET", "bulkdeleteoperations?$select=name")["value"]]
    policies = [row["name"] for row in org.web("GET", "retentionconfigs?$select=name")["value"]]
    return jobs + policies


def test_a_retention_name_longer_than_dataverse_keeps_is_refused_by_the_plan(
    dv: Path, org: DataverseOrg, crmctl
) -> None:
    path = _write(dv, TABLE, ISSUED, _purge("y" * 208), _archive("x" * 49))
    purge_line = _line(path, "legalBasis:", after="name: Invoice_Purge")
    archive_line = _line(path, "legalBasis:", after="name: Invoice_Archive")
    r = crmctl("plan", "-e", "dv")
    assert r.exit_code == 1, r.output
    assert (
        f"dv/org.yaml:{purge_line}: RetentionPolicy/Invoice_Purge: Dataverse keeps the policy's "
        "name, legalBasis, retain and description in its bulk-delete job's name ('<name> "
        "<JSON>'), which holds at most 256 characters: this one would be 257; refused\n"
        "  hint: shorten legalBasis by at least 1 character\n"
    ) in r.out, r.out
    assert (
        f"dv/org.yaml:{archive_line}: RetentionPolicy/Invoice_Archive: Dataverse keeps the "
        "policy's name, legalBasis, retain and description in its retention policy "
        "(retentionconfig)'s name ('<name> <JSON>'), which holds at most 100 characters: this "
        "one would be 101; refused\n"
    ) in r.out, r.out
    assert crmctl("apply", "-e", "dv", "--auto-approve").exit_code == 1
    assert _retention_names(org) == []
    assert (
        org.web("GET", "EntityDefinitions?$select=LogicalName&$filter=LogicalName eq 'nw_invoice'")[
            "value"
        ]
        == []
    )  # nothing at all was written


def test_a_retention_name_at_the_limit_applies_and_plans_empty(
    dv: Path, org: DataverseOrg, crmctl
) -> None:
    _write(dv, TABLE, ISSUED, _purge("y" * 207), _archive("x" * 48))
    _apply(crmctl)
    assert sorted(len(name) for name in _retention_names(org)) == [100, 256]
    _plan_is_empty(crmctl)


# Option values: the environment's solution has the publisher prefix 41230 (412300000 on).
def _status(*values: object) -> dict:
    return manifest(
        "CustomField", "nw_invoice.nw_status", type="Picklist", label="Status", values=list(values)
    )


def _options(org: DataverseOrg) -> list[tuple[str, int]]:
    """(label, value) of nw_status's options, read with plain OData."""
    column = org.web(
        "GET",
        "EntityDefinitions(LogicalName='nw_invoice')/Attributes(LogicalName='nw_status')/"
        "Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName&$expand=OptionSet",
    )
    return [
        (o["Label"]["UserLocalizedLabel"]["Label"], o["Value"])
        for o in column["OptionSet"]["Options"]
    ]


def test_declared_option_values_are_created_with_their_value(
    dv: Path, org: DataverseOrg, crmctl
) -> None:
    _write(dv, TABLE, _status({"value": "Draft", "optionValue": 412300010}, "Sent"))
    _apply(crmctl)
    # Sent's value was left to Dataverse (the emulator: the prefix's, by position).
    assert _options(org) == [("Draft", 412300010), ("Sent", 412300001)]
    _plan_is_empty(crmctl)
    # A new option with its value: InsertOptionValue with Value.
    _write(
        dv,
        TABLE,
        _status(
            {"value": "Draft", "optionValue": 412300010},
            "Sent",
            {"value": "Paid", "optionValue": 412300020},
        ),
    )
    r = crmctl("plan", "-e", "dv")
    assert r.exit_code == 0, r.output
    assert (
        '      + values[Paid]: {"value": "Paid", "label": "Paid", "default": false, '
        '"active": true, "optionValue": 412300020}\n'
    ) in r.out, r.out
    _apply(crmctl)
    assert _options(org) == [("Draft", 412300010), ("Sent", 412300001), ("Paid", 412300020)]
    _plan_is_empty(crmctl)
    # Sent's value, left to Dataverse, is not drift either.
    r = crmctl("drift", "-e", "dv")
    assert (r.exit_code, r.err) == (0, ""), r.out
    assert r.out.endswith("No drift in dv: 2 in sync.\n"), r.out


def test_a_different_option_value_is_refused_by_the_plan(
    dv: Path, org: DataverseOrg, crmctl
) -> None:
    _write(dv, TABLE, _status("Draft", "Sent"))
    _apply(crmctl)
    assert _options(org) == [("Draft", 412300000), ("Sent", 412300001)]
    path = _write(dv, TABLE, _status("Draft", {"value": "Sent", "optionValue": 412300005}))
    line = _line(path, "optionValue: 412300005")
    r = crmctl("plan", "-e", "dv")
    assert r.exit_code == 1, r.output
    assert (
        f"dv/org.yaml:{line}: CustomField/nw_invoice.nw_status: option 'Sent' has the value "
        "412300001 in Dataverse, and Dataverse cannot change an option's value "
        "(UpdateOptionValue changes its label only): optionValue 412300005 is refused\n"
        "  hint: write optionValue: 412300001; or remove the option in one apply and add it "
        "with the new value in the next (records holding it lose it)\n"
    ) in r.out, r.out
    assert crmctl("apply", "-e", "dv", "--auto-approve").exit_code == 1
    assert _options(org) == [("Draft", 412300000), ("Sent", 412300001)]
    # Saying the value it has is no change.
    _write(dv, TABLE, _status("Draft", {"value": "Sent", "optionValue": 412300001}))
    _plan_is_empty(crmctl)


def test_an_option_relabelled_with_its_value_keeps_it(dv: Path, org: DataverseOrg, crmctl) -> None:
    _write(dv, TABLE, _status("Draft", "Sent"))
    _apply(crmctl)
    _write(dv, TABLE, _status("Draft", {"value": "Invoiced", "optionValue": 412300001}))
    _apply(crmctl)
    # UpdateOptionValue relabels the option: records holding 412300001 keep it.
    assert _options(org) == [("Draft", 412300000), ("Invoiced", 412300001)]
    _plan_is_empty(crmctl)


def test_an_option_value_declared_twice_or_taken_is_refused(
    dv: Path, org: DataverseOrg, crmctl
) -> None:
    _write(dv, TABLE, _status("Draft", "Sent"))
    _apply(crmctl)
    path = _write(
        dv,
        TABLE,
        _status(
            "Draft",
            "Sent",
            {"value": "Paid", "optionValue": 412300000},
            {"value": "Void", "optionValue": 412300009},
            {"value": "Lost", "optionValue": 412300009},
        ),
    )
    r = crmctl("plan", "-e", "dv")
    assert r.exit_code == 1, r.output
    assert (
        f"dv/org.yaml:{_line(path, 'optionValue: 412300000')}: CustomField/nw_invoice.nw_status: "
        "optionValue 412300000 is option 'Draft''s in Dataverse, which the manifest keeps; "
        "refused\n"
    ) in r.out, r.out
    assert (
        f"dv/org.yaml:{_line(path, 'optionValue: 412300009', after='Lost')}: "
        "CustomField/nw_invoice.nw_status: options 'Void' and 'Lost' both declare optionValue "
        "412300009; an option's value is unique in its choice; refused\n"
    ) in r.out, r.out
    assert crmctl("apply", "-e", "dv", "--auto-approve").exit_code == 1
    assert _options(org) == [("Draft", 412300000), ("Sent", 412300001)]


def test_a_new_option_value_without_the_publisher_prefix_is_a_warning(
    dv: Path, org: DataverseOrg, crmctl
) -> None:
    path = _write(dv, TABLE, _status("Draft", {"value": "Sent", "optionValue": 100000001}))
    r = crmctl("plan", "-e", "dv")
    assert r.exit_code == 0, r.output
    assert r.out.startswith(
        f"dv/org.yaml:{_line(path, 'optionValue: 100000001')}: CustomField/nw_invoice.nw_status: "
        "optionValue 100000001 does not carry the option-value prefix 41230 of publisher "
        "northwind (solution crmctltests: 412300000 to 412309999); Dataverse stores it, but "
        "the option will not read as this publisher's [warning]\n"
        "  hint: use a value from 412300000 to 412309999, or leave optionValue out\n"
    ), r.out
    _apply(crmctl)
    assert _options(org) == [("Draft", 412300000), ("Sent", 100000001)]
    _plan_is_empty(crmctl)  # an existing option's value is not planned again: no warning


def test_an_option_value_changed_by_hand_is_drift_even_where_the_manifests_name_none(
    dv: Path, org: DataverseOrg, crmctl
) -> None:
    """Someone deletes an option and adds it back (records holding it lose it): the value
    Dataverse gave it when crmctl applied it counts, never the new one (review finding)."""
    _write(dv, TABLE, _status("Draft", "Sent"))
    _apply(crmctl)
    [(_, draft), (_, sent)] = _options(org)
    column = {"EntityLogicalName": "nw_invoice", "AttributeLogicalName": "nw_status"}
    org.web("POST", "DeleteOptionValue", app=org.other, json={**column, "Value": sent})
    label = {"LocalizedLabels": [{"Label": "Sent", "LanguageCode": 1033}]}
    org.web(
        "POST",
        "InsertOptionValue",
        app=org.other,
        json={**column, "Value": sent + 77, "Label": label},
    )
    assert _options(org) == [("Draft", draft), ("Sent", sent + 77)]
    r = crmctl("drift", "-e", "dv")
    assert r.exit_code == 2, r.output
    assert "  ~ CustomField/nw_invoice.nw_status  modified out of band" in r.out, r.out
    assert "adopted" not in r.out.splitlines()[-1], r.out


def test_a_rollback_takes_option_values_as_dataverse_gives_them(
    dv: Path, org: DataverseOrg, crmctl
) -> None:
    """v1's snapshot holds the values Dataverse chose then; an option re-added since has
    another, which no write can change: the rollback keeps it (it was refused before)."""
    _write(dv, TABLE, _status("Draft", "Sent"))
    _apply(crmctl)  # v1
    _write(dv, TABLE, _status("Draft", "Paid"))
    _apply(crmctl)  # v2
    _write(dv, TABLE, _status("Draft", "Paid", "Sent"))
    _apply(crmctl)  # v3: Sent comes back with a new value
    sent_now = dict(_options(org))["Sent"]
    r = crmctl("rollback", "-e", "dv", "--to", "v1", "--auto-approve")
    assert r.exit_code == 0, r.output
    assert [label for label, _ in _options(org)] == ["Draft", "Sent"]
    assert dict(_options(org))["Sent"] == sent_now
