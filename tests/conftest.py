"""Fixtures shared by every test: a copy of the example project and a CLI runner."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from crmctl.cli import main

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
#: The shared data's folders that tests read (real SFDX projects, Dataverse solutions).
SHARED_SFDX = SHARED_DATA / "sfdx"


def in_ci() -> bool:
    """True in CI (CI=true), where a missing dependency fails the run instead of skipping."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def require_shared(path: Path) -> Path:
    """`path` under ../shared/data; without it, skip locally and fail in CI."""
    if path.exists():
        return path
    message = f"{path} is missing (the shared data lies beside the repository, in ../shared/data)"
    if in_ci():
        pytest.fail(message + ": CI must run these tests", pytrace=False)
    pytest.skip(message)


def pytest_sessionstart(session: pytest.Session) -> None:
    """In CI the shared data must be there: tests that need it must not skip silently."""
    if in_ci() and not SHARED_SFDX.is_dir():
        raise pytest.UsageError(
            f"CI=true but {SHARED_SFDX} is missing: the tests of real projects cannot run"
        )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`--dist loadgroup` must really group: a test marked `xdist_group(NAME)` runs on the
    worker that runs NAME's other tests, where their module and session fixtures (a Salesforce
    CLI login, an SFDX project deployed once) are set up once. pytest-xdist marks that by
    renaming the test `ID@NAME`, which pytest 9 ignores (so pyproject keeps pytest below 9):
    a run where the renaming did not happen stops here instead of silently spreading groups."""
    if not getattr(config.option, "loadgroup", False):  # set on xdist's workers only
        return
    lost = [
        item.nodeid
        for item in items
        if any(True for _ in item.iter_markers("xdist_group")) and "@" not in item.nodeid
    ]
    if lost:
        raise pytest.UsageError(
            f"pytest-xdist did not group {len(lost)} tests marked xdist_group (first: {lost[0]}); "
            "this pytest and pytest-xdist do not work together for --dist loadgroup"
        )


def built_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]
) -> Path:
    """A folder `name` that `build(folder)` fills once per test run, shared by the xdist workers.

    For expensive things tests only read (a wheel of this checkout, a template to copy): the
    first worker to ask builds it while holding a file lock, the others wait for it and reuse
    it. A build that failed is started again by the next one to ask. Without xdist it lives in
    the session's temporary folder.
    """
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # this run's temporary folder, common to its workers
    folder, done = root / name, root / f"{name}.done"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            done.touch()
    return folder


@dataclass
class CliResult:
    """What a crmctl run printed and returned."""

    exit_code: int
    out: str
    err: str

    @property
    def output(self) -> str:
        return self.out + self.err


def compact_git(git_dir: Path) -> None:
    """Pack a template's git repository into one pack file and drop git's sample hooks.

    Every git command reads packed and loose objects alike, and `*.sample` hooks never
    run: the same repository, in a fraction of the files each test copies and removes.
    """
    subprocess.run(
        ["git", f"--git-dir={git_dir}", "repack", "-a", "-d", "-q"], check=True, capture_output=True
    )
    for sample in (git_dir / "hooks").glob("*.sample"):
        sample.unlink()


def example_applied_once(factory: pytest.TempPathFactory) -> Path:
    """The example project (manifests/, environments/) applied once to its embedded sandbox."""
    root = factory.mktemp("template") / "project"
    root.mkdir()
    shutil.copytree(REPO / "manifests", root / "manifests")
    shutil.copytree(REPO / "environments", root / "environments")
    with CliRunner().isolation(env={"CRMCTL_ACTOR": "tester@example.com", "CRMCTL_ENV": None}):
        assert main(["-C", str(root), "apply", "--auto-approve"]) == 0
    compact_git(root / ".crmctl" / "history" / ".git")
    return root


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example project applied once per module; a module may override it."""
    return example_applied_once(tmp_path_factory)


@pytest.fixture
def applied(template: Path, project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of `template` as the working directory (the `project` fixture's folder)."""
    monkeypatch.chdir(project.parent)
    shutil.rmtree(project)
    shutil.copytree(template, project, symlinks=True)
    monkeypatch.chdir(project)
    return project


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


def run_crmctl(
    *args: str, input: str | None = None, env: dict[str, str] | None = None
) -> CliResult:
    """Run crmctl in-process (what the `crmctl` fixture gives; usable in session fixtures)."""
    runner = CliRunner()
    with runner.isolation(input=input, env=env) as (out, err, *_):
        code = main(list(args))
        return CliResult(code, out.getvalue().decode(), err.getvalue().decode())


@pytest.fixture
def crmctl(monkeypatch: pytest.MonkeyPatch):
    """Run crmctl in-process: `crmctl("validate", "-e", "prod", input="yes\\n")` -> CliResult."""
    return run_crmctl


@dataclass
class SandboxServer:
    """A sandbox CRM served over HTTP on 127.0.0.1 for one test."""

    url: str
    token: str
    store: object
    server: object


@pytest.fixture
def sandbox_server(tmp_path: Path):
    """Start a sandbox server on a free port; stop it after the test."""
    from crmctl.sandbox.server import start_server
    from crmctl.sandbox.store import SandboxStore

    store = SandboxStore.open(tmp_path / "server.db")
    token = store.initialise()
    running = start_server(store, port=0)
    try:
        yield SandboxServer(running.url, token, store, running)
    finally:
        running.stop()
        store.close()


HTTP_ENV = """\
description: The test sandbox server over HTTP
provider:
  type: sandbox
  url: {url}
  tokenEnv: CRMCTL_TEST_TOKEN
manifests: [manifests]
protect: [{protect}]
"""


@pytest.fixture
def http_project(
    project: Path, sandbox_server: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The example project with `environments/e2e.yaml` pointing at a sandbox server; CRMCTL_ENV=e2e."""
    (project / "environments" / "e2e.yaml").write_text(
        HTTP_ENV.format(url=sandbox_server.url, protect="Role/CEO")
    )
    monkeypatch.setenv("CRMCTL_TEST_TOKEN", sandbox_server.token)
    monkeypatch.setenv("CRMCTL_ENV", "e2e")
    return project


@pytest.fixture
def shared_sfdx() -> Path:
    """../shared/data/sfdx (skips locally without it; fails in CI)."""
    return require_shared(SHARED_SFDX)


@dataclass(frozen=True)
class ExampleCounts:
    """The example organisation's size, counted from its manifest files with plain PyYAML.

    Tests compare crmctl's counts with these rather than with numbers typed into the
    tests, so adding a resource to the example changes no assertion.
    """

    resources: int
    files: int
    by_kind: dict[str, int]

    def kinds_text(self) -> str:
        """'CustomField 37, CustomObject 3, …' as crmctl lists kinds (sorted)."""
        return ", ".join(f"{kind} {n}" for kind, n in sorted(self.by_kind.items()))


def _count_example() -> ExampleCounts:
    import yaml

    files = sorted((REPO / "manifests").rglob("*.yaml"))
    by_kind: dict[str, int] = {}
    for path in files:
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(document, dict) and "kind" in document:
                by_kind[document["kind"]] = by_kind.get(document["kind"], 0) + 1
    return ExampleCounts(sum(by_kind.values()), len(files), by_kind)


EXAMPLE = _count_example()
