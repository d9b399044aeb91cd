"""Both shared solutions import, validate, apply to an empty emulator and plan empty (issue 14)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crmctl.importer.dataverse import import_dataverse_solution
from tests.conftest import require_shared
from tests.dataverse.emulator import Emulator, emulator  # noqa: F401  (the fixture)
from tests.dataverse.test_import_solution import HMCTS, RULES_ENGINE


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, emulator: Emulator) -> Path:  # noqa: F811
    root = tmp_path / "project"
    (root / "environments").mkdir(parents=True)
    (root / "environments" / "dv.yaml").write_text(emulator.environment())
    monkeypatch.chdir(root)
    monkeypatch.delenv("CRMCTL_ENV", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("CRMCTL_ACTOR", "tester@example.com")
    return root


@pytest.mark.parametrize(
    "folder",
    [RULES_ENGINE, HMCTS],
    ids=["rules-engine", "hmcts"],
)
def test_shared_solution_imports_validates_applies_and_plans_empty(
    folder: Path,
    project: Path,
    emulator: Emulator,  # noqa: F811
    crmctl,
) -> None:
    require_shared(folder)
    imported = import_dataverse_solution(folder)
    tables = {r.name for r in imported.resources.values() if r.kind == "CustomObject"}
    r = crmctl(
        "import",
        "--from",
        "dataverse-solution",
        str(folder),
        "--out",
        "manifests",
        "--owner",
        "crm-admins",
    )
    assert (r.exit_code, r.err) == (0, "")
    r = crmctl("validate", "-e", "dv")
    assert (r.exit_code, r.err) == (0, ""), r.out
    assert emulator.custom_tables() == set()  # an empty environment
    r = crmctl("apply", "-e", "dv", "--auto-approve")
    assert r.exit_code == 0, r.output
    assert f"Apply complete: {len(imported.resources)} added, 0 changed, 0 destroyed." in r.out
    # The live environment, read by a client of its own: every table of the solution.
    assert emulator.custom_tables() == tables
    r = crmctl("plan", "-e", "dv", "--detailed-exitcode")
    assert (r.exit_code, r.err) == (0, ""), r.out
    assert "No changes." in r.out
