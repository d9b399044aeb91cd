"""Environments share one history repository: recordings of two at once keep both."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from crmctl.history import HistoryStore

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
