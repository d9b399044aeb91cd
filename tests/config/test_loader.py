"""The loading pipeline: files, documents, duplicates, and what reaches the reference checks."""

from __future__ import annotations

import textwrap
from pathlib import Path

from crmctl.config.environment import load_environment
from crmctl.config.loader import collect_files, load_desired_state
from tests.conftest import EXAMPLE


def add_manifest(project: Path, text: str, name: str = "case.yaml") -> None:
    """Add `manifests/test/<name>` to the example project."""
    folder = project / "manifests" / "test"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(textwrap.dedent(text))


def rendered(project: Path, only: list[Path] | None = None) -> list[str]:
    state = load_desired_state(load_environment("local", project), only=only)
    return [d.render() for d in state.diagnostics]


def test_example_organisation(project: Path) -> None:
    state = load_desired_state(load_environment("local", project))
    assert state.diagnostics == []
    assert len(state.resources) == EXAMPLE.resources
    assert [p.relative_to(project).as_posix() for p in state.files] == [
        "manifests/access/permission-sets.yaml",
        "manifests/access/roles.yaml",
        "manifests/access/users.yaml",
        "manifests/data-quality/duplicate-rules.yaml",
        "manifests/objects/consent.yaml",
        "manifests/objects/invoice.yaml",
        "manifests/objects/subscription.yaml",
        "manifests/retention/policies.yaml",
        "manifests/standard/account.yaml",
        "manifests/standard/contact.yaml",
        "manifests/standard/lead.yaml",
    ]
    role = state.resources["Role/Sales_Rep_EMEA"]
    assert (role.kind, role.name, role.spec, role.metadata) == (
        "Role",
        "Sales_Rep_EMEA",
        {"label": "Sales Representative EMEA", "parent": "Sales_Manager_EMEA"},
        {"name": "Sales_Rep_EMEA", "owner": "crm-admins"},
    )
    assert str(role.location("parent")) == "manifests/access/roles.yaml:28"


def test_collect_files_finds_yaml_and_yml_once_each_in_order(tmp_path: Path) -> None:
    for name in ("b/two.yml", "a/one.yaml", "a/notes.md", "a/data.json", "c.yaml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    files, problems = collect_files([tmp_path, tmp_path / "c.yaml", tmp_path / "a"])
    assert problems == []
    assert [f.relative_to(tmp_path).as_posix() for f in files] == [
        "a/one.yaml",
        "b/two.yml",
        "c.yaml",
    ]


def test_same_name_declared_twice_across_files(project: Path, crmctl) -> None:
    add_manifest(
        project,
        """\
        # A second CEO.
        apiVersion: crmctl/v1
        kind: Role
        metadata: {name: CEO}
        spec: {label: Chief Executive}
        """,
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:2: Role/CEO: declared twice: also at manifests/access/roles.yaml:2\n"
        "  hint: a resource's kind and metadata.name must be unique; rename or remove one\n"
        "1 error in 1 file\n"
    )


def test_same_name_declared_twice_in_one_file(project: Path, crmctl) -> None:
    add_manifest(
        project,
        """\
        apiVersion: crmctl/v1
        kind: Role
        metadata: {name: Board}
        spec: {label: Board}
        ---
        apiVersion: crmctl/v1
        kind: Role
        metadata: {name: Board}
        spec: {label: Board again}
        """,
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/case.yaml:6: Role/Board: declared twice: also at manifests/test/case.yaml:1\n"
        "  hint: a resource's kind and metadata.name must be unique; rename or remove one\n"
        "1 error in 1 file\n"
    )


def test_same_name_in_two_kinds_is_fine(project: Path) -> None:
    state = load_desired_state(load_environment("local", project))
    assert {"Role/Service_Agent", "PermissionSet/Service_Agent"} <= set(state.resources)


def test_empty_documents_between_separators_are_ignored(project: Path, crmctl) -> None:
    add_manifest(
        project,
        "---\n---\napiVersion: crmctl/v1\nkind: Role\nmetadata: {name: Board}\nspec: {label: B}\n---\n",
    )
    r = crmctl("validate")
    assert (r.exit_code, r.out) == (
        0,
        f"valid: {EXAMPLE.resources + 1} resources in {EXAMPLE.files + 1} files\n",
    )


def test_a_resource_with_schema_errors_is_still_known_to_others(project: Path) -> None:
    # The object's label is too long; its fields must not also report an undeclared object.
    add_manifest(
        project,
        f"""\
        apiVersion: crmctl/v1
        kind: CustomObject
        metadata: {{name: Ticket__c}}
        spec: {{label: {"T" * 41}}}
        ---
        apiVersion: crmctl/v1
        kind: CustomField
        metadata: {{name: Ticket__c.Severity__c}}
        spec: {{type: Number, label: Severity}}
        """,
    )
    assert rendered(project) == [
        "manifests/test/case.yaml:4: CustomObject/Ticket__c: "
        "spec.label is 41 characters long; at most 40 are allowed"
    ]


def test_invalid_resources_skip_reference_checks(project: Path) -> None:
    # The unknown role would be reported too if the schema-invalid user were checked.
    add_manifest(
        project,
        """\
        apiVersion: crmctl/v1
        kind: User
        metadata: {name: x@northwind.example}
        spec: {email: x@northwind.example, lastName: X, role: Nobody, active: maybe}
        """,
    )
    assert rendered(project) == [
        "manifests/test/case.yaml:4: User/x@northwind.example: "
        "spec.active must be true or false, not a string"
    ]


def test_problems_are_sorted_by_file_and_line(project: Path, crmctl) -> None:
    add_manifest(
        project,
        "apiVersion: crmctl/v1\nkind: Role\nmetadata: {name: Z}\nspec: {label: Z, parent: Nope}\n",
        name="b.yaml",
    )
    add_manifest(
        project,
        "apiVersion: crmctl/v1\nkind: Role\nmetadata: {name: A}\nspec:\n  label: A\n  parent: Nope\n",
        name="a.yaml",
    )
    r = crmctl("validate")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/test/a.yaml:6: Role/A: parent role 'Nope' is not declared\n"
        "manifests/test/b.yaml:4: Role/Z: parent role 'Nope' is not declared\n"
        "2 errors in 2 files\n"
    )


def test_only_reports_problems_in_the_given_files(project: Path) -> None:
    add_manifest(
        project,
        "apiVersion: crmctl/v1\nkind: Role\nmetadata: {name: A}\nspec: {label: A, parent: Nope}\n",
    )
    add_manifest(
        project,
        "apiVersion: crmctl/v1\nkind: User\nmetadata: {name: a@northwind.example}\n"
        "spec: {email: a@northwind.example, lastName: A, role: A, permissionSets: [Nope]}\n",
        name="user.yaml",
    )
    assert rendered(project, only=[Path("manifests/test/user.yaml")]) == [
        "manifests/test/user.yaml:4: User/a@northwind.example: permission set 'Nope' is not declared"
    ]
    assert rendered(project, only=[Path("manifests/access")]) == []


def test_only_with_a_file_outside_the_environment(project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "extra.yaml"
    outside.parent.mkdir()
    outside.write_text(
        "apiVersion: crmctl/v1\nkind: Role\nmetadata: {name: Extra}\nspec: {label: E, parent: CEO}\n"
    )
    state = load_desired_state(load_environment("local", project), only=[outside])
    assert (state.diagnostics, len(state.resources), len(state.files)) == ([], 80, 12)
