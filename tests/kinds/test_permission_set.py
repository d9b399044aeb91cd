"""PermissionSet: object and field permissions, what each needs, and the canonical form."""

from __future__ import annotations

import copy
import shutil
import textwrap
from pathlib import Path

import pytest

from crmctl.config.yamlsource import read_yaml_file
from crmctl.kinds import handler
from tests.conftest import EXAMPLE

FIXTURES = Path(__file__).parent / "fixtures" / "permission_set"


def add_manifest(project: Path, text: str) -> None:
    """Add `manifests/test/case.yaml` to the example project."""
    folder = project / "manifests" / "test"
    folder.mkdir(exist_ok=True)
    (folder / "case.yaml").write_text(textwrap.dedent(text))


def permission_set(body: str) -> str:
    """A PermissionSet called Auditor whose spec body starts on line 6."""
    return (
        "apiVersion: crmctl/v1\nkind: PermissionSet\nmetadata: {name: Auditor}\n"
        "spec:\n  label: Auditor\n" + textwrap.indent(textwrap.dedent(body), "  ")
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


def test_unknown_permission_and_bad_keys(project: Path, crmctl) -> None:
    add_manifest(
        project,
        permission_set(
            """\
            objects:
              Account: [read, write]
              "Invoice Lines": [read]
            fields:
              Region__c: [read]
            system: [ApiEnabled, ApiEnabled]
            """
        ),
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:7: PermissionSet/Auditor: spec.objects.Account[1] must be one "
        "of read, create, edit, delete, viewAll, modifyAll (got 'write')\n"
        "manifests/test/case.yaml:8: PermissionSet/Auditor: spec.objects: key 'Invoice Lines' "
        "must be an object API name such as Account or Invoice__c\n"
        "manifests/test/case.yaml:10: PermissionSet/Auditor: spec.fields: key 'Region__c' "
        "must be Object.Field, e.g. Account.Region__c\n"
        "manifests/test/case.yaml:11: PermissionSet/Auditor: "
        "spec.system lists 'ApiEnabled' more than once\n"
        "4 errors in 1 file\n"
    )


def test_unknown_objects_and_fields(project: Path, crmctl) -> None:
    add_manifest(
        project,
        permission_set(
            """\
            objects:
              Widget__c: [read]
            fields:
              Widget__c.Size__c: [read]
              Invoice__c.Total__c: [read]
              Account.Regoin__c: [read, edit]
            """
        ),
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:7: PermissionSet/Auditor: objects: unknown object 'Widget__c'\n"
        "manifests/test/case.yaml:9: PermissionSet/Auditor: "
        "fields: unknown object 'Widget__c' in 'Widget__c.Size__c'\n"
        "manifests/test/case.yaml:10: PermissionSet/Auditor: "
        "fields: 'Invoice__c.Total__c' is not a field of Invoice__c\n"
        "manifests/test/case.yaml:11: PermissionSet/Auditor: "
        "fields: 'Account.Regoin__c' is not a field of Account\n"
        "4 errors in 1 file\n"
    )


def test_field_edit_without_read(project: Path, crmctl) -> None:
    add_manifest(project, permission_set("fields:\n  Account.Region__c: [edit]\n"))
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:7: PermissionSet/Auditor: "
        "fields.Account.Region__c: 'edit' needs 'read' too\n"
        "  hint: use [read, edit]\n"
        "1 error in 1 file\n"
    )


def test_object_edit_without_read(project: Path, crmctl) -> None:
    add_manifest(project, permission_set("objects:\n  Account: [edit]\n"))
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:7: PermissionSet/Auditor: "
        "objects.Account: 'edit' needs 'read' too\n"
        "  hint: add read to Account, or remove edit\n"
        "1 error in 1 file\n"
    )


def test_modify_all_without_what_it_needs(project: Path, crmctl) -> None:
    add_manifest(project, permission_set("objects:\n  Invoice__c: [read, modifyAll]\n"))
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:7: PermissionSet/Auditor: "
        "objects.Invoice__c: 'modifyAll' needs 'edit', 'delete', 'viewAll' too\n"
        "  hint: add edit, delete, viewAll to Invoice__c, or remove modifyAll\n"
        "1 error in 1 file\n"
    )


def test_delete_needs_edit(project: Path, crmctl) -> None:
    add_manifest(project, permission_set("objects:\n  Lead: [read, delete]\n"))
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:7: PermissionSet/Auditor: "
        "objects.Lead: 'delete' needs 'edit' too\n"
        "  hint: add edit to Lead, or remove delete\n"
        "1 error in 1 file\n"
    )


def test_object_names_are_case_insensitive(project: Path, crmctl) -> None:
    add_manifest(
        project,
        permission_set("objects:\n  invoice__c: [read]\nfields:\n  ACCOUNT.region__c: [read]\n"),
    )
    r = crmctl("validate")
    assert (r.exit_code, r.out) == (
        0,
        f"valid: {EXAMPLE.resources + 1} resources in {EXAMPLE.files + 1} files\n",
    )


def test_canonical_form_orders_permissions_and_drops_empty_entries() -> None:
    docs, _ = read_yaml_file(FIXTURES / "valid" / "full.yaml")
    spec = docs[0].data["spec"]
    before = copy.deepcopy(spec)
    assert handler("PermissionSet").canonical(spec) == {
        "label": "Finance Auditor",
        "description": "Reviews invoices and subscriptions once a quarter.",
        "objects": {
            "Account": ["read"],
            "Invoice__c": ["read", "viewAll"],
            "Subscription__c": ["read", "create", "edit", "delete", "viewAll", "modifyAll"],
        },
        "fields": {
            "Account.Name": ["read"],
            "Invoice__c.Amount__c": ["read"],
            "Invoice__c.Notes__c": ["read", "edit"],
        },
        "system": ["ApiEnabled", "ExportReport"],
    }
    assert spec == before


def test_canonical_form_puts_permissions_in_the_crm_order() -> None:
    spec = {
        "label": "Mixed",
        "objects": {"Case": ["modifyAll", "viewAll", "delete", "edit", "read"], "Lead": []},
        "fields": {"Case.Subject": ["edit", "read"], "Case.Status": []},
    }
    assert handler("PermissionSet").canonical(spec) == {
        "label": "Mixed",
        "objects": {"Case": ["read", "edit", "delete", "viewAll", "modifyAll"]},
        "fields": {"Case.Subject": ["read", "edit"]},
        "system": [],
    }
