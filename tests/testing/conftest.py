"""Fixtures of the `crmctl test` tests: the example project with its crm-tests/ folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.fixture
def tested_project(project: Path) -> Path:
    """The example project (manifests, environments and crm-tests) as the working directory."""
    shutil.copytree(REPO / "crm-tests", project / "crm-tests")
    return project


def write_cases(project: Path, name: str, text: str) -> Path:
    """A case file `crm-tests/<name>` of the project; its path relative to the project."""
    path = project / "crm-tests" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path.relative_to(project)


def edit(path: Path, old: str, new: str) -> None:
    """Replace exactly one occurrence of `old` in a file."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")
