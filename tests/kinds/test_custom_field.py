"""CustomField: valid manifests, type-specific schema rules, reference checks, canonical form."""

from __future__ import annotations

import copy
import shutil
import textwrap
from pathlib import Path

import pytest

from crmctl.config.yamlsource import read_yaml_file
from crmctl.kinds import handler
from tests.conftest import EXAMPLE

FIXTURES = Path(__file__).parent / "fixtures" / "custom_field"


def add_manifest(project: Path, text: str) -> None:
    """Add `manifests/test/case.yaml` to the example project."""
    folder = project / "manifests" / "test"
    folder.mkdir(exist_ok=True)
    (folder / "case.yaml").write_text(textwrap.dedent(text))


def field(name: str, spec: str) -> str:
    """A CustomField manifest; the keys of `spec` start on line 5."""
    body = textwrap.indent(textwrap.dedent(spec), "  ")
    return f"apiVersion: crmctl/v1\nkind: CustomField\nmetadata: {{name: {name}}}\nspec:\n{body}"


@pytest.mark.parametrize(
    ("fixture", "summary"),
    [
        (
            "minimal.yaml",
            f"valid: {EXAMPLE.resources + 1} resources in {EXAMPLE.files + 1} files\n",
        ),
        ("full.yaml", f"valid: {EXAMPLE.resources + 5} resources in {EXAMPLE.files + 1} files\n"),
    ],
)
def test_valid_manifest(project: Path, crmctl, fixture: str, summary: str) -> None:
    shutil.copy(FIXTURES / "valid" / fixture, project / "manifests")
    r = crmctl("validate")
    assert (r.exit_code, r.out, r.err) == (0, summary, "")


def test_length_on_a_number_field(project: Path, crmctl) -> None:
    add_manifest(project, field("Account.Seats__c", "type: Number\nlabel: Seats\nlength: 10\n"))
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:7: CustomField/Account.Seats__c: "
        "spec.length: length applies only to Text, LongTextArea and Html fields\n"
        "1 error in 1 file\n"
    )


def test_picklist_without_values(project: Path, crmctl) -> None:
    add_manifest(project, field("Account.Tier__c", "type: Picklist\nlabel: Tier\n"))
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:4: CustomField/Account.Tier__c: "
        "spec: missing required key 'values'\n"
        "1 error in 1 file\n"
    )


def test_lookup_without_reference_to(project: Path, crmctl) -> None:
    add_manifest(project, field("Account.Partner__c", "type: Lookup\nlabel: Partner\n"))
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:4: CustomField/Account.Partner__c: "
        "spec: missing required key 'referenceTo'\n"
        "1 error in 1 file\n"
    )


def test_text_longer_than_255(project: Path, crmctl) -> None:
    add_manifest(project, field("Account.Code__c", "type: Text\nlabel: Code\nlength: 300\n"))
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:7: CustomField/Account.Code__c: "
        "spec.length must be at most 255 (got 300)\n"
        "1 error in 1 file\n"
    )


def test_long_text_area_shorter_than_256(project: Path, crmctl) -> None:
    add_manifest(
        project, field("Account.Memo__c", "type: LongTextArea\nlabel: Memo\nlength: 100\n")
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:7: CustomField/Account.Memo__c: "
        "spec.length must be at least 256 (got 100)\n"
        "1 error in 1 file\n"
    )


def test_keys_of_other_field_types(project: Path, crmctl) -> None:
    add_manifest(
        project,
        field(
            "Account.Code__c",
            """\
            type: Text
            label: Code
            precision: 5
            scale: 2
            values: [A, B]
            referenceTo: Contact
            relationshipName: Code
            """,
        ),
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:7: CustomField/Account.Code__c: "
        "spec.precision: precision applies only to Number, Currency, Percent, Formula and Summary fields\n"
        "manifests/test/case.yaml:8: CustomField/Account.Code__c: "
        "spec.scale: scale applies only to Number, Currency, Percent, Formula and Summary fields\n"
        "manifests/test/case.yaml:9: CustomField/Account.Code__c: "
        "spec.values: values applies only to Picklist and MultiPicklist fields\n"
        "manifests/test/case.yaml:10: CustomField/Account.Code__c: "
        "spec.referenceTo: referenceTo applies only to Lookup and MasterDetail fields\n"
        "manifests/test/case.yaml:11: CustomField/Account.Code__c: "
        "spec.relationshipName: relationshipName applies only to Lookup and MasterDetail fields\n"
        "5 errors in 1 file\n"
    )


def test_unknown_type_suggests_the_closest(project: Path, crmctl) -> None:
    add_manifest(project, field("Account.Tier__c", "type: Picklst\nlabel: Tier\n"))
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:5: CustomField/Account.Tier__c: spec.type must be one of "
        "Text, TextArea, LongTextArea, Number, Currency, Percent, Date, DateTime, Checkbox, "
        "Email, Phone, Url, Picklist, MultiPicklist, Lookup, MasterDetail, Time, Html, AutoNumber, "
        "Formula, Summary (got 'Picklst')\n"
        "  hint: did you mean 'Picklist'?\n"
        "1 error in 1 file\n"
    )


