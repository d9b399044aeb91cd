"""Apply tells the truth and never wedges: preflight, crashes while recording, Ctrl-C."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import git
import pytest

from crmctl.history.journal import Journal
from tests.conftest import REPO
from tests.e2e.helpers import desired_specs, live_specs, manifest, replace_in, write_manifest
from tests.e2e.test_versions import apply_ok, faults

HISTORY = Path(".crmctl") / "history"


def _history(project: Path) -> git.Repo:
    return git.Repo(project / HISTORY)


def _pending_changes(project: Path) -> None:
    replace_in(project / "manifests" / "access" / "roles.yaml", "VP Sales", "VP of Sales")
    write_manifest(
        project,
        "extra.yaml",
        *[manifest("Role", f"Team_{i:02d}", label=f"Team {i}", parent="CEO") for i in range(12)],
    )


# --- preflight: the history is checked before the CRM is touched ------------------------


def _refused_untouched(crmctl, project, server, expected: str, hint: str) -> None:
    before = live_specs(server.store)
    result = crmctl("apply", "--auto-approve")
    assert result.exit_code == 1, result.output
    assert expected in result.err, result.err
    assert hint in result.err, result.err
    assert live_specs(server.store) == before  # nothing was written to the CRM
    assert not (project / HISTORY / ".state" / "journal" / "e2e.json").exists()


def test_stale_index_lock_is_found_before_the_crm_is_touched(http_project, sandbox_server, crmctl):
    apply_ok(crmctl)
    _pending_changes(http_project)
    lock = http_project / HISTORY / ".git" / "index.lock"
    lock.write_text("")
    _refused_untouched(
        crmctl,
        http_project,
        sandbox_server,
        f"Error: the history repository {http_project / HISTORY} is locked by {lock} (a git "
        "command crashed or is still running); nothing was applied",
        "hint: if no git command is running, remove that file and apply again",
    )
    lock.unlink()
    apply_ok(crmctl)
    assert live_specs(sandbox_server.store) == desired_specs(http_project)


def test_tag_of_the_next_version_already_taken(http_project, sandbox_server, crmctl):
    apply_ok(crmctl)
    _pending_changes(http_project)
    _history(http_project).create_tag("e2e/v2")
    _refused_untouched(
        crmctl,
        http_project,
        sandbox_server,
        "already has a tag e2e/v2, which the next version would need; nothing was applied",
        f"hint: remove the stray tag (git -C {http_project / HISTORY} tag -d e2e/v2)",
    )


def test_garbage_head_is_found_before_the_crm_is_touched(http_project, sandbox_server, crmctl):
    apply_ok(crmctl)
    _pending_changes(http_project)
    (http_project / HISTORY / ".git" / "HEAD").write_text("garbage\n")
    result = crmctl("apply", "--auto-approve")
    assert result.exit_code == 1
    assert result.err == (
        f"Error: cannot open the history repository {http_project / HISTORY}: its .git folder "
        "is damaged (HEAD or its objects cannot be read)\n"
        f"hint: repair it with git (git -C {http_project / HISTORY} status), or clone it again "
        "from the history remote\n"
    )
    assert sandbox_server.store.get_config("Role", "Team_00") is None


def test_version_files_no_commit_holds_block_the_apply(http_project, sandbox_server, crmctl):
    apply_ok(crmctl)
    _pending_changes(http_project)
    stray = http_project / HISTORY / "e2e" / "versions" / "000002"
    stray.mkdir()
    (stray / "meta.json").write_text("{}")
    _refused_untouched(
        crmctl,
        http_project,
        sandbox_server,
        "Error: version v2 of e2e was being recorded when crmctl stopped; nothing was applied",
        "hint: run crmctl recover -e e2e to finish recording it",
    )


# --- kill -9 while the version is being recorded ------------------------------------------

GIT_WRAPPER = """#!/bin/sh
case "$*" in
  "$CRMCTL_TEST_KILL_AT"*) kill -9 $PPID; sleep 30;;
esac
exec {git} "$@"
"""

#: Runs crmctl; the history's new objects are written in-process (crmctl.history.gitobjects),
#: not by `git hash-object`: writing one of the type named is the same moment, killed alike.
OBJECT_KILLER = """
import os, runpy, signal
from crmctl.history import gitobjects

_store = gitobjects._store_loose


def _store_or_die(objects, istream):
    kind = istream.type.decode() if isinstance(istream.type, bytes) else str(istream.type)
    if istream.binsha is None and os.environ["CRMCTL_TEST_KILL_AT"] == f"hash-object -t {kind}":
        os.kill(os.getpid(), signal.SIGKILL)
    return _store(objects, istream)


