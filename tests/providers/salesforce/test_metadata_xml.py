"""Salesforce metadata XML <-> crmctl specs: every spec survives the round trip."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
import yaml

from crmctl.model import Resource
from crmctl.plan import canonical
from crmctl.providers.salesforce import metadata_xml as mx
from crmctl.providers.salesforce import package
from tests.sandbox.conftest import ORG, RECORDS_ORG

REPO = Path(__file__).resolve().parents[3]
_SUPPORTED = (
    "CustomObject",
    "CustomField",
    "ValidationRule",
    "DuplicateRule",
    "Role",
    "PermissionSet",
)


def _example_resources() -> list[Resource]:
    found: dict[str, Resource] = {}
    for kind, name, spec in [*ORG, *RECORDS_ORG]:
        if kind in _SUPPORTED:
            found[f"{kind}/{name}"] = Resource(kind, name, canonical(kind, spec))
    for path in sorted((REPO / "manifests").rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc["kind"] in _SUPPORTED:
                r = Resource(
                    doc["kind"], doc["metadata"]["name"], canonical(doc["kind"], doc["spec"])
                )
                found[r.address] = r
    return list(found.values())


def test_every_example_spec_survives_a_deploy_zip_and_back() -> None:
    resources = _example_resources()
    assert len(resources) > 60
    contents = package.read_zip(package.deploy_zip(resources))
    back = {r.address: canonical(r.kind, r.spec) for r in contents.resources()}
    expected = {r.address: r.spec for r in resources}
    # relationshipName equal to the field's name without __c reads as absent (the default).
    for address, spec in expected.items():
        name = address.partition(".")[2]
        if spec.get("relationshipName") == name.removesuffix("__c"):
            del spec["relationshipName"]
    assert back == expected
    notes = [(c.full_name, c.converted.notes) for c in contents.components if c.converted.notes]
    assert notes == []


def _field(xml: str) -> mx.Converted:
    return mx.field_spec("Account", mx.parse(f"<fields>{xml}</fields>"))


@pytest.mark.parametrize(
    ("classification", "level", "group"),
    [
        ("Public", "Public", None),
        ("Internal", "Internal", None),
        ("Confidential", "Confidential", None),
        ("PII", "Confidential", "PII"),
        ("Sensitive", "Restricted", None),
    ],
)
def test_classification_maps_to_data_classification(classification, level, group) -> None:
    element = mx.field_xml("X__c", {"type": "Text", "label": "X", "classification": classification})
    assert mx.text(element, "securityClassification") == level
    assert mx.text(element, "complianceGroup") == group
    assert mx.field_spec("Account", element).spec["classification"] == classification


@pytest.mark.parametrize(
    ("ftype", "value", "formula"),
    [
        ("Text", 'Say "hi"', '"Say \\"hi\\""'),
        ("Number", 5, "5"),
        ("Percent", 2.5, "2.5"),
        ("Checkbox", True, "true"),
    ],
)
def test_default_values_are_formula_literals(ftype, value, formula) -> None:
    spec = {"type": ftype, "label": "X", "defaultValue": value}
    element = mx.field_xml("X__c", spec)
    assert mx.text(element, "defaultValue") == formula
    assert mx.field_spec("Account", element).spec["defaultValue"] == value


def test_a_checkbox_always_gets_a_default_and_false_reads_as_none() -> None:
    element = mx.field_xml("X__c", {"type": "Checkbox", "label": "X"})
    assert mx.text(element, "defaultValue") == "false"
    assert "defaultValue" not in mx.field_spec("Account", element).spec


def test_a_default_formula_is_reported_not_kept() -> None:
    converted = _field(
        "<fullName>D__c</fullName><label>D</label><type>Date</type><defaultValue>TODAY()</defaultValue>"
    )
    assert converted.spec == {"type": "Date", "label": "D"}
    assert converted.notes == ["defaultValue formula 'TODAY()' cannot be expressed; left out"]


@pytest.mark.parametrize(
    ("xml", "note"),
    [
        (
            "<fullName>L__c</fullName><type>Location</type><scale>5</scale>",
            "field type Location is not supported by crmctl",
        ),
        (
            "<fullName>E__c</fullName><type>EncryptedText</type><length>20</length>",
            "field type EncryptedText is not supported by crmctl",
        ),
        (
            "<fullName>F__c</fullName><type>Picklist</type><formula>Name</formula>",
            "a formula field of type Picklist is not supported by crmctl",
        ),
        (
            "<fullName>P__c</fullName><type>Picklist</type>",
            "a picklist without a valueSet (standard value set) is not supported",
        ),
    ],
)
def test_what_has_no_equivalent_is_a_note_and_no_spec(xml: str, note: str) -> None:
    converted = _field(xml)
    assert (converted.spec, converted.notes) == (None, [note])


def test_picklist_values_keep_order_labels_defaults_and_inactive_values() -> None:
    spec = canonical("CustomField", {"type": "Picklist", "label": "S", "values": [
        {"value": "A", "default": True}, {"value": "B", "label": "Bee"}, {"value": "C", "active": False}]})  # fmt: skip
    element = mx.field_xml("S__c", spec)
    assert [mx.text(v, "isActive") for v in element.iter("value")] == [None, None, "false"]
    assert canonical("CustomField", mx.field_spec("Account", element).spec) == spec


def test_a_global_value_set_picklist_names_the_set() -> None:
    values = [{"value": "X", "label": "Ex", "default": False, "active": True}]
    converted = mx.field_spec(
        "Account",
        mx.parse(
            "<fields><fullName>G__c</fullName><label>G</label><type>MultiselectPicklist</type>"
            "<valueSet><valueSetName>Shared</valueSetName></valueSet></fields>"
        ),  # fmt: skip
        {"Shared": values},
    )
    # The values are the GlobalValueSet's own resource; the field names it.
    assert converted.spec == {"type": "MultiPicklist", "label": "G", "valueSetName": "Shared"}


def test_lookups_get_salesforce_required_elements() -> None:
    element = mx.field_xml(
        "Owner_Account__c", {"type": "Lookup", "label": "Acct", "referenceTo": "Account"}
    )
    assert mx.text(element, "relationshipName") == "Owner_Account"
    assert mx.text(element, "deleteConstraint") == "SetNull"
    master = mx.field_xml("Parent__c", {"type": "MasterDetail", "label": "P", "referenceTo": "X__c",
                                        "relationshipName": "Children"})  # fmt: skip
    assert mx.text(master, "relationshipOrder") == "0"
    assert mx.field_spec("Y__c", master).spec["relationshipName"] == "Children"


def test_a_duplicate_rule_needs_an_expressible_matching_rule() -> None:
    rule = mx.duplicate_rule_xml("Same", "Lead", {"match": [{"field": "Email"}]})
    with_filter = mx.parse(
        "<matchingRules><fullName>Same</fullName><booleanFilter>1 OR 2</booleanFilter></matchingRules>"
    )
    converted = mx.duplicate_rule_spec("Lead", mx.parse(mx.to_bytes(rule)), {"Same": with_filter})
    assert (converted.spec, converted.notes) == (
        None,
        ["matching rule Same: its filter logic (1 OR 2) cannot be expressed"],
    )
    missing = mx.duplicate_rule_spec("Lead", mx.parse(mx.to_bytes(rule)), {})
    assert missing.spec is None and "its matching rule Same is not available" in missing.notes[0]


def test_fuzzy_methods_read_back_as_fuzzy() -> None:
    spec = canonical("DuplicateRule", {"match": [{"field": "FirstName", "method": "fuzzy"},
                                                 {"field": "Custom__c", "method": "fuzzy"}]})  # fmt: skip
    rule = mx.matching_rule_xml("R", spec)
    assert [mx.text(i, "matchingMethod") for i in rule.iter("matchingRuleItems")] == [
        "FirstName",
        "CompanyName",
    ]
    assert mx.matching_rule_items(rule).spec["match"] == spec["match"]


def test_a_deploy_zip_lists_components_and_deletions() -> None:
    data = package.deploy_zip(
        [Resource("CustomField", "Account.A__c", {"type": "Text", "label": "A"}),
         Resource("DuplicateRule", "Lead.Same", canonical("DuplicateRule", {"match": [{"field": "Email"}]}))],
        delete_pre=[("CustomField", "Account.B__c")],
        delete_post=[("Role", "Old")],
    )  # fmt: skip
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = sorted(archive.namelist())
        package_xml = mx.package_members(mx.parse(archive.read("package.xml")))
        post = mx.package_members(mx.parse(archive.read("destructiveChangesPost.xml")))
    assert names == [
        "destructiveChangesPost.xml",
        "destructiveChangesPre.xml",
        "duplicateRules/Lead.Same.duplicateRule",
        "matchingRules/Lead.matchingRule",
        "objects/Account.object",
        "package.xml",
    ]
    assert package_xml == {"CustomField": ["Account.A__c"], "DuplicateRule": ["Lead.Same"],
                           "MatchingRule": ["Lead.Same"]}  # fmt: skip
    assert post == {"Role": ["Old"]}


def test_a_zip_bomb_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(package, "_MAX_UNZIPPED", 1024 * 1024)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("objects/A.object", b"\0" * (2 * 1024 * 1024))
    with pytest.raises(ValueError, match="the zip unpacks to more than 1 MB"):
        package.read_zip(buffer.getvalue())
