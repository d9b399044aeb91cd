"""One dialect helper per question (crmctl/dialect.py), where Dataverse names differ.

Dataverse's standard tables mostly have no underscore (`account`), but Microsoft's own
solutions add tables and columns with prefixes of their own (`msdyn_workorder`,
`adx_setting`): those are the environment's, never the organisation's publisher's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crmctl.dialect import (
    DATAVERSE,
    is_custom_field,
    is_custom_object,
    is_standard_object,
    publisher_prefix,
)
from crmctl.plan.planner import canonical
from tests.dataverse.test_dialect import two_envs  # noqa: F401 (fixture)


@pytest.mark.parametrize(
    ("name", "custom", "standard"),
    [
        ("nw_invoice", True, False),
        ("pre__assets", True, False),  # prefix pre, name _assets
        ("account", False, True),
        ("msdyn_workorder", False, True),  # Dynamics 365 Field Service
        ("adx_setting", False, True),  # Power Pages
        ("mspp_webpage", False, True),
        ("Invoice__c", False, False),  # a Salesforce name is neither in Dataverse
    ],
)
def test_dataverse_tables(name: str, custom: bool, standard: bool) -> None:
    assert (is_custom_object(name, DATAVERSE), is_standard_object(name, DATAVERSE)) == (
        custom,
        standard,
    )


def test_salesforce_names_are_unchanged() -> None:
    assert is_custom_object("Invoice__c") and not is_standard_object("Invoice__c")
    assert is_standard_object("Account") and not is_custom_object("Account")
    # A Salesforce name with an underscore is never standard, Microsoft's prefix or not.
    assert not is_standard_object("msdyn_thing") and not is_custom_object("msdyn_thing")
    assert is_custom_field("Region__c") and not is_custom_field("Name")


def test_dataverse_columns_and_prefixes() -> None:
    assert is_custom_field("nw_region", DATAVERSE)
    assert not is_custom_field("address1_city", DATAVERSE)  # a composite address part
    assert not is_custom_field("msdyn_workhours", DATAVERSE)  # a Dynamics 365 app's column
    assert not is_custom_field("entityimage_url", DATAVERSE)  # no prefix of 2 to 8
    assert [publisher_prefix(n) for n in ("nw_invoice", "msdyn_x", "Invoice__c", "account")] == [
        "nw",
        None,
        None,
        None,
    ]


def test_a_table_s_primary_column_default_follows_the_publisher_prefix() -> None:
    assert canonical("CustomObject", {"label": "Invoice"}, "nw_invoice")["primaryColumn"] == (
        "nw_name"
    )
    assert "primaryColumn" not in canonical("CustomObject", {"label": "Invoice"}, "Invoice__c")


def test_microsoft_tables_need_no_declaration_and_cannot_be_declared(
    two_envs: Path,  # noqa: F811
    crmctl,
) -> None:
    (two_envs / "manifests" / "ms.yaml").write_text(
        """\
apiVersion: crmctl/v1
kind: PermissionSet
metadata: {name: Technician}
spec:
  label: Technician
  objects:
    msdyn_workorder: [read]
  depths:
    msdyn_workorder: {read: Local}
---
apiVersion: crmctl/v1
kind: CustomField
metadata: {name: msdyn_workorder.nw_rating}
spec:
  type: Number
  label: Rating
"""
    )
    r = crmctl("validate", "-e", "dv")
    assert (r.exit_code, r.out, r.err) == (0, "valid: 2 resources in 1 file\n", "")
    (two_envs / "manifests" / "ms.yaml").write_text(
        """\
apiVersion: crmctl/v1
kind: CustomObject
metadata: {name: msdyn_workorder}
spec:
  label: Work Order
---
apiVersion: crmctl/v1
kind: CustomField
metadata: {name: account.msdyn_rating}
spec:
  type: Number
  label: Rating
"""
    )
    r = crmctl("validate", "-e", "dv")
    assert (r.exit_code, r.err) == (1, ""), r.out
    assert r.out == (
        "manifests/ms.yaml:3: CustomObject/msdyn_workorder: msdyn_ is the prefix of Microsoft's "
        "own tables and columns (Dynamics 365 apps, Power Pages, Customer Voice), not a "
        "publisher's: a CustomObject creates a table of your publisher\n"
        "  hint: name it with your publisher's prefix; Microsoft's tables need no declaration\n"
        "manifests/ms.yaml:9: CustomField/account.msdyn_rating: msdyn_ is the prefix of "
        "Microsoft's own tables and columns (Dynamics 365 apps, Power Pages, Customer Voice), "
        "not a publisher's: a CustomField creates a column of your publisher\n"
        "  hint: name it with your publisher's prefix; Microsoft's columns need no declaration\n"
        "2 errors in 1 file\n"
    )
