"""Plan order reads names in the environment's dialect: a Dataverse organisation (tables
`nw_invoice`, columns `account.nw_region`) is ordered exactly as the same Salesforce one is."""

from __future__ import annotations

import pytest

from crmctl.dialect import (
    DEFAULT_DIALECT,
    dialect_of,
    is_custom_field,
    is_custom_object,
    is_custom_relationship,
    is_standard_object,
)
from crmctl.kinds import HANDLERS
from crmctl.model import Resource
from crmctl.plan import PlanInputs, make_plan


def res(kind: str, name: str, **spec: object) -> Resource:
    return Resource(kind, name, dict(spec))


def org(names: dict[str, str]) -> list[Resource]:
    """One organisation, in either dialect's names (`names` maps the neutral names)."""
    n = names
    return [
        res(
            "User",
            "ana@nw.example",
            email="ana@nw.example",
            lastName="Ana",
            role="Sales",
            permissionSets=["Invoice_Clerk"],
        ),  # fmt: skip
        res(
            "PermissionSet",
            "Invoice_Clerk",
            label="Invoice Clerk",
            objects={n["invoice"]: ["read", "create"], n["account"]: ["read"]},
            fields={
                f"{n['invoice']}.{n['gross']}": ["read"],
                f"{n['account']}.{n['region']}": ["read"],
            },
        ),  # fmt: skip
        res("Role", "Sales", label="Sales", parent="Board"),
        res("Role", "Board", label="Board"),
        res(
            "RetentionPolicy",
            "Old_Invoices",
            object=n["invoice"],
            dateField=n["issued"],
            retain="P10Y",
            action="delete",
        ),  # fmt: skip
        res("DuplicateRule", f"{n['account']}.Same_Region", match=[{"field": n["region"]}]),
        # A formula column reading a column that sorts after it: only the dependency puts
        # the column it reads first.
        res(
            "CustomField",
            f"{n['invoice']}.{n['gross']}",
            type="Formula",
            label="Gross",
            returnType="Currency",
            formula=f"{n['net']} * 1.2",
        ),  # fmt: skip
        res("CustomField", f"{n['invoice']}.{n['net']}", type="Currency", label="Net"),
        res("CustomField", f"{n['invoice']}.{n['issued']}", type="Date", label="Issued"),
        res("CustomField", f"{n['account']}.{n['region']}", type="Text", label="Region"),
        res("CustomObject", n["invoice"], label="Invoice"),
    ]


SALESFORCE = {
    "invoice": "Invoice__c",
    "account": "Account",
    "gross": "A_Gross__c",
    "net": "Net__c",
    "issued": "Issued__c",
    "region": "Region__c",
}
DATAVERSE = {
    "invoice": "nw_invoice",
    "account": "account",
    "gross": "nw_agross",
    "net": "nw_net",
    "issued": "nw_issued",
    "region": "nw_region",
}


def order(resources: list[Resource], dialect: str, live: list[Resource] = ()) -> list[str]:
    plan = make_plan(
        PlanInputs(
            "t",
            {r.address: r for r in resources},
            {r.address: r for r in live},
            managed={r.address for r in live},
            dialect=dialect,
        )
    )
    return [f"{c.action.word} {c.address}" for c in plan.changes]


def expected(n: dict[str, str], verb: str) -> list[str]:
    return [
        f"{verb} CustomObject/{n['invoice']}",
        f"{verb} CustomField/{n['account']}.{n['region']}",
        f"{verb} CustomField/{n['invoice']}.{n['net']}",
        f"{verb} CustomField/{n['invoice']}.{n['gross']}",
        f"{verb} CustomField/{n['invoice']}.{n['issued']}",
        f"{verb} DuplicateRule/{n['account']}.Same_Region",
        f"{verb} RetentionPolicy/Old_Invoices",
        f"{verb} Role/Board",
        f"{verb} Role/Sales",
        f"{verb} PermissionSet/Invoice_Clerk",
        f"{verb} User/ana@nw.example",
    ]


@pytest.mark.parametrize(("names", "provider"), [(SALESFORCE, "sandbox"), (DATAVERSE, "dataverse")])
def test_creates_in_dependency_order_in_both_dialects(names: dict[str, str], provider: str) -> None:
    assert order(org(names), dialect_of(provider)) == expected(names, "create")


@pytest.mark.parametrize(("names", "provider"), [(SALESFORCE, "sandbox"), (DATAVERSE, "dataverse")])
def test_deletes_in_reverse_dependency_order_in_both_dialects(
    names: dict[str, str], provider: str
) -> None:
    assert order([], dialect_of(provider), live=org(names)) == list(
        reversed(expected(names, "delete"))
    )


def test_without_its_dialect_a_dataverse_formula_column_would_come_before_what_it_reads() -> None:
    # Read as Salesforce names, nw_net is no custom field: nothing to wait for, and the
    # formula column (which sorts first) would be created before the column it reads.
    got = order(org(DATAVERSE), DEFAULT_DIALECT)
    assert got.index("create CustomField/nw_invoice.nw_agross") < got.index(
        "create CustomField/nw_invoice.nw_net"
    )


def test_dependencies_name_tables_and_columns_in_the_dataverse_dialect() -> None:
    by_address = {r.address: r for r in org(DATAVERSE)}
    ps = by_address["PermissionSet/Invoice_Clerk"]
    assert HANDLERS["PermissionSet"].dependencies(ps, "dataverse") == {
        "CustomObject/nw_invoice",
        "CustomField/nw_invoice.nw_agross",
        "CustomField/account.nw_region",
    }
    assert HANDLERS["PermissionSet"].dependencies(ps) == set()  # Salesforce names: none custom
    rule = by_address["DuplicateRule/account.Same_Region"]
    assert HANDLERS["DuplicateRule"].dependencies(rule, "dataverse") == {
        "CustomField/account.nw_region"
    }
    policy = by_address["RetentionPolicy/Old_Invoices"]
    assert HANDLERS["RetentionPolicy"].dependencies(policy, "dataverse") == {
        "CustomObject/nw_invoice",
        "CustomField/nw_invoice.nw_issued",
    }


def test_a_security_roles_depths_wait_for_their_tables() -> None:
    role = res("PermissionSet", "Clerk", label="Clerk", depths={"nw_invoice": {"read": "Global"}})
    assert HANDLERS["PermissionSet"].dependencies(role, "dataverse") == {"CustomObject/nw_invoice"}


@pytest.mark.parametrize(
    ("question", "name", "salesforce", "dataverse"),
    [
        (is_custom_object, "Invoice__c", True, False),
        (is_custom_object, "nw_invoice", False, True),
        (is_custom_object, "account", False, False),
        (is_custom_object, "pre__assets", False, True),  # prefix pre, name _assets
        (is_standard_object, "account", True, True),
        (is_standard_object, "nw_invoice", False, False),
        (is_custom_field, "Region__c", True, False),
        (is_custom_field, "nw_region", False, True),
        (is_custom_field, "emailaddress1", False, False),
        (is_custom_field, "address1_city", False, False),  # Dataverse's own address column
        (is_custom_relationship, "Account__r", True, False),
    ],
)
def test_one_function_per_question(question, name: str, salesforce: bool, dataverse: bool) -> None:
    assert (question(name, "salesforce"), question(name, "dataverse")) == (salesforce, dataverse)
