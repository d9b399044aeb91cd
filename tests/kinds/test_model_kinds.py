"""validate on what admins manage beyond stored fields: formula, roll-up, Time, Html and
AutoNumber fields, global value sets, record types and fields of any standard object."""

from __future__ import annotations

import textwrap
from pathlib import Path

VALID = """\
apiVersion: crmctl/v1
kind: GlobalValueSet
metadata: {name: Regions, owner: sales-ops}
spec:
  label: Regions
  values: [North, South, {value: West, active: false}]
---
apiVersion: crmctl/v1
kind: CustomField
metadata: {name: Account.Sales_Region__c, owner: sales-ops}
spec: {type: Picklist, label: Sales region, valueSetName: Regions}
---
apiVersion: crmctl/v1
kind: CustomField
metadata: {name: Invoice__c.Owner_Name__c, owner: finance-ops}
spec:
  type: Formula
  label: Owner name
  returnType: Text
  formula: IF(ISBLANK(Owner:User.Id), Owner:Queue.QueueName, Owner:User.Profile.Name)
---
apiVersion: crmctl/v1
kind: CustomField
metadata: {name: Invoice__c.Days_Open__c, owner: finance-ops}
spec:
  type: Formula
  label: Days open
  returnType: Number
  precision: 18
  scale: 0
  treatBlanksAs: BlankAsBlank
  formula: TODAY() - Issue_Date__c
---
apiVersion: crmctl/v1
kind: CustomField
metadata: {name: Account.Open_Invoices__c, owner: finance-ops}
spec:
  type: Summary
  label: Open invoices
  summaryOperation: sum
  summaryForeignKey: Invoice__c.Account__c
  summarizedField: Invoice__c.Amount__c
  filters:
    - {field: Invoice__c.Status__c, operation: equals, value: Sent}
---
apiVersion: crmctl/v1
kind: CustomField
metadata: {name: Account.Opens_At__c, owner: sales-ops}
spec: {type: Time, label: Opens at}
---
apiVersion: crmctl/v1
kind: CustomField
metadata: {name: Account.Profile_Text__c, owner: sales-ops}
spec: {type: Html, label: Profile, length: 65536, visibleLines: 30}
---
apiVersion: crmctl/v1
kind: CustomField
metadata: {name: Account.Ticket__c, owner: sales-ops}
spec: {type: AutoNumber, label: Ticket, displayFormat: "T-{0000}", startingNumber: 100}
---
apiVersion: crmctl/v1
kind: CustomField
metadata: {name: Contract.Renewal_Note__c, owner: sales-ops}
spec:
  type: Formula
  label: Renewal note
  returnType: Text
  formula: IF(EndDate < TODAY(), "expired", Account.Name)
---
apiVersion: crmctl/v1
kind: RecordType
metadata: {name: Invoice__c.Credit_Note, owner: finance-ops}
spec:
  label: Credit note
  picklists:
    Status__c: [{value: Draft, default: true}, Cancelled]
---
apiVersion: crmctl/v1
kind: ValidationRule
metadata: {name: Account.Region_Needed, owner: sales-ops}
spec:
  condition: ISPICKVAL(Sales_Region__c, "") && Open_Invoices__c > 0
  errorMessage: An account with open invoices needs a region.
"""


def _write(project: Path, text: str) -> None:
    (project / "manifests" / "model.yaml").write_text(textwrap.dedent(text))


def test_the_new_kinds_and_field_types_validate(project: Path, crmctl) -> None:
    _write(project, VALID)
    r = crmctl("validate")
    assert (r.exit_code, r.err) == (0, ""), r.out
    assert r.out == "valid: 90 resources in 12 files\n"


def test_a_formula_field_is_checked_like_a_rule(project: Path, crmctl) -> None:
    _write(
        project,
        VALID.replace("formula: TODAY() - Issue_Date__c", "formula: TODAY() - Isue_Date__c"),
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/model.yaml:32: CustomField/Invoice__c.Days_Open__c: spec.formula: "
        "unknown field Isue_Date__c (formula line 1, column 11)\n"
        "1 error in 1 file\n"
    )


def test_references_to_value_sets_roll_ups_and_picklist_values_are_checked(
    project: Path, crmctl
) -> None:
    text = (
        VALID.replace("valueSetName: Regions}", "valueSetName: Region}")
        .replace(
            "summaryForeignKey: Invoice__c.Account__c", "summaryForeignKey: Invoice__c.Amount__c"
        )
        .replace(
            "[{value: Draft, default: true}, Cancelled]", "[{value: Draft, default: true}, Void]"
        )
    )
    _write(project, text)
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out.splitlines() == [
        "manifests/model.yaml:11: CustomField/Account.Sales_Region__c: valueSetName names unknown "
        "GlobalValueSet 'Region'",
        "  hint: declare the GlobalValueSet, or check the spelling of its name",
        "manifests/model.yaml:41: CustomField/Account.Open_Invoices__c: summaryForeignKey "
        "Invoice__c.Amount__c must be a MasterDetail field pointing at Account (it is a Currency "
        "to None)",
        "manifests/model.yaml:76: RecordType/Invoice__c.Credit_Note: picklists.Status__c: 'Void' "
        "is not a value of Invoice__c.Status__c",
        "3 errors in 1 file",
    ]


