"""The hostile corpus's project: a small organisation already applied to the embedded sandbox.

Every case copies the applied project, damages one input (a manifest, the
environment file, a saved plan), runs crmctl in-process and checks the four
promises: exit 1, a message naming the file, no "internal error" and no
traceback, and a sandbox whose configuration and audit trail are unchanged.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from crmctl.sandbox.store import SandboxStore
from tests.conftest import CliResult, compact_git

ENVIRONMENT = """\
description: the hostile corpus's embedded sandbox
provider:
  type: sandbox
  path: .crmctl/sandbox.db
manifests:
  - manifests
history:
  path: .crmctl/history
protect:
  - CustomObject/*
approvals:
  separationOfDuties: false
  roles: {}
  rules: []
"""

MANIFESTS = {
    "objects.yaml": """\
apiVersion: crmctl/v1
kind: CustomObject
metadata: {name: Invoice__c, owner: finance}
spec:
  label: Invoice
  description: A bill sent to a customer.
---
apiVersion: crmctl/v1
kind: CustomField
metadata: {name: Invoice__c.Amount__c, owner: finance}
spec: {type: Currency, label: Amount, precision: 12, scale: 2}
---
apiVersion: crmctl/v1
kind: CustomField
metadata: {name: Invoice__c.Due__c, owner: finance}
spec: {type: Date, label: Due}
---
apiVersion: crmctl/v1
kind: ValidationRule
metadata: {name: Invoice__c.Positive_Amount, owner: finance}
spec:
  condition: Amount__c < 0
  errorMessage: The amount cannot be negative.
""",
    "access.yaml": """\
apiVersion: crmctl/v1
kind: Role
metadata: {name: CEO, owner: hr}
spec: {label: Chief Executive}
---
apiVersion: crmctl/v1
kind: PermissionSet
metadata: {name: Billing, owner: finance}
spec:
  label: Billing
  objects: {Invoice__c: [read, create, edit]}
---
apiVersion: crmctl/v1
kind: User
metadata: {name: priya.shah@northwind.example, owner: hr}
spec:
  email: priya.shah@northwind.example
  firstName: Priya
  lastName: Shah
  role: CEO
  permissionSets: [Billing]
""",
}


def live_state(project: Path) -> tuple[list[dict], int]:
    """The sandbox's configuration and the length of its audit trail."""
    store = SandboxStore.open(project / ".crmctl" / "sandbox.db", create=False)
    try:
        return store.list_all_config(), len(store.audit(limit=1000))
    finally:
        store.close()


@pytest.fixture(scope="session")
def applied_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small organisation, applied once; each case works on a copy."""
    import os

    from click.testing import CliRunner

    from crmctl.cli import main

    root = tmp_path_factory.mktemp("hostile") / "project"
    (root / "environments").mkdir(parents=True)
    (root / "manifests").mkdir()
    (root / "environments" / "local.yaml").write_text(ENVIRONMENT)
    for name, text in MANIFESTS.items():
        (root / "manifests" / name).write_text(text)
    before = Path.cwd()
    os.chdir(root)
    try:
        with CliRunner().isolation(env={"CRMCTL_ACTOR": "tester@example.com", "NO_COLOR": "1"}):
            code = main(["apply", "--auto-approve"])
    finally:
        os.chdir(before)
    assert code == 0
    compact_git(root / ".crmctl" / "history" / ".git")
    return root


@pytest.fixture
def hostile_project(
    applied_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A copy of the applied project as the working directory."""
    root = tmp_path / "project"
    shutil.copytree(applied_template, root, symlinks=True)
    monkeypatch.chdir(root)
    monkeypatch.setenv("CRMCTL_ACTOR", "tester@example.com")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("CRMCTL_ENV", raising=False)
    monkeypatch.delenv("CRMCTL_DEBUG", raising=False)
    return root


@pytest.fixture
def refuse(hostile_project: Path, crmctl) -> Callable[..., CliResult]:
    """Run crmctl and assert the corpus's promises; return what it printed for more checks.

    `names` is the file the message must name (as the user wrote it).
    """

    def run(*args: str, names: str) -> CliResult:
        before = live_state(hostile_project)
        outcome = crmctl(*args)
        assert outcome.exit_code == 1, outcome.output
        assert names in outcome.output, outcome.output
        assert "internal error" not in outcome.output, outcome.output
        assert "Traceback" not in outcome.output, outcome.output
        assert live_state(hostile_project) == before
        return outcome

    return run
