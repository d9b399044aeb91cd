"""Formula, roll-up, Time, Html and AutoNumber fields, a global value set and a record type,
applied through the emulator's Metadata API: the org holds the XML crmctl wrote, a second plan
is empty, and a change to each is applied as an update."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_salesforce_lossless import retrieve
from tests.kinds.test_model_kinds import VALID
from tests.salesforce_org import SalesforceOrg, salesforce_org

NO_CHANGES = "No changes. The CRM matches the manifests."


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SalesforceOrg]:
    for item in salesforce_org(tmp_path):
        for name, value in item.env_variables().items():
            monkeypatch.setenv(name, value)
        yield item


def test_the_model_applies_reads_back_equal_and_updates(
    project: Path, org: SalesforceOrg, crmctl
) -> None:
    model = project / "manifests" / "model.yaml"
    model.write_text(VALID)
    org.write_env(project, "sf", manifests="manifests")
    r = crmctl("apply", "-e", "sf", "--auto-approve")
    assert r.exit_code == 0, r.output
    r = crmctl("plan", "-e", "sf")
    assert (r.exit_code, r.out.strip().endswith(NO_CHANGES)) == (0, True), r.out

    found = retrieve(
        org,
        {
            "GlobalValueSet": ["Regions"],
            "RecordType": ["Invoice__c.Credit_Note"],
            "CustomField": [
                "Account.Sales_Region__c",
                "Invoice__c.Owner_Name__c",
                "Account.Open_Invoices__c",
                "Account.Profile_Text__c",
                "Account.Ticket__c",
            ],
        },
    )
    region = found[("CustomField", "Account.Sales_Region__c")]
    assert region.findtext("valueSet/valueSetName") == "Regions"
    owner = found[("CustomField", "Invoice__c.Owner_Name__c")]
    assert (owner.findtext("type"), owner.findtext("formula")) == (
        "Text",
        "IF(ISBLANK(Owner:User.Id), Owner:Queue.QueueName, Owner:User.Profile.Name)",
    )
    total = found[("CustomField", "Account.Open_Invoices__c")]
    assert [total.findtext(t) for t in ("type", "summaryOperation", "summaryForeignKey")] == [
        "Summary",
        "sum",
        "Invoice__c.Account__c",
    ]
    assert total.findtext("summaryFilterItems/value") == "Sent"
    html = found[("CustomField", "Account.Profile_Text__c")]
    assert [html.findtext(t) for t in ("type", "length", "visibleLines")] == ["Html", "65536", "30"]
    ticket = found[("CustomField", "Account.Ticket__c")]
    assert [ticket.findtext(t) for t in ("type", "displayFormat")] == ["AutoNumber", "T-{0000}"]
    credit = found[("RecordType", "Invoice__c.Credit_Note")]
    assert [(v.findtext("fullName"), v.findtext("default")) for v in
            credit.findall("picklistValues/values")] == [("Draft", "true"), ("Cancelled", "false")]  # fmt: skip
    assert [v.findtext("fullName") for v in found[("GlobalValueSet", "Regions")].findall(
        "customValue")] == ["North", "South", "West"]  # fmt: skip

    # One change to each kind is planned as an update and applied.
    model.write_text(
        VALID.replace("values: [North, South,", "values: [North, South, East,")
        .replace("Owner:User.Profile.Name)", "Owner:User.Name)")
        .replace("[{value: Draft, default: true}, Cancelled]", "[{value: Draft, default: true}]")
    )
    r = crmctl("apply", "-e", "sf", "--auto-approve")
    assert r.exit_code == 0, r.output
    assert "Apply complete: 0 added, 3 changed, 0 destroyed." in r.out
    r = crmctl("plan", "-e", "sf")
    assert r.out.strip().endswith(NO_CHANGES), r.out
    after = retrieve(org, {"GlobalValueSet": ["Regions"], "RecordType": ["Invoice__c.Credit_Note"]})
    assert [v.findtext("fullName") for v in after[("GlobalValueSet", "Regions")].findall(
        "customValue")] == ["North", "South", "East", "West"]  # fmt: skip
    assert (
        len(after[("RecordType", "Invoice__c.Credit_Note")].findall("picklistValues/values")) == 1
    )


STANDARD = """\
apiVersion: crmctl/v1
kind: StandardField
metadata: {name: Account.Industry, owner: sales-ops}
spec: {helpText: The customer's main industry, trackHistory: true}
"""


def test_a_standard_field_customisation_applies_and_leaving_the_manifests_resets_it(
    project: Path, org: SalesforceOrg, crmctl
) -> None:
    standard = project / "manifests" / "standard-fields.yaml"
    standard.write_text(STANDARD)
    org.write_env(project, "sf", manifests="manifests")
    r = crmctl("apply", "-e", "sf", "--auto-approve")
    assert r.exit_code == 0, r.output
    assert crmctl("plan", "-e", "sf").out.strip().endswith(NO_CHANGES)
    field = retrieve(org, {"CustomField": ["Account.Industry"]})[
        ("CustomField", "Account.Industry")
    ]
    assert [field.findtext(t) for t in ("inlineHelpText", "trackHistory")] == [
        "The customer's main industry",
        "true",
    ]
    # A standard field cannot be deleted: removing it from the manifests resets it.
    standard.unlink()
    r = crmctl("plan", "-e", "sf")
    assert "- StandardField/Account.Industry" in r.out, r.out
    r = crmctl("apply", "-e", "sf", "--auto-approve")
    assert r.exit_code == 0, r.output
    field = retrieve(org, {"CustomField": ["Account.Industry"]})[
        ("CustomField", "Account.Industry")
    ]
    assert (field.findtext("inlineHelpText"), field.findtext("trackHistory")) == (None, "false")
    assert crmctl("plan", "-e", "sf").out.strip().endswith(NO_CHANGES)
