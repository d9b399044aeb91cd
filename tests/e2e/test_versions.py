"""Versions, rollback, restore after failures, locking and recovery — over HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import git
import pytest
import requests

from crmctl.config.environment import load_environment
from crmctl.history import HistoryStore
from crmctl.history.journal import Journal
from crmctl.history.lock import EnvironmentLock
from crmctl.workspace import Workspace
from tests.conftest import EXAMPLE
from tests.e2e.helpers import desired_specs, live_specs, manifest, replace_in, write_manifest

REPO = Path(__file__).resolve().parents[2]


def apply_ok(crmctl, *args):
    result = crmctl("apply", "--auto-approve", *args)
    assert result.exit_code == 0, result.output
    return result


def faults(server, **settings):
    response = requests.post(
        f"{server.url}/api/v1/admin/faults",
        json=settings,
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=5,
    )
    assert response.status_code == 200, response.text


def three_versions(project: Path, crmctl) -> None:
    apply_ok(crmctl)  # v1: the example org
    roles = project / "manifests" / "access" / "roles.yaml"
    replace_in(roles, "label: VP Sales", "label: Vice President Sales")
    write_manifest(
        project, "extra.yaml", manifest("Role", "Auditor", label="Auditor", parent="CEO")
    )
    apply_ok(crmctl)  # v2
    (project / "manifests" / "extra.yaml").unlink()
    replace_in(
        project / "manifests" / "standard" / "account.yaml",
        "values: [EMEA, AMER, APAC]",
        "values: [EMEA, APAC]",
    )
    apply_ok(crmctl)  # v3


def test_history_show_and_diff(http_project, crmctl):
    three_versions(http_project, crmctl)
    listing = crmctl("history")
    lines = listing.out.splitlines()
    assert lines[0].split() == ["VERSION", "WHEN", "WHO", "STATUS", "CHANGES", "NOTE"]
    assert [line.split()[0] for line in lines[1:]] == ["v1", "v2", "v3"]
    assert lines[1].split()[2:] == [
        "tester@example.com",
        "applied",
        f"+{EXAMPLE.resources}",
        "~0",
        "-0",
    ]
    assert lines[2].split()[2:] == ["tester@example.com", "applied", "+1", "~1", "-0"]
    assert lines[3].split()[2:] == ["tester@example.com", "applied", "+0", "~1", "-1"]
    as_json = json.loads(crmctl("history", "--format", "json").out)
    assert [v["version"] for v in as_json["versions"]] == [1, 2, 3]
    assert as_json["versions"][1]["summary"] == {"add": 1, "change": 1, "destroy": 0}

    shown = crmctl("show", "v2")
    assert shown.exit_code == 0
    assert shown.out.startswith("Version v2 of e2e\n  when:    ")
    assert "  who:     tester@example.com\n  status:  applied\n" in shown.out
    assert "Result:\n  Role/Auditor   applied\n  Role/VP_Sales  applied\n" in shown.out
    after_v2 = dict(EXAMPLE.by_kind, Role=EXAMPLE.by_kind["Role"] + 1)  # v2 added Role/Auditor
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(after_v2.items()))
    assert f"Snapshot after: {EXAMPLE.resources + 1} resources ({kinds})" in shown.out
    assert '  ~ Role/VP_Sales\n      ~ label: "VP Sales" -> "Vice President Sales"\n' in shown.out

    diffed = crmctl("diff", "v1", "v3")
    assert diffed.out == (
        "From v1 to v3 of e2e:\n"
        "\n"
        "  ~ CustomField/Account.Region__c\n"
        '      - values[AMER]: {"value": "AMER", "label": "AMER", "default": false, "active": true}\n'
        "  ~ Role/VP_Sales\n"
        '      ~ label: "VP Sales" -> "Vice President Sales"\n'
        "\n"
        "2 resource(s) differ: 0 added, 2 changed, 0 removed.\n"
    )
    assert (
        crmctl("show", "v9").err
        == "Error: e2e has no version v9\nhint: crmctl history lists the versions\n"
    )
    assert crmctl("show", "latest").err.startswith(
        "Error: 'latest' is not a version; versions look like v12\n"
    )
    tags = [t.name for t in git.Repo(http_project / ".crmctl" / "history").tags]
    assert sorted(tags) == ["e2e/v1", "e2e/v2", "e2e/v3"]


def test_rollback_to_v1_after_v3_restores_v1_exactly(http_project, sandbox_server, crmctl):
    three_versions(http_project, crmctl)
    v1 = HistoryStore(http_project / ".crmctl" / "history").version("e2e", 1).after
    saved = crmctl("rollback", "--to", "v1", "--out", "back.json")
    assert saved.exit_code == 0
    assert "crmctl will make these changes to return e2e to v1 (sandbox" in saved.out
    assert (
        saved.out.splitlines()[-1]
        == "Saved the rollback plan to back.json. Apply it with: crmctl apply back.json"
    )
    result = crmctl("rollback", "--to", "v1", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert (
        result.out.splitlines()[-1]
        == "Rollback to v1 complete: 0 added, 2 changed, 0 destroyed. Recorded as v4 of e2e."
    )
    assert live_specs(sandbox_server.store) == v1
    listing = crmctl("history").out.splitlines()
    assert listing[-1].split()[-3:] == ["rollback", "to", "v1"]
    # The saved rollback plan is now stale: the CRM changed since it was made.
    stale = crmctl("apply", "back.json")
    assert stale.exit_code == 1 and "the saved plan is stale" in stale.err


def expected_after_restore(crmctl, http_project, sandbox_server):
    """Apply v1, change two things in the manifests; return (live before the failing apply)."""
    apply_ok(crmctl)
    replace_in(
        http_project / "manifests" / "access" / "roles.yaml",
        "label: VP Sales",
        "label: VP of Sales",
    )
    write_manifest(
        http_project,
        "extra.yaml",
        *[manifest("Role", f"Team_{i}", label=f"Team {i}", parent="CEO") for i in range(12)],
    )
    return live_specs(sandbox_server.store)


def test_failing_nth_write_is_restored_exactly(http_project, sandbox_server, crmctl, monkeypatch):
    before = expected_after_restore(crmctl, http_project, sandbox_server)
    monkeypatch.setenv("CRMCTL_APPLY_CHUNK", "5")
    faults(sandbox_server, failNthWrite={"n": 2, "status": 500})
    result = crmctl("apply", "--auto-approve")
    assert result.exit_code == 1
    assert "Recorded as v2 of e2e (failed, restored)." in result.err
    assert "the CRM is back as it was before the apply (checked)" in result.err
    assert live_specs(sandbox_server.store) == before
    faults(sandbox_server)
    apply_ok(crmctl)
    assert live_specs(sandbox_server.store) == desired_specs(http_project)


def test_failing_write_with_no_restore_is_partial(
    http_project, sandbox_server, crmctl, monkeypatch
):
    before = expected_after_restore(crmctl, http_project, sandbox_server)
    monkeypatch.setenv("CRMCTL_APPLY_CHUNK", "5")
    faults(sandbox_server, failNthWrite={"n": 2, "status": 500})
    result = crmctl("apply", "--auto-approve", "--no-restore")
    assert result.exit_code == 1
    assert "5 change(s) applied (5 added, 0 changed, 0 destroyed), 8 not applied." in result.err
    live = live_specs(sandbox_server.store)
    assert live != before
    # Roles are applied in name order: Team_0, Team_1, Team_10, Team_11, Team_2, Team_3 ...
    assert {a for a in live if a.startswith("Role/Team_")} == {
        f"Role/Team_{i}" for i in (0, 1, 10, 11, 2)
    }


def test_503_bursts_and_429_storms_are_ridden_out(
    http_project, sandbox_server, crmctl, monkeypatch
):
    expected_after_restore(crmctl, http_project, sandbox_server)
    monkeypatch.setenv("CRMCTL_APPLY_CHUNK", "5")
    faults(sandbox_server, unavailable={"count": 3, "retryAfter": 0})
    apply_ok(crmctl)
    assert live_specs(sandbox_server.store) == desired_specs(http_project)
    replace_in(
        http_project / "manifests" / "access" / "roles.yaml",
        "label: VP of Sales",
        "label: VP Sales",
    )
    faults(sandbox_server, rateLimit={"count": 4, "retryAfter": 0})
    apply_ok(crmctl)
    assert live_specs(sandbox_server.store) == desired_specs(http_project)


def test_dropped_connection_after_commit_is_answered_by_the_idempotency_key(
    http_project, sandbox_server, crmctl, monkeypatch
):
    expected_after_restore(crmctl, http_project, sandbox_server)
    monkeypatch.setenv("CRMCTL_APPLY_CHUNK", "5")
    seq_before = sandbox_server.store.audit(None, 10_000)[-1]["seq"]
    # The server carries out the first batch, then cuts the connection mid-answer; the
    # client asks again under the same key and gets the first answer: nothing runs twice.
    faults(sandbox_server, dropConnection={"count": 1, "writesOnly": True})
    result = crmctl("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    assert result.out.splitlines()[-1] == (
        "Apply complete: 12 added, 1 changed, 0 destroyed. Recorded as v2 of e2e."
    )
    assert live_specs(sandbox_server.store) == desired_specs(http_project)
    written = [e for e in sandbox_server.store.audit(None, 10_000) if e["seq"] > seq_before]
    assert len(written) == 13  # each change once


def test_write_whose_answer_stays_lost_is_settled_then_restored(
    http_project, sandbox_server, crmctl, monkeypatch
):
    before = expected_after_restore(crmctl, http_project, sandbox_server)
    monkeypatch.setenv("CRMCTL_APPLY_CHUNK", "5")
    monkeypatch.setenv("CRMCTL_HTTP_RETRIES", "1")
    # The first batch is carried out and both answers (the first and the repeat) are lost.
    faults(sandbox_server, dropConnection={"count": 2, "writesOnly": True})
    result = crmctl("apply", "--auto-approve")
    assert result.exit_code == 1, result.output
    assert "the connection dropped while the CRM was answering" in result.err
    assert "5 change(s) applied (5 added, 0 changed, 0 destroyed), 8 not applied." in result.err
    assert "Recorded as v2 of e2e (failed, restored)." in result.err
    assert "the CRM is back as it was before the apply (checked)" in result.err
    assert live_specs(sandbox_server.store) == before
    meta = json.loads((http_project / ".crmctl/history/e2e/versions/000002/meta.json").read_text())
    assert meta["status"] == "failed, restored"


def test_crm_that_never_answers_after_a_write_keeps_the_journal(
    http_project, sandbox_server, crmctl, monkeypatch
):
    before = expected_after_restore(crmctl, http_project, sandbox_server)
    monkeypatch.setenv("CRMCTL_APPLY_CHUNK", "5")
    monkeypatch.setenv("CRMCTL_HTTP_RETRIES", "1")
    faults(sandbox_server, dropConnection={"count": 1000, "writesOnly": True})
    result = crmctl("apply", "--auto-approve")
    assert result.exit_code == 1, result.output
    retries, error = result.err.split("Error: ", 1)
    assert retries.splitlines()[0] == (
        "POST /api/v1/config/batch: the answer was cut off; retrying (1/1) in 0.5 s..."
    )
    assert error.startswith("the apply stopped (POST ")
    assert "The journal is kept; nothing is recorded\n" in result.err
    assert "hint: run crmctl recover -e e2e once the CRM answers again\n" in result.err
    assert not (http_project / ".crmctl/history/e2e/versions/000002").exists()
    assert crmctl("plan").exit_code == 1  # blocked until recovered
    faults(sandbox_server)
    recovered = crmctl("recover")
    assert recovered.exit_code == 0, recovered.output
    assert recovered.out.splitlines()[-1].endswith("Recorded as v2 of e2e (interrupted, restored).")
    assert live_specs(sandbox_server.store) == before


def test_two_applies_at_once_exactly_one_runs(http_project, sandbox_server, monkeypatch):
    faults(sandbox_server, latencyMs=150)
    env = {**os.environ, "CRMCTL_APPLY_CHUNK": "10", "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "crmctl", "apply", "--auto-approve"]
    first = subprocess.Popen(
        command,
        cwd=http_project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    second = subprocess.Popen(
        command,
        cwd=http_project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    results = [(p.wait(120), *p.communicate()) for p in (first, second)]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 1], results
    loser = next(err for code, _, err in results if code == 1)
    assert loser.startswith(
        "Error: environment e2e is locked by tester@example.com (apply, process "
    )
    assert (
        "hint: wait for it to finish; if it is gone, check and run: crmctl unlock -e e2e --force"
        in loser
    )
    assert live_specs(sandbox_server.store) == desired_specs(http_project)


def kill_apply_midway(project: Path, server, after: int) -> Path:
    """Start `crmctl apply` in a process, SIGKILL it once `after` changes landed; its journal."""
    faults(server, latencyMs=300)
    env = {**os.environ, "CRMCTL_APPLY_CHUNK": "5", "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "crmctl", "apply", "--auto-approve"],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    journal = project / ".crmctl" / "history" / ".state" / "journal" / "e2e.json"
    deadline = time.monotonic() + 60
    reader = Journal(journal.parent, "e2e")
    while not (journal.exists() and len(reader.read().applied) >= after):
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the apply never got going")
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    faults(server)
    return journal


def test_kill_9_mid_apply_then_recover_restores_the_snapshot(http_project, sandbox_server, crmctl):
    apply_ok(crmctl, "--target", "Role/*")
    before = live_specs(sandbox_server.store)
    journal = kill_apply_midway(http_project, sandbox_server, after=10)
    assert live_specs(sandbox_server.store) != before  # half-changed

    refused = crmctl("plan")
    assert refused.exit_code == 1
    assert refused.err.startswith("Error: an apply by tester@example.com started ")
    assert "did not finish: the CRM may be half-changed; nothing was done\n" in refused.err
    assert (
        "hint: run crmctl recover -e e2e to restore the state from before it (or --finish to complete it)\n"
        in refused.err
    )
    assert crmctl("apply", "--auto-approve").exit_code == 1

    recovered = crmctl("recover")
    assert recovered.exit_code == 0, recovered.output
    assert recovered.out.splitlines()[-1].endswith("Recorded as v2 of e2e (interrupted, restored).")
    assert live_specs(sandbox_server.store) == before
    assert not journal.exists()
    nothing = crmctl("recover")
    assert (nothing.exit_code, nothing.out, nothing.err) == (
        0,
        "Nothing to recover: no apply of e2e was interrupted.\n",
        "",
    )
    events = (http_project / ".crmctl" / "history" / "e2e" / "events.jsonl").read_text()
    assert '"event": "stale-lock-taken-over"' in events
    apply_ok(crmctl)
    assert live_specs(sandbox_server.store) == desired_specs(http_project)


def test_recover_finish_completes_the_interrupted_apply(http_project, sandbox_server, crmctl):
    kill_apply_midway(http_project, sandbox_server, after=5)
    finished = crmctl("recover", "--finish")
    assert finished.exit_code == 0, finished.output
    assert finished.out.splitlines()[-1].endswith("(interrupted, finished).")
    assert live_specs(sandbox_server.store) == desired_specs(http_project)
    assert crmctl("plan", "--detailed-exitcode").exit_code == 0


def test_lock_status_and_forced_unlock(http_project, crmctl):
    assert crmctl("lock", "status").out == "e2e is not locked.\n"
    env = load_environment("e2e", http_project)
    store = HistoryStore(env.history_path)
    holder = EnvironmentLock(store.state_dir / "locks", "e2e", "someone@example.com", "apply")
    holder.acquire()
    status = crmctl("lock", "status").out
    assert status.startswith("e2e is locked by someone@example.com (apply, process ")
    blocked = crmctl("apply", "--auto-approve")
    assert (
        blocked.exit_code == 1
        and "Error: environment e2e is locked by someone@example.com" in blocked.err
    )
    refused = crmctl("unlock")
    assert refused.exit_code == 1
    assert refused.err.startswith(
        "Error: unlock removes someone else's lock: check that the holder is gone, then add --force"
    )
    forced = crmctl("unlock", "--force")
    assert forced.out.startswith(
        "Removed the lock of e2e held by someone@example.com (apply, process "
    )
    assert forced.out.endswith("Recorded in the history.\n")
    log = git.Repo(env.history_path).head.commit.message
    assert log.startswith(
        "e2e: lock forced open by tester@example.com (held by someone@example.com"
    )
    assert crmctl("lock", "status").out == "e2e is not locked.\n"


def test_shared_history_remote_pulls_pushes_and_locks_across_machines(
    http_project, sandbox_server, crmctl, tmp_path, monkeypatch
):
    remote = tmp_path / "history-remote.git"
    git.Repo.init(remote, bare=True, initial_branch="main")
    env_file = http_project / "environments" / "e2e.yaml"
    env_file.write_text(
        env_file.read_text() + f"history:\n  path: .crmctl/history\n  remote: {remote}\n"
    )
    apply_ok(crmctl)
    assert "e2e/v1" in git.Repo(remote).git.tag()

    # A second machine: another checkout of the project with its own, empty local history.
    other = tmp_path / "machine-b"
    import shutil

    shutil.copytree(http_project, other, ignore=shutil.ignore_patterns(".crmctl"))
    monkeypatch.chdir(other)
    plan = crmctl("plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output  # it pulled v1 and knows what is managed
    assert crmctl("history").out.splitlines()[1].split()[0] == "v1"

    # Machine A holds the lock (through the remote); machine B cannot apply.
    workspace = Workspace(load_environment("e2e", http_project))
    with workspace.locked("apply"):
        replace_in(
            other / "manifests" / "access" / "roles.yaml", "label: VP Sales", "label: VP of Sales"
        )
        blocked = crmctl("apply", "--auto-approve")
        assert blocked.exit_code == 1
        assert blocked.err.startswith(
            "Error: environment e2e is locked on the history remote by tester@example.com (apply, process "
        )
        assert crmctl("lock", "status").out.startswith(
            "e2e is locked on the history remote by tester@example.com"
        )
    apply_ok(crmctl)
    assert "e2e/v2" in git.Repo(remote).git.tag()
