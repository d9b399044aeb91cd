"""Environments share one history repository: recordings of two at once keep both."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from crmctl.history import Actor, HistoryStore, VersionRecord

#: One process recording `count` versions of one environment, a store per version (as each
#: crmctl command opens its own).
RECORDER = """
import sys
from pathlib import Path
from crmctl.history import Actor, HistoryStore, VersionRecord
root, env, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
for i in range(count):
    snapshot = {"Role/X": {"label": f"{env} {i}"}}
    record = VersionRecord(env, {"status": "applied"}, {}, {}, snapshot, snapshot, None)
    HistoryStore(root).record(record, set(snapshot), Actor("t", "t@example.com"), f"apply {i}")
"""


def test_two_environments_recording_at_once_lose_no_version(tmp_path: Path) -> None:
    root = tmp_path / "history"
    assert HistoryStore(root).repo  # created before the two processes race to create it
    recorders = [
        subprocess.Popen([sys.executable, "-c", RECORDER, str(root), env, "12"])
        for env in ("dev", "prod")
    ]
    assert [p.wait(timeout=120) for p in recorders] == [0, 0]
    store = HistoryStore(root)
    for env in ("dev", "prod"):  # every version is in HEAD's commit, not only on disk
        assert [store.committed(env, n) for n in range(1, 13)] == [True] * 12, env
        assert [v["version"] for v in store.versions(env)] == list(range(1, 13))
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    assert status.stdout == ""


def test_a_version_number_taken_meanwhile_is_not_recorded_over(tmp_path: Path) -> None:
    """Two applies to one environment run at once only if its lock was forced: the one that
    records second gets the next number; HEAD keeps both records and each tag its own."""
    root = tmp_path / "history"
    first, second = HistoryStore(root), HistoryStore(root)
    assert first.preflight("dev") == second.preflight("dev") == 1  # both read HEAD now
    snapshots = [{"Role/X": {"label": label}} for label in ("first", "second")]
    numbers = [
        store.record(
            VersionRecord("dev", {"status": "applied"}, {}, {}, snap, snap, None),
            set(snap),
            Actor("t", "t@example.com"),
            f"apply of {snap['Role/X']['label']}",
            1,
        )
        for store, snap in zip((first, second), snapshots, strict=True)
    ]
    assert numbers == [1, 2]
    store = HistoryStore(root)
    assert [store.version("dev", n).after for n in (1, 2)] == snapshots
    subjects = [
        subprocess.run(
            ["git", "log", "-1", "--format=%s", tag],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for tag in ("dev/v1", "dev/v2")
    ]
    assert subjects == ["dev v1: apply of first", "dev v2: apply of second"]
