"""RetentionPolicy: periods, actions, the date field and the filter formula."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from crmctl.kinds import handler
from tests.conftest import EXAMPLE

FIXTURES = Path(__file__).parent / "fixtures" / "retention_policy"


def add_manifest(project: Path, text: str) -> None:
    """Add `manifests/test/case.yaml` to the example project."""
    folder = project / "manifests" / "test"
    folder.mkdir(exist_ok=True)
    (folder / "case.yaml").write_text(textwrap.dedent(text))


def policy(body: str) -> str:
    """A RetentionPolicy called Old_Leads whose spec body starts on line 5."""
    return (
        "apiVersion: crmctl/v1\nkind: RetentionPolicy\nmetadata: {name: Old_Leads}\nspec:\n"
        + textwrap.indent(textwrap.dedent(body), "  ")
        + "  legalBasis: Storage limitation.\n"
    )


@pytest.mark.parametrize("fixture", ["minimal.yaml", "full.yaml"])
def test_valid_manifest(project: Path, crmctl, fixture: str) -> None:
    shutil.copy(FIXTURES / "valid" / fixture, project / "manifests")
    r = crmctl("validate")
    assert (r.exit_code, r.out, r.err) == (
        0,
        f"valid: {EXAMPLE.resources + 1} resources in {EXAMPLE.files + 1} files\n",
        "",
    )


def test_anonymize_without_anonymize_fields(project: Path, crmctl) -> None:
    add_manifest(
        project,
        policy("object: Lead\ndateField: CreatedDate\nretain: P2Y\naction: anonymize\n"),
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:4: RetentionPolicy/Old_Leads: "
        "spec: missing required key 'anonymizeFields'\n"
        "1 error in 1 file\n"
    )


def test_anonymize_fields_with_another_action(project: Path, crmctl) -> None:
    add_manifest(
        project,
        policy(
            "object: Lead\ndateField: CreatedDate\nretain: P2Y\naction: delete\n"
            "anonymizeFields: [Email]\n"
        ),
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:9: RetentionPolicy/Old_Leads: spec.anonymizeFields: "
        "anonymizeFields applies only when action is anonymize\n"
        "1 error in 1 file\n"
    )


@pytest.mark.parametrize("retain", ["2 years", "P", "P2Y2Y", "PT12H", "2Y"])
def test_retain_that_is_not_a_period(project: Path, crmctl, retain: str) -> None:
    add_manifest(
        project,
        policy(f"object: Lead\ndateField: CreatedDate\nretain: {retain}\naction: delete\n"),
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:7: RetentionPolicy/Old_Leads: spec.retain: retain must be "
        f"an ISO-8601 period such as P7Y, P18M or P90D (got '{retain}')\n"
        "1 error in 1 file\n"
    )


def test_date_field_that_is_not_a_date(project: Path, crmctl) -> None:
    add_manifest(
        project,
        policy("object: Lead\ndateField: Company\nretain: P2Y\naction: delete\n"),
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:6: RetentionPolicy/Old_Leads: "
        "dateField 'Company' is a Text field; it must be a Date or DateTime field\n"
        "1 error in 1 file\n"
    )


def test_unknown_date_field_and_anonymize_field(project: Path, crmctl) -> None:
    add_manifest(
        project,
        policy(
            "object: Lead\ndateField: Captured_On__c\nretain: P2Y\naction: anonymize\n"
            "anonymizeFields:\n  - Email\n  - Mobile\n"
        ),
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:6: RetentionPolicy/Old_Leads: "
        "dateField 'Captured_On__c' is not a field of Lead\n"
        "manifests/test/case.yaml:11: RetentionPolicy/Old_Leads: "
        "anonymizeFields: 'Mobile' is not a field of Lead\n"
        "2 errors in 1 file\n"
    )


def test_policy_on_an_undeclared_object(project: Path, crmctl) -> None:
    add_manifest(
        project,
        policy("object: Widget__c\ndateField: CreatedDate\nretain: P2Y\naction: delete\n"),
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:5: RetentionPolicy/Old_Leads: "
        "object 'Widget__c' is neither declared as a CustomObject nor a standard object\n"
        "1 error in 1 file\n"
    )


def test_filter_formula_problems(project: Path, crmctl) -> None:
    add_manifest(
        project,
        policy(
            """\
            object: Lead
            dateField: CreatedDate
            retain: P2Y
            action: delete
            filter: |
              AND(
                NOT(IsConverted),
                ISPICKVAL(Stage, "Lost"),
                WEEKS(CreatedDate) > 3
              )
            """
        ),
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:12: RetentionPolicy/Old_Leads: "
        "spec.filter: unknown field Stage (formula line 3, column 13)\n"
        "manifests/test/case.yaml:13: RetentionPolicy/Old_Leads: "
        "spec.filter: unknown function WEEKS (formula line 4, column 3)\n"
        "2 errors in 1 file\n"
    )


def test_filter_that_does_not_parse(project: Path, crmctl) -> None:
    add_manifest(
        project,
        policy(
            "object: Lead\ndateField: CreatedDate\nretain: P2Y\naction: delete\n"
            "filter: NOT(IsConverted\n"
        ),
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:9: RetentionPolicy/Old_Leads: spec.filter: "
        "missing ')' to close '(' opened at column 4 (formula line 1, column 16)\n"
        "1 error in 1 file\n"
    )


def test_canonical_form_sorts_anonymize_fields() -> None:
    spec = {
        "object": "Contact",
        "dateField": "CreatedDate",
        "retain": "P5Y",
        "action": "anonymize",
        "anonymizeFields": ["Phone", "Email", "Birthdate"],
        "legalBasis": "Contract ended.",
    }
    assert handler("RetentionPolicy").canonical(spec) == {
        **spec,
        "anonymizeFields": ["Birthdate", "Email", "Phone"],
    }
    assert spec["anonymizeFields"] == ["Phone", "Email", "Birthdate"]
