"""A shared history is pulled once per command, and again after `expire` (a prompt)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from crmctl.errors import HistoryError
from crmctl.history import Actor, HistoryStore, VersionRecord


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def _another_clone_pushes(remote: Path, tmp_path: Path, name: str) -> str:
    """Someone else records an event in the shared history; the commit they pushed."""
    clone = tmp_path / f"clone-{name}"
    if not clone.exists():
        _git("clone", "-q", str(remote), str(clone), cwd=tmp_path)
    _git("pull", "-q", "origin", "main", cwd=clone)
    (clone / f"{name}.txt").write_text(name)
    _git("add", f"{name}.txt", cwd=clone)
    _git("commit", "-q", "-m", name, cwd=clone)
    _git("push", "-q", "origin", "HEAD:refs/heads/main", cwd=clone)
    return _git("rev-parse", "HEAD", cwd=clone)


def test_a_second_pull_is_a_no_op_until_expired_and_a_fresh_store_pulls(tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    _git("init", "-q", "--bare", "--initial-branch=main", str(remote), cwd=tmp_path)
    first = HistoryStore(tmp_path / "history", str(remote))
    assert first.remote is not None
    first.record_event("gov", {"event": "setup"}, Actor("t", "t@example.com"), "setup")
    first.remote.pull()
    theirs = _another_clone_pushes(remote, tmp_path, "one")

    first.remote.pull()  # the same command: already current
    assert first.repo.head.commit.hexsha != theirs

    first.remote.expire()
    first.remote.pull()
    assert first.repo.head.commit.hexsha == theirs

    later = _another_clone_pushes(remote, tmp_path, "two")
    second = HistoryStore(tmp_path / "history", str(remote))  # the next command
    assert second.remote is not None
    second.remote.pull()
    assert second.repo.head.commit.hexsha == later


def _record(store: HistoryStore, n: int) -> int:
    record = VersionRecord("gov", {"status": "applied"}, {}, {}, {}, {}, None)
    return store.record(record, set(), Actor("t", "t@example.com"), f"apply {n}")


def test_the_versions_a_store_reads_follow_its_own_commits_and_pulls(tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    _git("init", "-q", "--bare", "--initial-branch=main", str(remote), cwd=tmp_path)
    mine = HistoryStore(tmp_path / "mine", str(remote))
    theirs = HistoryStore(tmp_path / "theirs", str(remote))
    assert mine.remote is not None and theirs.remote is not None
    assert _record(theirs, 1) == 1
    mine.remote.pull()
    assert [m["version"] for m in mine.versions("gov")] == [1]
    assert _record(theirs, 2) == 2
    assert mine.committed("gov", 1) and not mine.committed("gov", 2)  # not pulled yet
    mine.remote.expire()
    mine.remote.pull()
    assert [m["version"] for m in mine.versions("gov")] == [1, 2]
    assert _record(mine, 3) == 3
    assert [m["version"] for m in mine.versions("gov")] == [1, 2, 3]
    assert mine.committed("gov", 3)


def test_a_pull_fetches_a_tag_pushed_alone_and_a_moved_one_is_an_error(tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    _git("init", "-q", "--bare", "--initial-branch=main", str(remote), cwd=tmp_path)
    mine = HistoryStore(tmp_path / "mine", str(remote))
    assert mine.remote is not None
    _record(mine, 1)
    clone = tmp_path / "clone"
    _git("clone", "-q", str(remote), str(clone), cwd=tmp_path)
    _git("tag", "gov/extra", "HEAD", cwd=clone)  # the branch stays where it is
    _git("push", "-q", "origin", "refs/tags/gov/extra", cwd=clone)
    mine.remote.expire()
    mine.remote.pull()
    assert "gov/extra" in {t.name for t in mine.repo.tags}

    _git("commit", "-q", "--allow-empty", "-m", "elsewhere", cwd=clone)
    _git("tag", "-f", "gov/v1", "HEAD", cwd=clone)
    _git("push", "-q", "-f", "origin", "refs/tags/gov/v1", cwd=clone)
    mine.remote.expire()
    with pytest.raises(
        HistoryError, match=r"(?s)cannot update the history from .*would clobber existing tag"
    ):
        mine.remote.pull()  # git fetch refuses to move a tag this history has