def test_name_must_be_object_dot_field_c(project: Path, crmctl) -> None:
    add_manifest(project, field("Account.Tier", "type: Checkbox\nlabel: Tier\n"))
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:3: CustomField/Account.Tier: metadata.name: a CustomField "
        "name is Object.Field__c, e.g. Account.Region__c (got 'Account.Tier')\n"
        "1 error in 1 file\n"
    )


def test_field_on_an_undeclared_custom_object(project: Path, crmctl) -> None:
    add_manifest(
        project,
        "# A field of an object nobody declared.\n"
        + field("Widget__c.Size__c", "type: Number\nlabel: Size\n"),
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:2: CustomField/Widget__c.Size__c: object 'Widget__c' is "
        "neither declared as a CustomObject nor a standard object\n"
        "  hint: declare the CustomObject, or check the spelling of the object name\n"
        "1 error in 1 file\n"
    )


def test_picklist_value_listed_twice_in_another_case(project: Path, crmctl) -> None:
    add_manifest(
        project,
        field(
            "Account.Tier__c",
            """\
            type: Picklist
            label: Tier
            values:
              - Gold
              - Silver
              - value: gold
                label: Gold again
            """,
        ),
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:10: CustomField/Account.Tier__c: "
        "picklist value 'gold' is listed twice (values[0] and values[2])\n"
        "1 error in 1 file\n"
    )


def test_picklist_with_two_defaults(project: Path, crmctl) -> None:
    add_manifest(
        project,
        field(
            "Account.Tier__c",
            """\
            type: Picklist
            label: Tier
            values:
              - {value: Gold, default: true}
              - {value: Silver, default: true}
            """,
        ),
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:7: CustomField/Account.Tier__c: "
        "a Picklist can have one default value; 2 are marked default\n"
        "1 error in 1 file\n"
    )


def test_scale_larger_than_precision(project: Path, crmctl) -> None:
    add_manifest(
        project,
        field("Account.Rate__c", "type: Percent\nlabel: Rate\nprecision: 3\nscale: 5\n"),
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:8: CustomField/Account.Rate__c: "
        "scale (5) cannot be larger than precision (3)\n"
        "1 error in 1 file\n"
    )


@pytest.mark.parametrize("ftype", ["Lookup", "MasterDetail"])
def test_relationship_to_an_unknown_object(project: Path, crmctl, ftype: str) -> None:
    add_manifest(
        project,
        field("Account.Partner__c", f"type: {ftype}\nlabel: Partner\nreferenceTo: Partner__c\n"),
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:7: CustomField/Account.Partner__c: "
        "referenceTo names unknown object 'Partner__c'\n"
        "1 error in 1 file\n"
    )


def test_relationship_to_a_custom_object_declared_in_another_file(project: Path, crmctl) -> None:
    add_manifest(
        project,
        field(
            "Contact.Last_Invoice__c",
            "type: Lookup\nlabel: Last Invoice\nreferenceTo: invoice__c\n",
        ),
    )
    r = crmctl("validate")
    assert (r.exit_code, r.out) == (
        0,
        f"valid: {EXAMPLE.resources + 1} resources in {EXAMPLE.files + 1} files\n",
    )


def test_canonical_form_of_a_picklist_expands_values_in_order() -> None:
    spec = {
        "type": "Picklist",
        "label": "Tier",
        "values": [
            "Gold",
            {"value": "Silver", "default": True},
            {"value": "Bronze", "label": "Brz", "active": False},
        ],
    }
    before = copy.deepcopy(spec)
    assert handler("CustomField").canonical(spec) == {
        "type": "Picklist",
        "label": "Tier",
        "required": False,
        "unique": False,
        "externalId": False,
        "values": [
            {"value": "Gold", "label": "Gold", "default": False, "active": True},
            {"value": "Silver", "label": "Silver", "default": True, "active": True},
            {"value": "Bronze", "label": "Brz", "default": False, "active": False},
        ],
        "classification": "Internal",
    }
    assert spec == before


@pytest.mark.parametrize(
    ("ftype", "filled"),
    [
        ("Text", {"length": 255}),
        ("LongTextArea", {"length": 32768}),
        ("Number", {"precision": 18, "scale": 0}),
        ("Currency", {"precision": 18, "scale": 0}),
        ("Percent", {"precision": 18, "scale": 0}),
        ("Date", {}),
        ("Checkbox", {}),
    ],
)
def test_canonical_form_fills_in_type_defaults(ftype: str, filled: dict) -> None:
    assert handler("CustomField").canonical({"type": ftype, "label": "X"}) == {
        "type": ftype,
        "label": "X",
        "required": False,
        "unique": False,
        "externalId": False,
        "classification": "Internal",
        **filled,
    }


def test_canonical_form_keeps_given_values_and_drops_nulls() -> None:
    docs, _ = read_yaml_file(FIXTURES / "valid" / "full.yaml")
    code = docs[1].data["spec"]
    assert handler("CustomField").canonical({**code, "description": None}) == {
        "type": "Text",
        "label": "Support Code",
        "length": 12,
        "required": False,
        "unique": True,
        "externalId": True,
        "classification": "Internal",
    }
