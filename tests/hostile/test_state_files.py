"""Hostile state files: locks, journals and history that crmctl did not write.

Every case ends in a clear error naming the file and the way out (exit 1, no
"internal error", nothing written to the CRM), and the way out works:
`crmctl unlock --force` for a lock, `crmctl recover --from-snapshot` for a
journal, git for the history.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from crmctl.sandbox.store import SandboxStore
from tests.conftest import example_applied_once
from tests.e2e.helpers import manifest, replace_in, write_manifest

STATE = Path(".crmctl") / "history" / ".state"
HISTORY = Path(".crmctl") / "history" / "local"
GOOD_HEADER = {
    "environment": "local",
    "actor": "tester@example.com",
    "pid": 999_999,
    "host": "elsewhere",
    "started": "2026-01-01T00:00:00+00:00",
}


def _live(project: Path) -> dict[str, dict]:
    store = SandboxStore.open(project / ".crmctl" / "sandbox.db")
    try:
        return {f"{i['kind']}/{i['name']}": i["spec"] for i in store.list_all_config()}
    finally:
        store.close()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example project applied once (v1) to the embedded sandbox, with changes pending."""
    root = example_applied_once(tmp_path_factory)
    replace_in(root / "manifests" / "access" / "roles.yaml", "VP Sales", "VP of Sales")
    write_manifest(root, "extra.yaml", manifest("Role", "Team_A", label="A", parent="CEO"))
    return root


def _no_crash(result) -> None:
    assert "internal error" not in result.output
    assert "Traceback" not in result.output


# --- lock files ----------------------------------------------------------------------------


def _write(text: str | bytes) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)

    return make


def _lock(**fields) -> str:
    base = {
        "holder": "x@example.com",
        "host": os.uname().nodename,
        "pid": 1,
        "since": "now",
        "command": "apply",
    }
    return json.dumps({**base, **fields})


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _directory(path: Path) -> None:
    path.mkdir()


