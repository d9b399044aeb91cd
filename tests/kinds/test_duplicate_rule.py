"""DuplicateRule: match fields on the rule's object, and the canonical form."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from crmctl.kinds import handler
from tests.conftest import EXAMPLE

FIXTURES = Path(__file__).parent / "fixtures" / "duplicate_rule"


def add_manifest(project: Path, text: str) -> None:
    """Add `manifests/test/case.yaml` to the example project."""
    folder = project / "manifests" / "test"
    folder.mkdir(exist_ok=True)
    (folder / "case.yaml").write_text(textwrap.dedent(text))


@pytest.mark.parametrize("fixture", ["minimal.yaml", "full.yaml"])
def test_valid_manifest(project: Path, crmctl, fixture: str) -> None:
    shutil.copy(FIXTURES / "valid" / fixture, project / "manifests")
    r = crmctl("validate")
    assert (r.exit_code, r.out, r.err) == (
        0,
        f"valid: {EXAMPLE.resources + 1} resources in {EXAMPLE.files + 1} files\n",
        "",
    )


def test_empty_match(project: Path, crmctl) -> None:
    add_manifest(
        project,
        """\
        apiVersion: crmctl/v1
        kind: DuplicateRule
        metadata: {name: Lead.Nothing}
        spec:
          match: []
        """,
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:5: DuplicateRule/Lead.Nothing: "
        "spec.match needs at least 1 item(s)\n"
        "1 error in 1 file\n"
    )


def test_bad_method_and_action(project: Path, crmctl) -> None:
    add_manifest(
        project,
        """\
        apiVersion: crmctl/v1
        kind: DuplicateRule
        metadata: {name: Lead.Same_Email}
        spec:
          match:
            - field: Email
              method: fuzy
          action:
            onCreate: warn
        """,
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:7: DuplicateRule/Lead.Same_Email: "
        "spec.match[0].method must be one of exact, fuzzy (got 'fuzy')\n"
        "  hint: did you mean 'fuzzy'?\n"
        "manifests/test/case.yaml:9: DuplicateRule/Lead.Same_Email: "
        "spec.action.onCreate must be one of block, alert (got 'warn')\n"
        "2 errors in 1 file\n"
    )


def test_match_on_unknown_fields(project: Path, crmctl) -> None:
    add_manifest(
        project,
        """\
        apiVersion: crmctl/v1
        kind: DuplicateRule
        metadata: {name: Account.Same_Tax_Id}
        spec:
          match:
            - field: Name
            - field: Tax_Id__c
              method: exact
            - field: BillingCity
        """,
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:7: DuplicateRule/Account.Same_Tax_Id: "
        "match[1]: 'Tax_Id__c' is not a field of Account\n"
        "1 error in 1 file\n"
    )


def test_rule_on_an_undeclared_object(project: Path, crmctl) -> None:
    add_manifest(
        project,
        """\
        apiVersion: crmctl/v1
        kind: DuplicateRule
        metadata: {name: Widget__c.Same_Name}
        spec:
          match: [{field: Name}]
        """,
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:1: DuplicateRule/Widget__c.Same_Name: "
        "object 'Widget__c' is neither declared as a CustomObject nor a standard object\n"
        "1 error in 1 file\n"
    )


def test_canonical_form_fills_in_method_and_actions() -> None:
    spec = {"match": [{"field": "Email"}, {"field": "Name", "method": "fuzzy"}]}
    assert handler("DuplicateRule").canonical(spec) == {
        "active": True,
        "match": [{"field": "Email", "method": "exact"}, {"field": "Name", "method": "fuzzy"}],
        "action": {"onCreate": "block", "onEdit": "alert"},
    }
    assert spec == {"match": [{"field": "Email"}, {"field": "Name", "method": "fuzzy"}]}
