"""Commands find the project upward from the current folder; validate DIR works outside one."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.e2e.helpers import replace_in


def test_commands_find_the_project_from_a_subfolder(project: Path, crmctl) -> None:
    os.chdir(project / "manifests" / "objects")
    assert crmctl("validate").out == "valid: 79 resources in 11 files\n"
    result = crmctl("plan")
    assert result.exit_code == 0, result.output
    assert result.out.splitlines()[-1] == "Plan: 79 to add, 0 to change, 0 to destroy."
    # The sandbox database is the project's, not one in the subfolder.
    assert (project / ".crmctl").is_dir() and not (Path.cwd() / ".crmctl").exists()


def test_a_crmctl_yaml_marks_the_project_too(tmp_path: Path, crmctl, monkeypatch) -> None:
    root = tmp_path / "repo"
    shutil.copytree(REPO / "manifests", root / "crm" / "manifests")
    shutil.copytree(REPO / "environments", root / "crm" / "environments")
    (root / "crm" / "crmctl.yaml").write_text("{}\n")
    monkeypatch.chdir(root / "crm" / "manifests" / "access")
    monkeypatch.delenv("CRMCTL_ENV", raising=False)
    assert crmctl("validate").out == "valid: 79 resources in 11 files\n"


def test_outside_a_project_the_hint_names_minus_c(tmp_path: Path, crmctl, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CRMCTL_ENV", raising=False)
    result = crmctl("plan")
    assert result.exit_code == 1
    assert result.err == (
        "Error: no environment 'local': environments/local.yaml does not exist\n"
        "hint: crmctl looks for the project (a folder holding environments/ or crmctl.yaml) in "
        "the current folder and the folders above it; pass -C PROJECT_DIR to name it, or start "
        "one here with: crmctl init\n"
    )


@pytest.fixture
def loose(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder of manifests with no project around it."""
    folder = tmp_path / "downloads" / "northwind-manifests"
    shutil.copytree(REPO / "manifests", folder)
    monkeypatch.chdir(tmp_path / "downloads")
    monkeypatch.delenv("CRMCTL_ENV", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    return folder


def test_validate_dir_outside_a_project_checks_the_folder_on_its_own(loose: Path, crmctl) -> None:
    result = crmctl("validate", "northwind-manifests")
    assert result.exit_code == 0, result.output
    assert result.out == "valid: 79 resources in 11 files\n"
    report = json.loads(crmctl("validate", "--format", "json", "northwind-manifests").out)
    assert report["environment"] == "(no environment)"
    assert report["valid"] is True


def test_validate_dir_outside_a_project_reports_file_and_line(loose: Path, crmctl) -> None:
    replace_in(loose / "objects" / "invoice.yaml", "type: Currency", "type: Money")
    result = crmctl("validate", "northwind-manifests/objects/invoice.yaml")
    assert result.exit_code == 1
    first = result.out.splitlines()[0]
    assert first.startswith("northwind-manifests/objects/invoice.yaml:36:")
    assert "Money" in first


def test_validate_dir_with_an_environment_still_uses_it(loose: Path, crmctl) -> None:
    result = crmctl("validate", "-e", "prod", "northwind-manifests")
    assert result.exit_code == 1
    assert result.err.startswith("Error: no environment 'prod': ")
