"""crmctl init: a new project that validates, tests, plans and applies as written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from tests.importer.test_sfdx import NS, _xml


@pytest.fixture
def empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.delenv("CRMCTL_ENV", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("CRMCTL_ACTOR", "tester@example.com")
    return folder


def test_init_writes_a_project_that_works_as_written(empty: Path, crmctl) -> None:
    result = crmctl("init", "northwind")
    assert result.exit_code == 0, result.output
    assert result.out.splitlines() == [
        "  wrote northwind/environments/local.yaml",
        "  wrote northwind/manifests/example.yaml",
        "  wrote northwind/crm-tests/example.yaml",
        "  wrote northwind/.gitignore",
        "Started a crmctl project in northwind. Next: cd northwind && crmctl validate && "
        "crmctl plan, then crmctl apply to the sandbox; git init and commit when it looks right.",
    ]
    project = empty / "northwind"
    ignored = (project / ".gitignore").read_text().splitlines()
    assert ".crmctl/" in ignored and "*.pem" in ignored and "*.key" in ignored
    os.chdir(project)
    assert crmctl("validate").out == "valid: 2 resources in 1 file\n"
    assert crmctl("lint").exit_code == 0
    tested = crmctl("test")
    assert tested.exit_code == 0, tested.output
    assert tested.out.splitlines()[-1] == "2 cases: 2 passed, 0 failed, 0 errors"
    assert crmctl("plan").out.splitlines()[-1] == "Plan: 2 to add, 0 to change, 0 to destroy."
    applied = crmctl("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert crmctl("plan").out.splitlines()[-1] == "No changes. The CRM matches the manifests."


def test_init_in_the_current_folder_keeps_an_existing_gitignore(empty: Path, crmctl) -> None:
    (empty / ".gitignore").write_text("node_modules/\n.crmctl/")
    result = crmctl("init")
    assert result.exit_code == 0, result.output
    assert result.out.splitlines()[-1].startswith("Started a crmctl project in this folder. ")
    lines = (empty / ".gitignore").read_text().splitlines()
    assert lines[:3] == ["node_modules/", ".crmctl/", ""]
    assert lines.count(".crmctl/") == 1 and "*.pem" in lines


def test_init_refuses_an_existing_project_and_writes_nothing(empty: Path, crmctl) -> None:
    (empty / "environments").mkdir()
    result = crmctl("init")
    assert result.exit_code == 1
    assert result.err.splitlines()[0] == (
        "Error: this folder already holds a crmctl project (environments/ or crmctl.yaml); "
        "nothing was written"
    )
    assert sorted(p.name for p in empty.iterdir()) == ["environments"]


def test_init_from_a_salesforce_dx_project(empty: Path, crmctl) -> None:
    source = empty / "sfdx"
    _xml(source / "roles" / "CEO.role-meta.xml", f"<Role {NS}><name>Chief</name></Role>")
    result = crmctl("init", "crm", "--from", "sfdx", str(source))
    assert result.exit_code == 0, result.output
    project = empty / "crm"
    assert sorted(p.relative_to(project).as_posix() for p in project.rglob("*.yaml")) == [
        "environments/local.yaml",
        "manifests/roles.yaml",
    ]
    assert "  roles.yaml  1 resource" in result.out
    docs = list(yaml.safe_load_all((project / "manifests/roles.yaml").read_text()))
    assert [d["metadata"]["name"] for d in docs] == ["CEO"]
    assert crmctl("-C", str(project), "validate").out == "valid: 1 resource in 1 file\n"


def test_init_from_a_dataverse_solution_writes_a_dataverse_project(empty: Path, crmctl) -> None:
    from tests.dataverse.test_import_solution import FIXTURE

    result = crmctl("init", "crm", "--from", "dataverse-solution", str(FIXTURE))
    assert result.exit_code == 0, result.output
    lines = result.out.splitlines()
    assert lines[:2] == ["  wrote crm/environments/dynamics.yaml", "  wrote crm/.gitignore"]
    assert lines[-1] == (
        "Started a crmctl project in crm for a Dataverse environment. Next: fill in url and "
        "tenantId in environments/dynamics.yaml, export CRMCTL_DV_CLIENT_ID and "
        "CRMCTL_DV_CLIENT_SECRET, then cd crm && crmctl validate -e dynamics && crmctl plan "
        "-e dynamics; git init and commit when it looks right."
    )
    assert not (empty / "crm" / "environments" / "local.yaml").exists()
    os.chdir(empty / "crm")
    validated = crmctl("validate", "-e", "dynamics")
    assert validated.exit_code == 0, validated.output
    assert validated.out.startswith("valid: ")


def test_init_from_a_folder_without_a_solution_writes_nothing(empty: Path, crmctl) -> None:
    (empty / "solution").mkdir()
    result = crmctl("init", "crm", "--from", "dataverse-solution", "solution")
    assert result.exit_code == 1
    assert result.err == (
        "Error: nothing to import from solution: no convertible metadata found; nothing was "
        "written\nhint: point at an unpacked solution (the folder holding Entities/ and Other/)\n"
    )
    assert [p.name for p in empty.iterdir()] == ["solution"]