def _link_to(target: str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        path.symlink_to(target)

    return make


HOSTILE_FILES: dict[str, Callable[[Path], None]] = {
    "empty": _write(""),
    "garbage": _write("not json at all"),
    "binary": _write(b"\xff\xfe\x00\x01"),
    "null": _write("null"),
    "list": _write("[]"),
    "empty object": _write("{}"),
    "number": _write("12"),
    "deep nesting": _write("[" * 100_000 + "]" * 100_000),
    "huge integer": _write('{"pid": ' + "9" * 5000 + "}"),
    "directory": _directory,
    "fifo": _fifo,
    "link to /dev/zero": _link_to("/dev/zero"),
    "dangling link": _link_to("/nonexistent/file"),
    "huge file": _write(" " * 200_000 + "{}"),
}

LOCK_FILES: dict[str, Callable[[Path], None]] = {
    **HOSTILE_FILES,
    "pid is text": _write(_lock(pid="abc")),
    "pid is true": _write(_lock(pid=True)),
    "pid is zero": _write(_lock(pid=0)),
    "pid is negative": _write(_lock(pid=-1)),
    "pid is huge": _write(_lock(pid=10**30)),
    "holder is a list": _write(_lock(holder=[])),
    "extra field": _write(_lock(extra=1)),
    "missing field": _write(json.dumps({"holder": "x", "pid": 1})),
}


@pytest.mark.parametrize("case", LOCK_FILES, ids=str)
def test_hostile_lock_file(applied: Path, crmctl, case: str) -> None:
    path = applied / STATE / "locks" / "local.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    LOCK_FILES[case](path)
    before = _live(applied)
    result = crmctl("apply", "--auto-approve")
    _no_crash(result)
    assert result.exit_code == 1
    assert (
        f"Error: environment local is locked by a lock file crmctl cannot read ({path})"
        in result.err
    ), result.err
    assert "crmctl unlock -e local --force" in result.err
    assert _live(applied) == before
    status = crmctl("lock", "status")
    _no_crash(status)
    assert status.exit_code == 0
    unlocked = crmctl("unlock", "--force")
    _no_crash(unlocked)
    assert unlocked.exit_code == 0, unlocked.output
    assert not (path.exists() or path.is_symlink())
    assert crmctl("lock", "status").out == "local is not locked.\n"


# --- journals ------------------------------------------------------------------------------


def _journal_files(project: Path) -> tuple[Path, Path, Path]:
    folder = project / STATE / "journal"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "local.json", folder / "local.data.json", folder / "local.record.json"


def _good_data(project: Path) -> str:
    before = json.loads((project / HISTORY / "versions" / "000001" / "after.json").read_text())
    return json.dumps({"plan": {"environment": "local", "changes": []}, "before": before})


def _lines(*items: object) -> str:
    return "".join((i if isinstance(i, str) else json.dumps(i)) + "\n" for i in items)


# Each case: (what to write to the progress log, to the data file, to the record file).
# None leaves a file out; "GOOD" is a valid data file.
JOURNALS: dict[str, tuple[object, object, object]] = {
    **{f"progress {name}": (make, "GOOD", None) for name, make in HOSTILE_FILES.items()},
    "header pid is text": (_lines({**GOOD_HEADER, "pid": "abc"}), "GOOD", None),
    "header pid is true": (_lines({**GOOD_HEADER, "pid": True}), "GOOD", None),
    "header misses a field": (_lines({"environment": "local"}), "GOOD", None),
    "garbage line in the middle": (_lines(GOOD_HEADER, "garbage", {"recording": 2}), "GOOD", None),
    "unknown event": (_lines(GOOD_HEADER, {"foo": 1}, {"recording": 2}), "GOOD", None),
    "answer to an unsent write": (
        _lines(GOOD_HEADER, {"done": "a" * 32, "applied": []}),
        "GOOD",
        None,
    ),
    "sent addresses not a list": (
        _lines(GOOD_HEADER, {"sent": "a" * 32, "addresses": "Role/CEO"}),
        "GOOD",
        None,
    ),
    "recording is a string": (_lines(GOOD_HEADER, {"recording": "2"}), "GOOD", None),
    "data missing": (_lines(GOOD_HEADER), None, None),
    **{
        f"data {name}": (_lines(GOOD_HEADER), make, None)
        for name, make in HOSTILE_FILES.items()
        if name not in ("dangling link",)
    },
    "data plan is a list": (_lines(GOOD_HEADER), '{"plan": [], "before": {}}', None),
    "data snapshot holds numbers": (_lines(GOOD_HEADER), '{"plan": {}, "before": {"a": 1}}', None),
    "recording without its record": (_lines(GOOD_HEADER, {"recording": 2}), "GOOD", None),
    "record is garbage": (_lines(GOOD_HEADER, {"recording": 2}), "GOOD", "garbage"),
    "record is an empty object": (_lines(GOOD_HEADER, {"recording": 2}), "GOOD", "{}"),
}


def _materialise(path: Path, content: object, project: Path) -> None:
    if content is None:
        return
    if content == "GOOD":
        path.write_text(_good_data(project))
    elif callable(content):
        content(path)
    else:
        path.write_text(str(content))


@pytest.mark.parametrize("case", JOURNALS, ids=str)
def test_hostile_journal(applied: Path, crmctl, case: str) -> None:
    progress, data, record = JOURNALS[case]
    paths = _journal_files(applied)
    for path, content in zip(paths, (progress, data, record), strict=True):
        _materialise(path, content, applied)
    # The crashed apply had got as far as changing a managed role.
    store = SandboxStore.open(applied / ".crmctl" / "sandbox.db")
    store.put_config("Role", "VP_Sales", {"label": "Half-changed", "parent": "CEO"}, "crash")
    store.close()
    half_changed = _live(applied)

    for args in (("plan",), ("apply", "--auto-approve"), ("recover",)):
        result = crmctl(*args)
        _no_crash(result)
        assert result.exit_code == 1, (args, result.output)
        assert "the apply journal " in result.err, (args, result.err)
        assert "crmctl recover -e local --from-snapshot" in result.err, (args, result.err)
        assert _live(applied) == half_changed

    recovered = crmctl("recover", "--from-snapshot")
    _no_crash(recovered)
    assert recovered.exit_code == 0, recovered.output
    assert "Recorded as v2 of local (interrupted, restored" in recovered.out, recovered.out
    assert _live(applied)["Role/VP_Sales"] == {"label": "VP Sales", "parent": "CEO"}
    assert not any(p.exists() or p.is_symlink() for p in paths)


# --- history files -------------------------------------------------------------------------

HISTORY_FILES: dict[str, Callable[[Path], None]] = {
    **HOSTILE_FILES,
    "list of numbers": _write("[1, 2]"),
    "object": _write('{"Role/CEO": true}'),
}


def _replace(path: Path, make: Callable[[Path], None]) -> None:
    if path.is_dir() and not path.is_symlink():
        path.rmdir()
    else:
        path.unlink()
    make(path)


# An empty list is a valid managed.json, and an empty object a valid (empty) snapshot.
MANAGED_FILES = {k: v for k, v in HISTORY_FILES.items() if k != "list"}
SNAPSHOT_FILES = {k: v for k, v in HISTORY_FILES.items() if k not in ("empty object", "huge file")}


@pytest.mark.parametrize("case", MANAGED_FILES, ids=str)
def test_hostile_managed_file(applied: Path, crmctl, case: str) -> None:
    path = applied / HISTORY / "managed.json"
    _replace(path, HISTORY_FILES[case])
    before = _live(applied)
    for args in (("plan",), ("apply", "--auto-approve")):
        result = crmctl(*args)
        _no_crash(result)
        assert result.exit_code == 1, (args, result.output)
        assert f"history file {path} " in result.err, result.err
        assert "hint: restore it from the history's git log" in result.err
    assert _live(applied) == before


@pytest.mark.parametrize(
    ("case", "name"),
    [(case, "meta") for case in HISTORY_FILES] + [(case, "after") for case in SNAPSHOT_FILES],
    ids=str,
)
def test_hostile_version_file(applied: Path, crmctl, case: str, name: str) -> None:
    path = applied / HISTORY / "versions" / "000001" / f"{name}.json"
    _replace(path, HISTORY_FILES[case])
    command = ("history",) if name == "meta" else ("rollback", "--to", "v1", "--auto-approve")
    before = _live(applied)
    result = crmctl(*command)
    _no_crash(result)
    assert result.exit_code == 1, result.output
    assert result.err.startswith(("Error: version 1 of local", "Error: version v1 of local"))
    assert str(path) in result.err, result.err
    assert "hint: restore it from the history's git log" in result.err
    assert _live(applied) == before
