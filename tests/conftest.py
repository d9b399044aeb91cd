"""Fixtures shared by every test: a copy of the example project and a CLI runner."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from crmctl.cli import main

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@dataclass
class CliResult:
    """What a crmctl run printed and returned."""

    exit_code: int
    out: str
    err: str

    @property
    def output(self) -> str:
        return self.out + self.err


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the example project (manifests/ and environments/) as the working directory."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copytree(REPO / "manifests", root / "manifests")
    shutil.copytree(REPO / "environments", root / "environments")
    monkeypatch.chdir(root)
    monkeypatch.setenv("CRMCTL_ACTOR", "tester@example.com")
    monkeypatch.delenv("CRMCTL_ENV", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    return root


@pytest.fixture
def crmctl(monkeypatch: pytest.MonkeyPatch):
    """Run crmctl in-process: `crmctl("validate", "-e", "prod", input="yes\\n")` -> CliResult."""

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> CliResult:
        runner = CliRunner()
        with runner.isolation(input=input, env=env) as (out, err, *_):
            code = main(list(args))
            return CliResult(code, out.getvalue().decode(), err.getvalue().decode())

    return run
