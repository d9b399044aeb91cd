"""User: username and email, role and permission set references, canonical form."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from crmctl.kinds import handler
from tests.conftest import EXAMPLE

FIXTURES = Path(__file__).parent / "fixtures" / "user"


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


def test_bad_email_and_username(project: Path, crmctl) -> None:
    add_manifest(
        project,
        """\
        apiVersion: crmctl/v1
        kind: User
        metadata: {name: sam.oduya}
        spec:
          email: sam.oduya@northwind
          lastName: Oduya
        """,
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:3: User/sam.oduya: metadata.name: a User name is the "
        "username, which looks like an email address (got 'sam.oduya')\n"
        "manifests/test/case.yaml:5: User/sam.oduya: spec.email: "
        "email must be an email address (got 'sam.oduya@northwind')\n"
        "2 errors in 1 file\n"
    )


def test_active_that_is_not_a_boolean(project: Path, crmctl) -> None:
    add_manifest(
        project,
        """\
        apiVersion: crmctl/v1
        kind: User
        metadata: {name: sam.oduya@northwind.example}
        spec:
          email: sam.oduya@northwind.example
          lastName: Oduya
          active: "false"
        """,
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:7: User/sam.oduya@northwind.example: "
        "spec.active must be true or false, not a string\n"
        "1 error in 1 file\n"
    )


def test_unknown_role_and_permission_sets(project: Path, crmctl) -> None:
    add_manifest(
        project,
        """\
        apiVersion: crmctl/v1
        kind: User
        metadata: {name: sam.oduya@northwind.example}
        spec:
          email: sam.oduya@northwind.example
          lastName: Oduya
          role: Change_Manager
          permissionSets:
            - Sales_Rep
            - Change_Approver
        """,
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:7: User/sam.oduya@northwind.example: "
        "role 'Change_Manager' is not declared\n"
        "manifests/test/case.yaml:10: User/sam.oduya@northwind.example: "
        "permission set 'Change_Approver' is not declared\n"
        "2 errors in 1 file\n"
    )


def test_canonical_form_sorts_permission_sets_and_fills_in_defaults() -> None:
    spec = {
        "email": "a@northwind.example",
        "lastName": "A",
        "permissionSets": ["Sales_Rep", "Data_Steward"],
    }
    assert handler("User").canonical(spec) == {
        "email": "a@northwind.example",
        "lastName": "A",
        "active": True,
        "role": None,
        "permissionSets": ["Data_Steward", "Sales_Rep"],
    }
    assert spec["permissionSets"] == ["Sales_Rep", "Data_Steward"]
