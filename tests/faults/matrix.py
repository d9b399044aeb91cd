"""The fault matrix: one faulted apply per trial, and a check that crmctl told the truth.

Each trial applies the example organisation to a fresh sandbox server, then
applies 15 more changes in three chunks of five while the server injects one
fault into one chunk's write. Afterwards the live CRM is read and compared
with what crmctl reported: its exit code, its closing line, and the version it
recorded (status, per-change results, the after-snapshot). Used by
tests/faults/test_fault_matrix.py and bench/bench_faults.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from click.testing import CliRunner

from crmctl.cli import main
from crmctl.history.journal import Journal
from crmctl.kinds import HANDLERS
from crmctl.sandbox.server import start_server
from crmctl.sandbox.store import SandboxStore
from tests.e2e.helpers import desired_specs, live_specs, manifest, replace_in, write_manifest

REPO = Path(__file__).resolve().parents[2]

#: Fault classes: the sandbox's fault settings that hit the nth write request.
FAULTS = {
    # The CRM refuses the write: nothing of it is carried out.
    "error-before": lambda n: {"failNthWrite": {"n": n, "status": 500, "when": "before"}},
    # The CRM carries the write out, then answers 500 (a crash while replying).
    "error-after": lambda n: {"failNthWrite": {"n": n, "status": 500, "when": "after"}},
    # The CRM carries the write out and the answer is lost on the way back.
    "drop-after": lambda n: {"failNthWrite": {"n": n, "when": "drop"}},
}
POSITIONS = {"first": 1, "middle": 2, "last": 3}

ENV_FILE = """\
provider:
  type: sandbox
  url: {url}
  tokenEnv: CRMCTL_TEST_TOKEN