gitobjects._store_loose = _store_or_die
runpy.run_module("crmctl", run_name="__main__")
"""


def _apply_killed_at(project: Path, tmp_path: Path, git_command: str) -> None:
    """Run `crmctl apply` in a process that is SIGKILLed when it runs `git <git_command>`
    (or, for `hash-object -t TYPE`, when it writes an object of that type itself)."""
    wrapper = tmp_path / "bin" / "git"
    wrapper.parent.mkdir()
    wrapper.write_text(GIT_WRAPPER.format(git=shutil.which("git")))
    wrapper.chmod(0o755)
    killer = tmp_path / "bin" / "crmctl_killed.py"
    killer.write_text(OBJECT_KILLER)
    env = {
        **os.environ,
        "PATH": f"{wrapper.parent}:{os.environ['PATH']}",
        "CRMCTL_TEST_KILL_AT": git_command,
        "PYTHONPATH": str(REPO),
    }
    proc = subprocess.run(
        [sys.executable, str(killer), "apply", "--auto-approve"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    "moment",
    [
        "hash-object -t blob",  # files written, nothing staged
        "hash-object -t commit",  # files staged, no commit
        "tag",  # committed, not tagged
    ],
)
def test_kill_while_recording_then_recover_finishes_the_version(
    http_project, sandbox_server, crmctl, tmp_path, moment
):
    apply_ok(crmctl)
    _pending_changes(http_project)
    _apply_killed_at(http_project, tmp_path, moment)
    assert live_specs(sandbox_server.store) == desired_specs(http_project)  # the CRM work was over

    blocked = crmctl("plan")
    assert blocked.exit_code == 1
    assert "did not finish" in blocked.err

    recovered = crmctl("recover")
    assert recovered.exit_code == 0, recovered.output
    assert recovered.out == (
        "The interrupted apply had finished its changes; recorded it as v2 of e2e "
        "(applied; recording finished by recover).\n"
    )
    repo = _history(http_project)
    tagged = repo.tags["e2e/v2"].commit
    assert "e2e/versions/000002/meta.json" in {
        str(p) for p in tagged.stats.files
    }  # the version's files are in the version's own commit
    for commit in repo.iter_commits():
        if commit != tagged:
            assert not any("versions/000002" in str(p) for p in commit.stats.files), commit.message
    assert not repo.is_dirty(untracked_files=True)
    meta = json.loads((http_project / HISTORY / "e2e/versions/000002/meta.json").read_text())
    assert meta["status"] == "applied"
    assert crmctl("plan", "--detailed-exitcode").exit_code == 0
    assert crmctl("history").exit_code == 0


# --- Ctrl-C ------------------------------------------------------------------------------


def _interrupted_apply(project: Path, server, crmctl, presses: int):
    """Apply v1, then apply the pending changes in a process and press Ctrl-C `presses` times
    once a chunk has landed; (before, exit code, stderr, journal)."""
    apply_ok(crmctl)
    before = live_specs(server.store)
    _pending_changes(project)
    faults(server, latencyMs=400)
    env = {**os.environ, "CRMCTL_APPLY_CHUNK": "3", "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "crmctl", "apply", "--auto-approve"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    journal = Journal(project / HISTORY / ".state" / "journal", "e2e")
    deadline = time.monotonic() + 60
    while not (journal.exists() and len(journal.read().applied) >= 3):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail("the apply never got going")
        time.sleep(0.02)
    for _ in range(presses):
        proc.send_signal(signal.SIGINT)
        time.sleep(0.05)
    out, err = proc.communicate(timeout=120)
    faults(server)
    return before, proc.returncode, out + err, journal


def test_first_ctrl_c_finishes_the_chunk_restores_and_reports(http_project, sandbox_server, crmctl):
    before, code, err, journal = _interrupted_apply(http_project, sandbox_server, crmctl, 1)
    assert code == 1, err
    assert "Interrupted: finishing the changes in flight, then undoing the apply" in err
    assert "Error: apply interrupted (Ctrl-C) before " in err
    assert "They were undone" in err
    assert "Recorded as v2 of e2e (interrupted, restored)." in err
    assert live_specs(sandbox_server.store) == before
    assert not journal.exists()
    meta = json.loads((http_project / HISTORY / "e2e/versions/000002/meta.json").read_text())
    assert meta["status"] == "interrupted, restored"


def test_second_ctrl_c_stops_at_once_and_leaves_the_journal(http_project, sandbox_server, crmctl):
    before, code, err, journal = _interrupted_apply(http_project, sandbox_server, crmctl, 2)
    assert code == 130, err
    assert (
        "Error: apply stopped at once by a second Ctrl-C; the journal is kept and the CRM may "
        "be half-changed\nhint: run crmctl recover -e e2e to restore the state from before it "
        "(or --finish to complete it)\n"
    ) in err
    assert journal.exists()
    recovered = crmctl("recover")
    assert recovered.exit_code == 0, recovered.output
    assert live_specs(sandbox_server.store) == before


# --- a change the CRM answered for, then did not keep -------------------------------------


def test_a_change_the_crm_undoes_after_answering_fails_the_apply(
    http_project, sandbox_server, crmctl
):
    """Something in the CRM (an automation, another admin) puts the role back between the
    write and the read after it: the apply says so, and "Apply complete" is never printed."""
    apply_ok(crmctl)
    replace_in(http_project / "manifests" / "access" / "roles.yaml", "VP Sales", "VP of Sales")
    store = sandbox_server.store
    stop = threading.Event()

    def put_back() -> None:
        while not stop.is_set():
            spec = live_specs(store)["Role/VP_Sales"]
            if spec["label"] == "VP of Sales":
                store.put_config("Role", "VP_Sales", {**spec, "label": "VP Sales"}, "flow@x.y")
                return
            time.sleep(0.005)

    watcher = threading.Thread(target=put_back)
    faults(sandbox_server, latencyMs=400)  # the read after the write comes well after it
    watcher.start()
    try:
        result = crmctl("apply", "--auto-approve")
    finally:
        stop.set()
        watcher.join()
        faults(sandbox_server)
    assert result.exit_code == 1, result.output
    said = (
        "the CRM answered that 1 change applied, but read after the apply it does not hold "
        "it: Role/VP_Sales"
    )
    assert f"  ~ Role/VP_Sales  FAILED: {said}\n" in result.out, result.out
    assert f"Error: apply stopped at Role/VP_Sales: {said}\n" in result.err, result.err
    assert "Recorded as v2 of e2e (failed, restored)." in result.err, result.err
    assert "Apply complete" not in result.output
    assert live_specs(store)["Role/VP_Sales"]["label"] == "VP Sales"
    planned = crmctl("plan", "--detailed-exitcode")
    assert planned.exit_code == 2  # the change is still to be made
    assert '      ~ label: "VP Sales" -> "VP of Sales"\n' in planned.out, planned.out
