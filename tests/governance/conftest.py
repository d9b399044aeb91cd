"""A governed copy of the example project in a real git repository, already applied once.

Everybody in the policy has a real SSH key (`tests.governance.keys`) listed in
approvals/allowed_signers, the history has a remote (a bare repository), and
the policy owners approved the governance settings, which the first apply of
`gov` recorded as v1.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, compact_git, run_crmctl
from tests.governance.gitrepo import AUTHOR, init
from tests.governance.keys import key_of, write_signers

TOMAS = "tomas.berg@northwind.example"  # security-officer, policy owner
PEOPLE = (
    AUTHOR,
    TOMAS,
    "sam.oduya@northwind.example",
    "amara.okafor@northwind.example",
    "lena.fischer@northwind.example",
    "jonas.lindqvist@northwind.example",
    "priya.shah@northwind.example",
)

GOVERNED_ENV = """\
description: The embedded sandbox, governed like production
provider:
  type: sandbox
  path: .crmctl/sandbox.db
manifests: [manifests]
history:
  path: .crmctl/history
  remote: {remote}
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


def bare_remote(root: Path) -> Path:
    """An empty bare repository next to the project, as a shared history remote."""
    remote = root.parent / "history-remote.git"
    if not remote.exists():
        subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    return remote


def write_governed_env(root: Path, signed: bool = False) -> None:
    (root / "environments" / "gov.yaml").write_text(
        GOVERNED_ENV.format(signed="true" if signed else "false", remote=bare_remote(root))
    )


def as_person(email: str) -> dict[str, str]:
    """The environment of a person running crmctl with their own signing key."""
    return {"CRMCTL_ACTOR": email, "CRMCTL_SIGNING_KEY": str(key_of(email))}


def approve_governance_as(crmctl, who: str = TOMAS, env: str = "gov") -> str:
    """`who` (a security officer, the policy owners) approves the governance change of `env`."""
    done = crmctl(
        "approve", "-e", env, "--role", "security-officer", f"Environment/{env}",
        env=as_person(who),
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    return done.out.split(" in ", 1)[1].split(":", 1)[0]


def _make_governed(
    root: Path, crmctl, monkeypatch: pytest.MonkeyPatch, env_text: str | None
) -> None:
    """Turn the example project at `root` (the working folder) into the governed one;
    `env_text` (with a {remote} field) replaces the default gov.yaml."""
    if env_text is None:
        write_governed_env(root)
    else:
        (root / "environments" / "gov.yaml").write_text(env_text.format(remote=bare_remote(root)))
    write_signers(root, *PEOPLE)
    init(root)
    applied = crmctl("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    monkeypatch.setenv("CRMCTL_ACTOR", AUTHOR)
    monkeypatch.delenv("CRMCTL_SIGNING_KEY", raising=False)
    approve_governance_as(crmctl)
    first = crmctl("apply", "-e", "gov", "--auto-approve")
    assert first.exit_code == 0, first.output
    assert "Recorded as v1 of gov." in first.out, first.out


def governed_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, env_text: str | None = None
) -> tuple[Path, Path]:
    """(folder, template): a governed project built once in `folder`, and a copy of it.

    For session fixtures (one build per worker); `copy_back` gives each test its own copy.
    The project records absolute paths (the history remote beside it, in gov.yaml and in
    git), so each test gets its copy back at the same place: `folder`/project, with the
    remote at `folder`/history-remote.git. Tests in one worker run one after another.
    """
    folder = tmp_path_factory.mktemp(name)
    root = folder / "project"
    root.mkdir()
    shutil.copytree(REPO / "manifests", root / "manifests")
    shutil.copytree(REPO / "environments", root / "environments")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setenv("CRMCTL_ACTOR", "tester@example.com")  # as the `project` fixture
        mp.delenv("CRMCTL_ENV", raising=False)
        mp.setenv("NO_COLOR", "1")
        _make_governed(root, run_crmctl, mp, env_text)
    for git_dir in (root / ".git", root / ".crmctl" / "history" / ".git", bare_remote(root)):
        compact_git(git_dir)
    template = tmp_path_factory.mktemp(f"{name}-template")
    shutil.copytree(folder, template, symlinks=True, dirs_exist_ok=True)
    return folder, template


def copy_back(built: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of a `governed_once` project, as the working folder: CRMCTL_ACTOR the
    author, CRMCTL_ENV and CRMCTL_SIGNING_KEY unset, NO_COLOR=1 (as its build left them)."""
    folder, template = built
    shutil.rmtree(folder)
    shutil.copytree(template, folder, symlinks=True)
    root = folder / "project"
    monkeypatch.chdir(root)
    monkeypatch.setenv("CRMCTL_ACTOR", AUTHOR)
    monkeypatch.delenv("CRMCTL_ENV", raising=False)
    monkeypatch.delenv("CRMCTL_SIGNING_KEY", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    return root


@pytest.fixture(scope="session")
def governed_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The `governed` project, built once per worker (see `governed_once`)."""
    return governed_once(tmp_path_factory, "governed")


@pytest.fixture
def governed(governed_template: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example project with environments/gov.yaml, in git, the sandbox matching the manifests.

    The sandbox is filled through the ungoverned `local` environment (same
    database); then the governance settings of `gov` are approved by Tomas and
    applied (v1), so tests start from "no changes" in `gov`. Built once per worker
    and copied back for each test (`governed_once`, `copy_back`).
    """
    return copy_back(governed_template, monkeypatch)
