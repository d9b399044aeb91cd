"""Without a git program on PATH: commands that need none work, the others say git is required."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from crmctl.sandbox.store import SandboxStore
from tests.conftest import REPO


def run(project: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    empty = tmp_path / "no-git-here"
    empty.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_PYTHON")}
    env.update(PATH=str(empty), PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-m", "crmctl", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "args",
    [
        ("validate",),
        ("lint",),
        ("schema", "Role"),
        ("plan",),
        ("test",),
        ("ci", "init", "--github", "--gitlab", "--install", "crmctl==0.1.0"),
        ("init", "another-project"),
    ],
    ids=" ".join,
)
def test_commands_that_need_no_git_work(project: Path, tmp_path: Path, args) -> None:
    shutil.copytree(REPO / "crm-tests", project / "crm-tests")
    result = run(project, tmp_path, *args)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def test_validate_dir_outside_a_project_needs_no_git(tmp_path: Path) -> None:
    shutil.copytree(REPO / "manifests", tmp_path / "loose")
    result = run(tmp_path, tmp_path, "validate", "loose")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "valid: 79 resources in 11 files\n"


def test_apply_needs_git_to_record_and_says_so_before_touching_the_crm(
    project: Path, tmp_path: Path
) -> None:
    result = run(project, tmp_path, "apply", "--auto-approve")
    assert result.returncode == 1
    assert result.stderr == (
        "Error: git is required for this command (crmctl keeps each environment's history of "
        "applies in a git repository), and no git program was found\n"
        "hint: install git (e.g. apt-get install git), or set GIT_PYTHON_GIT_EXECUTABLE to its "
        "path; crmctl validate, lint and schema work without it\n"
    )
    store = SandboxStore.open(project / ".crmctl" / "sandbox.db")
    try:
        assert store.list_all_config() == []
    finally:
        store.close()
