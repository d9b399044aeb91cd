"""A version's git objects are written in-process, and are the objects git would write."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from crmctl.history import Actor, HistoryStore, VersionRecord

ACTOR = Actor("t", "t@example.com")
SNAPSHOT = {f"Role/Team_{i}": {"label": f"Team {i} é"} for i in range(5)}


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _record(store: HistoryStore, n: int) -> int:
    record = VersionRecord(
        "dev", {"status": "applied"}, {"changes": []}, {"changes": []}, SNAPSHOT, SNAPSHOT, {}
    )
    return store.record(record, set(SNAPSHOT), ACTOR, f"apply {n}")


def test_recorded_versions_are_sound_git_objects_holding_the_files(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "history")
    assert [_record(store, 1), _record(store, 2)] == [1, 2]
    root = tmp_path / "history"
    _git(root, "fsck", "--strict", "--full", "--no-dangling")
    assert _git(root, "status", "--porcelain", "--untracked-files=all") == ""
    assert _git(root, "tag").split() == ["dev/v1", "dev/v2"]
    assert _git(root, "log", "--format=%an <%ae> %s").splitlines() == [
        "t <t@example.com> dev v2: apply 2",
        "t <t@example.com> dev v1: apply 1",
    ]
    committed = dict(
        line.split(" ", 3)[2:4][::-1]
        for line in _git(root, "ls-tree", "-r", "dev/v2").replace("\t", " ").splitlines()
    )
    files = sorted(p.relative_to(root).as_posix() for p in (root / "dev").rglob("*.json"))
    assert sorted(committed) == files
    for path in files:  # each blob is the file's bytes, as git itself hashes them
        assert committed[path] == _git(root, "hash-object", "--no-filters", path).strip()
    assert [int(m["version"]) for m in store.versions("dev")] == [1, 2]


SHARED = {
    "in the config file": ({}, "\tsharedRepository = group\n"),
    "as a bare key": ({}, "\tsharedRepository\n"),  # git reads a key without a value as true
    "through git -c": ({"GIT_CONFIG_PARAMETERS": "'core.sharedRepository=group'"}, ""),
    "through GIT_CONFIG_COUNT": (
        {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "core.sharedRepository",
            "GIT_CONFIG_VALUE_0": "group",
        },
        "",
    ),
}


@pytest.mark.parametrize(("env", "setting"), SHARED.values(), ids=SHARED.keys())
def test_a_shared_repository_has_git_write_its_objects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], setting: str
) -> None:
    """core.sharedRepository: git makes new object folders group-writable; so do we (by git),
    however git is told."""
    root = tmp_path / "history"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    with (root / ".git" / "config").open("a") as config:
        config.write(f"[core]\n{setting}")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    store = HistoryStore(root)
    _record(store, 1)
    _git(root, "fsck", "--strict", "--full", "--no-dangling")
    blobs = {line.split()[2] for line in _git(root, "ls-tree", "-r", "HEAD").splitlines()}
    assert len(blobs) > 3
    for blob in blobs:  # (GitPython writes trees itself, as it always did)
        mode = (root / ".git" / "objects" / blob[:2]).stat().st_mode
        assert mode & stat.S_IWGRP and mode & stat.S_ISGID, (blob, oct(mode))


def test_an_object_that_exists_is_left_as_it_is(tmp_path: Path) -> None:
    """Versions repeat files (an unchanged managed.json): the object is there already, maybe
    another user's. It is neither rewritten nor changed (git only touches its time)."""
    store = HistoryStore(tmp_path / "history")
    _record(store, 1)
    root = tmp_path / "history"
    blobs = {line.split()[2] for line in _git(root, "ls-tree", "-r", "HEAD").splitlines()}
    paths = [root / ".git" / "objects" / b[:2] / b[2:] for b in blobs]
    for path in paths:
        os.chmod(path, 0o400)  # as another user's umask would leave it; gitdb chmods it back
    _record(store, 2)  # the same snapshot: the same blobs
    assert {oct(p.stat().st_mode & 0o777) for p in paths} == {"0o400"}
    _git(root, "fsck", "--strict", "--full", "--no-dangling")
    leftovers = [p.name for p in (root / ".git" / "objects").rglob("*") if "tmp" in p.name]
    assert leftovers == []


def test_settings_are_read_as_git_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What decides whether git writes the objects, and whether a pull must fetch to prune."""
    from crmctl.history.gitobjects import UNKNOWN, git_setting, open_repo

    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    with (root / ".git" / "config").open("a") as config:
        config.write("[fetch]\n\tprune\n\tpruneTags = False\n")
    repo = open_repo(root)
    for name in [n for n in os.environ if n.startswith("GIT_CONFIG")]:
        monkeypatch.delenv(name)
    assert [
        git_setting(repo, "fetch", "prune"),  # a key without a value: true, to git
        git_setting(repo, "fetch", "prunetags"),
        git_setting(repo, "core", "sharedrepository"),
    ] == ["true", "false", None]
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", "'fetch.prune=false'")  # git -c
    assert git_setting(repo, "fetch", "prune") == UNKNOWN


def test_a_large_object_is_the_object_git_writes(tmp_path: Path) -> None:
    """Objects over the in-memory spool (a large snapshot) go through a file first."""
    from crmctl.history.gitobjects import open_repo, write_object

    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    data = os.urandom(9 << 20)  # does not deflate below the 8 MiB spooled in memory
    (tmp_path / "big").write_bytes(data)
    sha = write_object(open_repo(root), "blob", data)
    assert sha == _git(root, "hash-object", "--no-filters", str(tmp_path / "big")).strip()
    assert _git(root, "cat-file", "-s", sha).strip() == str(len(data))
    _git(root, "fsck", "--strict", "--full")