def test_a_computed_field_takes_no_default_and_a_formula_needs_its_type(
    project: Path, crmctl
) -> None:
    _write(
        project,
        "apiVersion: crmctl/v1\nkind: CustomField\nmetadata: {name: Account.Score__c}\n"
        "spec: {type: Formula, label: Score, formula: '1', defaultValue: 2}\n",
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out.splitlines() == [
        "manifests/model.yaml:4: CustomField/Account.Score__c: spec: missing required key "
        "'returnType'",
        "manifests/model.yaml:4: CustomField/Account.Score__c: spec.defaultValue: a Formula, "
        "Summary or AutoNumber field computes its value: it takes no defaultValue",
        "2 errors in 1 file",
    ]


def test_a_record_name_label_has_no_length_cap_as_salesforce_documents_none(
    project: Path, crmctl
) -> None:
    doc = (
        "apiVersion: crmctl/v1\nkind: CustomObject\nmetadata: {name: Ticket__c, owner: ops}\n"
        "spec: {label: Ticket, recordName: {label: LABEL}}\n"
    )
    # Longer than a field label may be (40), as a released managed package ships (43), and
    # longer than the 80 crmctl used to guess: Salesforce documents no limit for it.
    for length in (43, 81, 120):
        _write(project, doc.replace("LABEL", "A" * length))
        r = crmctl("validate")
        assert (r.exit_code, "characters" in r.out) == (0, False), r.out
    # The object's own label keeps its documented limit.
    _write(project, doc.replace("label: Ticket,", "label: " + "T" * 41 + ",").replace("LABEL", "A"))
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/model.yaml:4: CustomObject/Ticket__c: spec.label is 41 characters "
        "long; at most 40 are allowed\n1 error in 1 file\n"
    )


def test_a_standard_field_customises_help_text_and_tracking_only(project: Path, crmctl) -> None:
    doc = "apiVersion: crmctl/v1\nkind: StandardField\nmetadata: {{name: {name}}}\nspec: {spec}\n"
    _write(project, doc.format(name="Account.Industry", spec="{helpText: Main industry}"))
    assert crmctl("validate").exit_code == 0
    _write(
        project,
        doc.format(name="Account.Industry", spec="{trackFeedHistory: false}")
        + "---\n"
        + doc.format(name="Account.Industy", spec="{trackHistory: true}")
        + "---\n"
        + doc.format(name="Account.Rating", spec="{label: Grade}"),
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out.splitlines() == [
        "manifests/model.yaml:1: StandardField/Account.Industry: customises nothing (no "
        "helpText, no tracking): leave the field out of the manifests",
        "manifests/model.yaml:6: StandardField/Account.Industy: 'Industy' is not a standard "
        "field of Account that crmctl knows",
        "  hint: custom fields are CustomFields (Object.Field__c)",
        "manifests/model.yaml:14: StandardField/Account.Rating: spec: unknown key 'label'",
        "  hint: allowed keys: helpText, trackFeedHistory, trackHistory",
        "3 errors in 1 file",
    ]


def test_the_salesforce_guide_examples_validate_with_the_example_org(project: Path, crmctl) -> None:
    example = Path(__file__).resolve().parents[2] / "docs" / "examples" / "salesforce.yaml"
    (project / "manifests" / "model.yaml").write_text(example.read_text())
    r = crmctl("validate")
    assert (r.exit_code, r.out) == (0, "valid: 91 resources in 12 files\n")


def test_a_whole_org_import_has_a_file_for_every_kind() -> None:
    from crmctl.importer.layout import layout_header, layout_path
    from crmctl.kinds import KINDS

    names = {"CustomObject": "Ticket__c", "GlobalValueSet": "Regions", "Role": "CEO",
             "PermissionSet": "Sales", "User": "a@example.com", "RetentionPolicy": "Old_Leads"}  # fmt: skip
    paths = {kind: str(layout_path(kind, names.get(kind, "Account.Industry"))) for kind in KINDS}
    assert paths["GlobalValueSet"] == "picklists/global-value-sets.yaml"
    assert paths["StandardField"] == paths["RecordType"] == "standard/Account.yaml"
    assert layout_header(layout_path("GlobalValueSet", "Regions")) == (
        "Global value sets: picklist values shared by the fields that name them."
    )
