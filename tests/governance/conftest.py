"""A governed copy of the example project in a real git repository, already applied once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.governance.gitrepo import AUTHOR, init

GOVERNED_ENV = """\
description: The embedded sandbox, governed like production
provider:
  type: sandbox
  path: .crmctl/sandbox.db
manifests: [manifests]
history:
  path: .crmctl/history
approvals:
  separationOfDuties: true
  requireSignedCommits: {signed}
  policyOwners: [security-officer]
  roles:
    crm-admin: [priya.shah@northwind.example]
    security-officer: [tomas.berg@northwind.example, sam.oduya@northwind.example]
    data-steward: [amara.okafor@northwind.example, lena.fischer@northwind.example]
    legal-compliance: [lena.fischer@northwind.example, jonas.lindqvist@northwind.example]
  rules:
    - name: access-changes
      match:
        kinds: [PermissionSet, Role, User]
      require: [security-officer]
    - name: personal-data
      match:
        classifications: [PII, Sensitive]
      require: [data-steward]
    - name: retention
      match:
        kinds: [RetentionPolicy]
      require: [legal-compliance, data-steward]
      minApprovers: 2
    - name: deletes
      match:
        actions: [delete, replace]
      require: [crm-admin]
  breakGlass:
    enabled: true
    role: crm-admin
    reviewWithin: P2D
"""


def write_governed_env(root: Path, signed: bool = False) -> None:
    (root / "environments" / "gov.yaml").write_text(
        GOVERNED_ENV.format(signed="true" if signed else "false")
    )


@pytest.fixture
def governed(project: Path, crmctl, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example project with environments/gov.yaml, in git, the sandbox matching the manifests.

    The sandbox is filled through the ungoverned `local` environment (same
    database), so tests start from "no changes" in `gov`.
    """
    write_governed_env(project)
    init(project)
    applied = crmctl("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    monkeypatch.setenv("CRMCTL_ACTOR", AUTHOR)
    return project