manifests: [manifests]
"""


@dataclass(frozen=True)
class Trial:
    fault: str
    position: str
    restore: bool

    @property
    def name(self) -> str:
        return f"{self.fault}-{self.position}-{'restore' if self.restore else 'no-restore'}"


@dataclass
class TrialResult:
    trial: Trial
    exit_code: int
    status: str  # as recorded in the history
    ended: str  # "old", "new" or "partial": where the live CRM ended up
    mismatches: list[str] = field(default_factory=list)  # where the report and the CRM disagree
    output: str = ""


def all_trials() -> list[Trial]:
    return [
        Trial(fault, position, restore)
        for fault in FAULTS
        for position in POSITIONS
        for restore in (True, False)
    ]


def _run(project: Path, env: dict[str, str], *args: str) -> tuple[int, str]:
    runner = CliRunner()
    with runner.isolation(env=env) as (out, err, *_):
        code = main(["-C", str(project), *args])
        return code, out.getvalue().decode() + err.getvalue().decode()


def _canonical(specs: dict[str, dict]) -> dict[str, dict]:
    out = {}
    for address, spec in specs.items():
        kind, _, name = address.partition("/")
        out[address] = HANDLERS[kind].canonical(spec, name)
    return out


@dataclass
class Stage:
    """A project applied once to its own sandbox server, with 15 changes pending."""

    project: Path
    store: SandboxStore
    server: object
    env: dict[str, str]
    old: dict[str, dict]  # the live CRM before the faulted apply
    new: dict[str, dict]  # what the manifests want


@contextlib.contextmanager
def staged(workdir: Path, chunk: int, retries: int | None = None) -> Iterator[Stage]:
    project = workdir / "project"
    project.mkdir(parents=True)
    shutil.copytree(REPO / "manifests", project / "manifests")
    shutil.copytree(REPO / "environments", project / "environments")
    store = SandboxStore.open(workdir / "server.db")
    token = store.initialise()
    server = start_server(store, port=0)
    try:
        (project / "environments" / "e2e.yaml").write_text(ENV_FILE.format(url=server.url))
        env = {
            "CRMCTL_ACTOR": "tester@example.com",
            "CRMCTL_TEST_TOKEN": token,
            "CRMCTL_ENV": "e2e",
            "CRMCTL_APPLY_CHUNK": str(chunk),
            "NO_COLOR": "1",
        }
        if retries is not None:
            env["CRMCTL_HTTP_RETRIES"] = str(retries)
        code, output = _run(project, env, "apply", "--auto-approve")
        assert code == 0, output
        old = live_specs(store)
        replace_in(project / "manifests" / "access" / "roles.yaml", "VP Sales", "VP of Sales")
        write_manifest(
            project,
            "extra.yaml",
            *[
                manifest("Role", f"Team_{i:02d}", label=f"Team {i}", parent="CEO")
                for i in range(14)
            ],
        )
        yield Stage(project, store, server, env, old, desired_specs(project))
    finally:
        server.stop()
        store.close()


def run_trial(trial: Trial, workdir: Path) -> TrialResult:
    """Carry out one faulted apply in `workdir` (a fresh folder) and check the report."""
    with staged(workdir, chunk=5, retries=0) as stage:
        stage.server.faults.configure(FAULTS[trial.fault](POSITIONS[trial.position]))
        args = ["apply", "--auto-approve", *([] if trial.restore else ["--no-restore"])]
        code, output = _run(stage.project, stage.env, *args)
        stage.server.faults.clear()
        live = live_specs(stage.store)
        return _check(trial, stage.project, code, output, stage.old, stage.new, live)


def _check(
    trial: Trial,
    project: Path,
    code: int,
    output: str,
    old: dict[str, dict],
    new: dict[str, dict],
    live: dict[str, dict],
) -> TrialResult:
    ended = "old" if live == old else "new" if live == new else "partial"
    history = project / ".crmctl" / "history" / "e2e" / "versions" / "000002"
    problems = []
    if not history.is_dir():
        return TrialResult(trial, code, "<none>", ended, ["no version v2 was recorded"], output)
    meta = json.loads((history / "meta.json").read_text())
    result = json.loads((history / "result.json").read_text())
    after = json.loads((history / "after.json").read_text())
    status = meta["status"]
    if trial.fault != "kill-9" and (code == 0) != (status == "applied"):
        problems.append(f"exit code {code} with status {status!r}")
    if status == "applied" and ended != "new":
        problems.append(f"reported applied, but the CRM ended {ended}")
    if status.endswith(", restored") and ended != "old":
        problems.append(f"reported restored, but the CRM ended {ended}")
    if status.endswith("restore incomplete") and ended == "old":
        problems.append("reported a restore incomplete, but the CRM is back as it was")
    if status.endswith(", partial"):
        for row in result["changes"]:
            address = row["address"]
            want = new if row["result"] == "applied" else old
            if live.get(address) != want.get(address):
                problems.append(f"{address} reported {row['result']}, but the CRM disagrees")
    if after != _canonical(live):
        problems.append("the recorded after-snapshot is not the live CRM")
    closing = "Recorded as v2 of e2e." if status == "applied" else f"v2 of e2e ({status})."
    if trial.fault == "kill-9" and code == 0:
        closing = f"Recorded as v2 of e2e ({status})."
    if closing not in output:
        problems.append(f"the closing line does not say {status!r}")
    if (project / ".crmctl" / "history" / ".state" / "journal" / "e2e.json").exists():
        problems.append("the journal was left behind")
    if "internal error" in output or "Traceback" in output:
        problems.append("crmctl crashed")
    return TrialResult(trial, code, status, ended, problems, output)


def run_kill_trial(workdir: Path, applied_before_kill: int) -> TrialResult:
    """kill -9 an apply (in its own process) once `applied_before_kill` changes were sent, with
    the next write possibly still in flight at the server; then `crmctl recover` while that write
    may still land. Checks that recover restored the old state and recorded it truthfully."""
    trial = Trial("kill-9", f"after-{applied_before_kill}", True)
    with staged(workdir, chunk=3) as stage:
        stage.server.faults.configure({"latencyMs": 150})
        proc = subprocess.Popen(
            [sys.executable, "-m", "crmctl", "apply", "--auto-approve"],
            cwd=stage.project,
            env={**os.environ, **stage.env, "PYTHONPATH": str(REPO)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        journal = Journal(stage.project / ".crmctl" / "history" / ".state" / "journal", "e2e")
        deadline = time.monotonic() + 60
        while not (journal.exists() and len(journal.read().sent) > applied_before_kill):
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("the apply never got going")
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        # The killed client's last write may still be on its way through the server.
        code, output = _run(stage.project, stage.env, "recover")
        stage.server.faults.clear()
        live = live_specs(stage.store)
        result = _check(trial, stage.project, code, output, stage.old, stage.new, live)
        if result.status != "interrupted, restored" or result.ended != "old":
            result.mismatches.append(f"recover ended {result.ended} as {result.status!r}")
        return result
