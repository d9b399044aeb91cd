"""ValidationRule: schema rules, formula checks placed on their YAML line, errorField."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from crmctl.kinds import handler
from tests.conftest import EXAMPLE

FIXTURES = Path(__file__).parent / "fixtures" / "validation_rule"


def add_manifest(project: Path, text: str) -> None:
    """Add `manifests/test/case.yaml` to the example project."""
    folder = project / "manifests" / "test"
    folder.mkdir(exist_ok=True)
    (folder / "case.yaml").write_text(textwrap.dedent(text))


def rule(name: str, condition: str, extra: str = "") -> str:
    """A ValidationRule manifest with its condition on line 5."""
    return (
        f"apiVersion: crmctl/v1\nkind: ValidationRule\nmetadata: {{name: {name}}}\nspec:\n"
        f"  condition: {condition}\n  errorMessage: Fix it.\n{extra}"
    )


@pytest.mark.parametrize(
    ("fixture", "summary"),
    [
        (
            "minimal.yaml",
            f"valid: {EXAMPLE.resources + 1} resources in {EXAMPLE.files + 1} files\n",
        ),
        ("full.yaml", f"valid: {EXAMPLE.resources + 2} resources in {EXAMPLE.files + 1} files\n"),
    ],
)
def test_valid_manifest(project: Path, crmctl, fixture: str, summary: str) -> None:
    shutil.copy(FIXTURES / "valid" / fixture, project / "manifests")
    r = crmctl("validate")
    assert (r.exit_code, r.out, r.err) == (0, summary, "")


def test_error_message_longer_than_255(project: Path, crmctl) -> None:
    add_manifest(
        project,
        f"""\
        apiVersion: crmctl/v1
        kind: ValidationRule
        metadata: {{name: Account.Too_Wordy}}
        spec:
          condition: ISBLANK(Name)
          errorMessage: {"Please " * 37}
        """,
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:6: ValidationRule/Account.Too_Wordy: "
        "spec.errorMessage is 258 characters long; at most 255 are allowed\n"
        "1 error in 1 file\n"
    )


def test_missing_condition_and_error_message(project: Path, crmctl) -> None:
    add_manifest(
        project,
        """\
        apiVersion: crmctl/v1
        kind: ValidationRule
        metadata: {name: Account.Empty}
        spec:
          active: true
        """,
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:4: ValidationRule/Account.Empty: "
        "spec: missing required key 'condition'\n"
        "manifests/test/case.yaml:4: ValidationRule/Account.Empty: "
        "spec: missing required key 'errorMessage'\n"
        "2 errors in 1 file\n"
    )


def test_formula_that_does_not_parse(project: Path, crmctl) -> None:
    add_manifest(project, rule("Account.Broken", "AND(ISBLANK(Name),"))
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:5: ValidationRule/Account.Broken: "
        "spec.condition: unexpected end of formula (formula line 1, column 19)\n"
        "1 error in 1 file\n"
    )


def test_formula_calling_an_unknown_function(project: Path, crmctl) -> None:
    add_manifest(project, rule("Account.Frob", "FROBNICATE(Name)"))
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:5: ValidationRule/Account.Frob: "
        "spec.condition: unknown function FROBNICATE (formula line 1, column 1)\n"
        "1 error in 1 file\n"
    )


def test_formula_with_wrong_arity(project: Path, crmctl) -> None:
    add_manifest(project, rule("Account.Arity", "ISBLANK(Name, Site)"))
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:5: ValidationRule/Account.Arity: "
        "spec.condition: ISBLANK takes exactly 1 argument, got 2 (formula line 1, column 1)\n"
        "1 error in 1 file\n"
    )


def test_errors_inside_a_block_scalar_are_on_their_own_yaml_line(project: Path, crmctl) -> None:
    add_manifest(
        project,
        """\
        apiVersion: crmctl/v1
        kind: ValidationRule
        metadata: {name: Invoice__c.Late}
        spec:
          condition: |
            AND(
              ISPICKVAL(Status__c, "Sent"),
              Due_Dat__c < TODAY(),
              DAYS(Issue_Date__c) > 30
            )
          errorMessage: Chase it.
        """,
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:8: ValidationRule/Invoice__c.Late: "
        "spec.condition: unknown field Due_Dat__c (formula line 3, column 3)\n"
        "manifests/test/case.yaml:9: ValidationRule/Invoice__c.Late: "
        "spec.condition: unknown function DAYS (formula line 4, column 3)\n"
        "2 errors in 1 file\n"
    )


def test_syntax_error_inside_a_block_scalar(project: Path, crmctl) -> None:
    add_manifest(
        project,
        """\
        apiVersion: crmctl/v1
        kind: ValidationRule
        metadata: {name: Invoice__c.Late}
        spec:
          errorMessage: Chase it.
          condition: |
            AND(
              ISPICKVAL(Status__c, "Sent")
              Due_Date__c < TODAY()
            )
        """,
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:9: ValidationRule/Invoice__c.Late: "
        "spec.condition: unexpected 'Due_Date__c' (formula line 3, column 3)\n"
        "1 error in 1 file\n"
    )


def test_formula_naming_an_unknown_field(project: Path, crmctl) -> None:
    add_manifest(project, rule("Account.Unknown", "ISBLANK(Regoin__c)"))
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:5: ValidationRule/Account.Unknown: "
        "spec.condition: unknown field Regoin__c (formula line 1, column 9)\n"
        "1 error in 1 file\n"
    )


def test_ispickval_on_a_text_field(project: Path, crmctl) -> None:
    add_manifest(project, rule("Account.Pick", 'ISPICKVAL(VAT_Number__c, "x")'))
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:5: ValidationRule/Account.Pick: spec.condition: "
        "ISPICKVAL needs a picklist field; VAT_Number__c is Text (formula line 1, column 11)\n"
        "1 error in 1 file\n"
    )


def test_cross_object_references_through_lookups(project: Path, crmctl) -> None:
    add_manifest(
        project,
        """\
        apiVersion: crmctl/v1
        kind: CustomField
        metadata: {name: Invoice__c.Buyer__c}
        spec: {type: Lookup, label: Buyer, referenceTo: Contact, relationshipName: Buyer}
        ---
        apiVersion: crmctl/v1
        kind: CustomField
        metadata: {name: Invoice__c.Reseller__c}
        spec: {type: Lookup, label: Reseller, referenceTo: Account}
        ---
        apiVersion: crmctl/v1
        kind: ValidationRule
        metadata: {name: Invoice__c.Known_Parties}
        spec:
          condition: >-
            ISBLANK(Account__r.Name) || ISBLANK(Buyer__r.Email) ||
            ISBLANK(Buyer__r.Account.Region__c) || ISBLANK(Reseller__r.Owner.Email)
          errorMessage: Name the parties.
        ---
        apiVersion: crmctl/v1
        kind: ValidationRule
        metadata: {name: Contact.Account_Named}
        spec:
          condition: ISBLANK(Account.Name) && ISPICKVAL(Account.Type, "Customer")
          errorMessage: Name the account.
        """,
    )
    r = crmctl("validate")
    assert (r.exit_code, r.out) == (
        0,
        f"valid: {EXAMPLE.resources + 4} resources in {EXAMPLE.files + 1} files\n",
    )


def test_unknown_fields_across_relationships(project: Path, crmctl) -> None:
    add_manifest(
        project,
        """\
        apiVersion: crmctl/v1
        kind: ValidationRule
        metadata: {name: Subscription__c.Bad_Reach}
        spec:
          condition: ISBLANK(Account__r.Nope__c) || ISBLANK(Acount__r.Name)
          errorMessage: Fix it.
        ---
        apiVersion: crmctl/v1
        kind: ValidationRule
        metadata: {name: Contact.Bad_Reach}
        spec:
          condition: ISBLANK(Account.Bogus)
          errorMessage: Fix it.
        """,
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:5: ValidationRule/Subscription__c.Bad_Reach: spec.condition: "
        "unknown field Account__r.Nope__c (formula line 1, column 9)\n"
        "manifests/test/case.yaml:5: ValidationRule/Subscription__c.Bad_Reach: spec.condition: "
        "unknown field Acount__r.Name (formula line 1, column 40)\n"
        "manifests/test/case.yaml:12: ValidationRule/Contact.Bad_Reach: spec.condition: "
        "unknown field Account.Bogus (formula line 1, column 9)\n"
        "3 errors in 1 file\n"
    )


def test_error_field_that_is_not_a_field(project: Path, crmctl) -> None:
    add_manifest(project, rule("Account.Where", "ISBLANK(Name)", "  errorField: Regoin__c\n"))
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:7: ValidationRule/Account.Where: "
        "errorField 'Regoin__c' is not a field of Account\n"
        "1 error in 1 file\n"
    )


def test_rule_on_an_undeclared_object(project: Path, crmctl) -> None:
    add_manifest(project, rule("Widget__c.Sized", "ISBLANK(Size__c)"))
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:1: ValidationRule/Widget__c.Sized: "
        "object 'Widget__c' is neither declared as a CustomObject nor a standard object\n"
        "1 error in 1 file\n"
    )


def test_canonical_form_fills_in_active() -> None:
    spec = {"condition": "ISBLANK(Name)", "errorMessage": "Name it."}
    assert handler("ValidationRule").canonical(spec) == {
        "active": True,
        "condition": "ISBLANK(Name)",
        "errorMessage": "Name it.",
    }
