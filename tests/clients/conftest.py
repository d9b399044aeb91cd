"""Real Salesforce clients against the sandbox's Salesforce emulator.

The Salesforce CLI and jsforce are Node programs, installed from
`tests/clients/package.json` (pinned, with a lock file) by

    npm ci --prefix tests/clients

Without Node or that install these tests skip, saying so; in CI (`CI=true`)
they fail instead, so a CI run never passes without them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.salesforce_org import SalesforceOrg, salesforce_org

CLIENTS = Path(__file__).resolve().parent
BIN = CLIENTS / "node_modules" / ".bin"
#: The Salesforce CLI's own entry point (what `.bin/sf` links to, run by Node with its flags).
SF_RUN = CLIENTS / "node_modules" / "@salesforce" / "cli" / "bin" / "run.js"
#: Node's flags for the clients. `--no-opt` leaves out V8's optimising compiler: each run is
#: a short process that spends most of its time loading modules, so the optimiser's work
#: did not pay back (measured: `sf` about 10 % less CPU, a deploy or retrieve too).
NODE_FLAGS = ("--no-opt",)
INSTALL = "npm ci --prefix tests/clients"
#: The shared Salesforce DX projects (../shared/data beside the repository).
SFDX = CLIENTS.parents[2] / "shared" / "data" / "sfdx"


def _unavailable(message: str) -> None:
    """Skip locally; fail in CI, where these tests must run."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: the client tests must run in CI)", pytrace=False)
    pytest.skip(message)


def require_node_clients() -> Path:
    """The folder of the installed client programs (skip or fail when they are missing)."""
    if shutil.which("node") is None:
        _unavailable(f"Node.js 20+ is not installed: install it, then run `{INSTALL}`")
    if not SF_RUN.exists() or not (CLIENTS / "node_modules" / "jsforce").is_dir():
        _unavailable(f"the Salesforce CLI and jsforce are not installed: run `{INSTALL}`")
    return BIN


def shared_project(name: str) -> Path:
    """A shared SFDX project's force-app folder; a missing one fails the test, never skips."""
    path = SFDX / name / "force-app"
    if not path.is_dir():
        pytest.fail(f"the shared Salesforce DX project is missing: {path}", pytrace=False)
    return path


class SfError(AssertionError):
    """An `sf` command answered a non-zero status."""


@dataclass
class Sf:
    """The Salesforce CLI with its own home folder (its auth files) and one logged-in org."""

    home: Path
    org: SalesforceOrg
    alias: str = "emulator"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SF_", "SFDX_"))}
        env.update(
            HOME=str(self.home),
            PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",  # the CLI runs `sf` itself
            NO_COLOR="1",
            SF_DISABLE_TELEMETRY="true",
            SF_AUTOUPDATE_DISABLE="true",
            SF_SKIP_NEW_VERSION_CHECK="true",
            SF_USE_PROGRESS_BAR="false",
            SF_DISABLE_LOG_FILE="true",
            SF_USE_GENERIC_UNIX_KEYCHAIN="true",  # the key beside the auth files, in HOME
        )
        return env

    def run(
        self,
        *args: str,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        ok: bool = True,
    ) -> dict[str, Any]:
        """`sf ARGS --json` -> its JSON answer (status 0 required unless `ok` is False)."""
        done = subprocess.run(
            # What `sf` runs (its #! line is `node --no-deprecation`), with NODE_FLAGS.
            ["node", "--no-deprecation", *NODE_FLAGS, str(SF_RUN), *args, "--json"],
            cwd=cwd or self.home,
            env={**self.env(), **(env or {})},
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=600,
        )
        try:
            answer = json.loads(done.stdout)
        except json.JSONDecodeError:
            raise SfError(
                f"sf {' '.join(args)}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
            ) from None
        if ok and answer.get("status") != 0:
            raise SfError(f"sf {' '.join(args)}: {json.dumps(answer)[:3000]}")
        return answer

    def login(self) -> dict[str, Any]:
        """`sf org login access-token` with a token from the emulator's JWT flow."""
        return self.run(
            "org", "login", "access-token", "--instance-url", self.org.url, "--no-prompt",
            "--alias", self.alias, "--set-default",
            env={"SF_ACCESS_TOKEN": self.org.token()},
        )  # fmt: skip


def logged_in_cli(tmp: Path) -> Iterator[Sf]:
    """A fresh emulator and the Salesforce CLI logged in to it."""
    require_node_clients()
    for org in salesforce_org(tmp):
        home = tmp / "home"
        home.mkdir()
        cli = Sf(home, org)
        cli.login()
        yield cli


@pytest.fixture(scope="module")
def sf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sf]:
    """One emulator per test module, the CLI logged in to it (the CLI is slow to start)."""
    yield from logged_in_cli(tmp_path_factory.mktemp("sf"))


SFDX_PROJECT = {
    "packageDirectories": [{"path": "force-app", "default": True}],
    "name": "client-test",
    "sourceApiVersion": "61.0",
}


def sfdx_project(root: Path, force_app: Path | None = None) -> Path:
    """An SFDX project folder (sfdx-project.json), with a copy of `force_app` if given."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "sfdx-project.json").write_text(json.dumps(SFDX_PROJECT, indent=2))
    if force_app is not None:
        shutil.copytree(force_app, root / "force-app")
    return root


def node(script: str, *args: str, env: dict[str, str] | None = None) -> Any:
    """Run one of tests/clients/jsforce/*.mjs; its JSON answer on stdout."""
    require_node_clients()
    done = subprocess.run(
        ["node", *NODE_FLAGS, str(CLIENTS / "jsforce" / script), *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    assert done.returncode == 0, f"{script}: {done.stdout[-2000:]}{done.stderr[-3000:]}"
    return json.loads(done.stdout)
