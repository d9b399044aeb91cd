"""CustomObject: valid manifests, schema violations and the canonical form."""

from __future__ import annotations

import copy
import shutil
import textwrap
from pathlib import Path

import pytest

from crmctl.config.yamlsource import read_yaml_file
from crmctl.kinds import handler
from tests.conftest import EXAMPLE

FIXTURES = Path(__file__).parent / "fixtures" / "custom_object"


def add_manifest(project: Path, text: str) -> None:
    """Add `manifests/test/case.yaml` to the example project."""
    folder = project / "manifests" / "test"
    folder.mkdir(exist_ok=True)
    (folder / "case.yaml").write_text(textwrap.dedent(text))


def spec_of(fixture: str) -> dict:
    docs, problems = read_yaml_file(FIXTURES / "valid" / fixture)
    assert problems == []
    return docs[0].data["spec"]


@pytest.mark.parametrize("fixture", ["minimal.yaml", "full.yaml"])
def test_valid_manifest(project: Path, crmctl, fixture: str) -> None:
    shutil.copy(FIXTURES / "valid" / fixture, project / "manifests")
    r = crmctl("validate")
    assert (r.exit_code, r.out, r.err) == (
        0,
        f"valid: {EXAMPLE.resources + 1} resources in {EXAMPLE.files + 1} files\n",
        "",
    )


def test_autonumber_record_name_needs_a_display_format(project: Path, crmctl) -> None:
    add_manifest(
        project,
        """\
        apiVersion: crmctl/v1
        kind: CustomObject
        metadata: {name: Ticket__c}
        spec:
          label: Ticket
          recordName:
            type: AutoNumber
        """,
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:6: CustomObject/Ticket__c: "
        "spec.recordName: missing required key 'displayFormat'\n"
        "1 error in 1 file\n"
    )


def test_display_format_needs_a_number_placeholder(project: Path, crmctl) -> None:
    add_manifest(
        project,
        """\
        apiVersion: crmctl/v1
        kind: CustomObject
        metadata: {name: Ticket__c}
        spec:
          label: Ticket
          recordName:
            type: AutoNumber
            displayFormat: TCK-{N}
        """,
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:8: CustomObject/Ticket__c: spec.recordName.displayFormat: "
        "an AutoNumber displayFormat needs a number placeholder such as INV-{0000} "
        "(got 'TCK-{N}')\n"
        "1 error in 1 file\n"
    )


def test_display_format_on_a_text_record_name(project: Path, crmctl) -> None:
    add_manifest(
        project,
        """\
        apiVersion: crmctl/v1
        kind: CustomObject
        metadata: {name: Ticket__c}
        spec:
          label: Ticket
          recordName:
            type: Text
            displayFormat: TCK-{0000}
        """,
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:8: CustomObject/Ticket__c: spec.recordName.displayFormat: "
        "displayFormat applies only to AutoNumber record names\n"
        "1 error in 1 file\n"
    )


def test_name_must_end_in_underscore_c(project: Path, crmctl) -> None:
    add_manifest(
        project,
        """\
        apiVersion: crmctl/v1
        kind: CustomObject
        metadata:
          name: Ticket
        spec:
          label: Ticket
          sharingModel: Public
        """,
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:4: CustomObject/Ticket: metadata.name: a CustomObject name "
        "is an API name ending in __c, e.g. Invoice__c (got 'Ticket')\n"
        "manifests/test/case.yaml:7: CustomObject/Ticket: spec.sharingModel must be one of "
        "Private, Read, ReadWrite (got 'Public')\n"
        "2 errors in 1 file\n"
    )


def test_label_longer_than_40_characters(project: Path, crmctl) -> None:
    add_manifest(
        project,
        f"""\
        apiVersion: crmctl/v1
        kind: CustomObject
        metadata: {{name: Ticket__c}}
        spec:
          label: {"T" * 41}
        """,
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:5: CustomObject/Ticket__c: "
        "spec.label is 41 characters long; at most 40 are allowed\n"
        "1 error in 1 file\n"
    )


def test_canonical_form_fills_in_the_defaults() -> None:
    assert handler("CustomObject").canonical(spec_of("minimal.yaml")) == {
        "label": "Minimal",
        "pluralLabel": "Minimals",
        "sharingModel": "ReadWrite",
        "recordName": {"label": "Minimal Name", "type": "Text"},
    }


def test_canonical_form_keeps_what_is_given() -> None:
    assert handler("CustomObject").canonical(spec_of("full.yaml")) == {
        "label": "Warranty",
        "pluralLabel": "Warranties",
        "description": "A warranty covering one subscription.",
        "sharingModel": "Private",
        "recordName": {
            "label": "Warranty Number",
            "type": "AutoNumber",
            "displayFormat": "WAR-{0000}",
        },
    }


def test_canonical_form_of_a_partial_record_name_fills_in_the_rest() -> None:
    spec = {"label": "Ticket", "recordName": {"type": "AutoNumber", "displayFormat": "T-{00}"}}
    before = copy.deepcopy(spec)
    assert handler("CustomObject").canonical(spec)["recordName"] == {
        "label": "Ticket Name",
        "type": "AutoNumber",
        "displayFormat": "T-{00}",
    }
    assert spec == before  # the manifest's own spec is left alone
