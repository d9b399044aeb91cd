"""Role: names, parents and cycles in the role hierarchy."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from crmctl.kinds import handler
from tests.conftest import EXAMPLE

FIXTURES = Path(__file__).parent / "fixtures" / "role"


def add_manifest(project: Path, text: str) -> None:
    """Add `manifests/test/case.yaml` to the example project."""
    folder = project / "manifests" / "test"
    folder.mkdir(exist_ok=True)
    (folder / "case.yaml").write_text(textwrap.dedent(text))


def role(name: str, parent: str) -> str:
    return (
        f"apiVersion: crmctl/v1\nkind: Role\nmetadata: {{name: {name}}}\n"
        f"spec:\n  label: {name}\n  parent: {parent}\n"
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


def test_name_that_is_not_an_api_name(project: Path, crmctl) -> None:
    add_manifest(project, role("'Sales Rep'", "CEO"))
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:3: Role/Sales Rep: metadata.name: a Role name is an API name "
        "such as Sales_Manager_EMEA (got 'Sales Rep')\n"
        "1 error in 1 file\n"
    )


def test_parent_that_is_not_a_name(project: Path, crmctl) -> None:
    add_manifest(project, role("Sales_Rep_APAC", "[CEO]"))
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:6: Role/Sales_Rep_APAC: spec.parent: "
        "parent must be a Role name or null (got ['CEO'])\n"
        "1 error in 1 file\n"
    )


def test_unknown_parent(project: Path, crmctl) -> None:
    add_manifest(project, role("Sales_Rep_APAC", "Sales_Manager_APAC"))
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:6: Role/Sales_Rep_APAC: "
        "parent role 'Sales_Manager_APAC' is not declared\n"
        "1 error in 1 file\n"
    )


def test_cycle_of_three_roles_is_shown_once(project: Path, crmctl) -> None:
    add_manifest(project, "---\n".join([role("A", "B"), role("B", "C"), role("C", "A")]))
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:6: Role/A: role hierarchy has a cycle: A -> B -> C -> A\n"
        "1 error in 1 file\n"
    )


def test_cycle_is_reported_from_its_first_role_by_name(project: Path, crmctl) -> None:
    add_manifest(
        project, "---\n".join([role("Zeta", "Alpha"), role("Alpha", "Mid"), role("Mid", "Zeta")])
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:13: Role/Alpha: "
        "role hierarchy has a cycle: Alpha -> Mid -> Zeta -> Alpha\n"
        "1 error in 1 file\n"
    )


def test_role_that_is_its_own_parent(project: Path, crmctl) -> None:
    add_manifest(project, role("Loop", "Loop"))
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:6: Role/Loop: role hierarchy has a cycle: Loop -> Loop\n"
        "1 error in 1 file\n"
    )


def test_roles_hanging_below_a_cycle_are_not_reported(project: Path, crmctl) -> None:
    add_manifest(project, "---\n".join([role("A", "B"), role("B", "A"), role("Below", "A")]))
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:6: Role/A: role hierarchy has a cycle: A -> B -> A\n"
        "1 error in 1 file\n"
    )


def test_canonical_form_fills_in_a_null_parent() -> None:
    assert handler("Role").canonical({"label": "Board"}) == {"label": "Board", "parent": None}
