"""The apply journal: what an apply is doing, written before each step.

If the process dies (kill -9, power loss) the journal stays behind; every
later command on that environment sees it and refuses to plan or apply
until `crmctl recover` restores the state from before the apply (default)
or finishes the remaining changes.

Three files per environment, under the history's `.state/journal/`:

    <env>.data.json    the plan and the snapshot before it (written once, atomically)
    <env>.json         the progress log: a header line, then one JSON line per event,
                       appended and fsynced (never rewritten, so an apply stays linear)
    <env>.record.json  the version being recorded, once the CRM work is over

Progress events: `{"sent": W, "addresses": [...]}` before the write W goes out
(W is the write id the CRM remembers, see `ResolvesWrites`), `{"ref": W,
"remote": R}` when the CRM gives the write an id of its own (a Salesforce
deploy), `{"done": W, "applied": [...]}` when its answer came back, and
`{"recording": N}` once
version N is about to be written. A last line cut off by a crash is ignored;
any other damage makes the journal unreadable, and `crmctl recover
--from-snapshot` is the way out.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crmctl.errors import CrmctlError
from crmctl.history.jsonstream import write_json_file

__all__ = ["Journal", "JournalState", "JournalDamagedError", "UnfinishedApplyError", "Write"]

#: The largest journal file read back (the data file holds a whole plan and snapshot).
MAX_JOURNAL_BYTES = 1 << 30


class UnfinishedApplyError(CrmctlError):
    """An earlier apply to this environment was interrupted."""


class JournalDamagedError(UnfinishedApplyError):
    """The journal of an interrupted apply cannot be read."""


@dataclass
class Write:
    """One chunk of changes sent to the CRM under a write id; `applied` is None until answered."""

    write_id: str
    addresses: list[str]
    applied: list[str] | None = None
    refs: list[str] = field(default_factory=list)  # ids the CRM gave it (Salesforce deploys)


@dataclass
class JournalState:
    """What an interrupted apply left: its plan, the snapshot before it and its progress."""

    environment: str
    actor: str
    pid: int
    host: str
    started: str
    # Read back: dicts. While an apply runs: Streamed (written once, never held whole).
    plan: Any
    before: Any
    writes: list[Write] = field(default_factory=list)
    recording: int | None = None  # the version number being recorded, once the CRM work is over

    @property
    def sent(self) -> list[str]:
        """Addresses whose write was sent (its outcome may be unknown)."""
        return [a for w in self.writes for a in w.addresses]

    @property
    def applied(self) -> list[str]:
        """Addresses the CRM confirmed."""
        return [a for w in self.writes for a in (w.applied or [])]

    @property
    def unanswered(self) -> list[Write]:
        """Writes sent whose answer never came back: they may land, or have landed."""
        return [w for w in self.writes if w.applied is None]

    def unanswered_or_failed(self) -> list[Write]:
        """Unanswered writes and the last one (a failed request may still have landed)."""
        writes = self.unanswered
        if self.writes and self.writes[-1] not in writes:
            writes.append(self.writes[-1])
        return writes

    def describe(self) -> str:
        return (
            f"an apply by {self.actor} started {self.started} (process {self.pid} on {self.host})"
        )


_SENT = re.compile(r'"sent": "([0-9a-f]{32})"')
_REF = re.compile(r'"ref": "([0-9a-f]{32})", "remote": "([A-Za-z0-9]{1,64})"')
_HEADER = {"environment": str, "actor": str, "pid": int, "host": str, "started": str}


def _write_atomically(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    text = json.dumps(data)  # one write: json.dump() to a file writes in many small pieces
    with open(tmp, "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def _write_streamed(path: Path, data: Any) -> None:
    """A large document (plan, snapshots) written piece by piece to a temporary name, fsynced, renamed."""
    tmp = path.with_name(path.name + ".tmp")
    write_json_file(tmp, data, expand=3, durable=True)
    os.replace(tmp, path)


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


class Journal:
    """The journal of one environment (see the module docstring for its files)."""

    def __init__(self, folder: Path, env: str) -> None:
        self.env = env
        self.path = folder / f"{env}.json"
        self.data_path = folder / f"{env}.data.json"
        self.record_path = folder / f"{env}.record.json"

    def exists(self) -> bool:
        return self.path.exists() or self.path.is_symlink()

    def _damaged(self, path: Path, why: str) -> JournalDamagedError:
        return JournalDamagedError(
            f"the apply journal {path} is damaged ({why}); an earlier apply of {self.env} may "
            "not have finished, and the CRM may be half-changed",
            hint=f"run crmctl recover -e {self.env} --from-snapshot: it restores what crmctl "
            "manages to the snapshot the journal or the last version recorded",
        )

    def _load(self, path: Path) -> str:
        if not path.is_file():
            raise self._damaged(path, "not a regular file")
        if path.stat().st_size > MAX_JOURNAL_BYTES:
            raise self._damaged(path, "larger than any journal crmctl writes")
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise self._damaged(path, str(exc)) from None

    def read(self) -> JournalState | None:
        """The unfinished apply, or None; raises JournalDamagedError when it cannot be read."""
        if not self.exists():
            return None
        lines = self._load(self.path).splitlines()
        try:
            header = json.loads(lines[0]) if lines else None
        except (ValueError, RecursionError) as exc:
            raise self._damaged(self.path, f"line 1: {exc}") from None
        if not isinstance(header, dict) or any(
            not isinstance(header.get(k), t) or isinstance(header.get(k), bool)
            for k, t in _HEADER.items()
        ):
            raise self._damaged(self.path, "line 1 is not the header crmctl writes")
        writes, recording = self._events(lines)
        if not self.data_path.exists():
            raise self._damaged(self.data_path, "the file is missing")
        try:
            data = json.loads(self._load(self.data_path))
        except (ValueError, RecursionError) as exc:
            raise self._damaged(self.data_path, str(exc)) from None
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("plan"), dict)
            or not isinstance(data.get("before"), dict)
        ):
            raise self._damaged(self.data_path, "it holds no plan and snapshot")
        if not all(isinstance(v, dict) and "/" in a for a, v in data["before"].items()):
            raise self._damaged(self.data_path, "its snapshot is not one crmctl writes")
        if recording is not None:
            self.pending_record()  # the version being recorded must be readable too
            if not self.record_path.exists():
                raise self._damaged(self.record_path, "the version being recorded is missing")
        state = JournalState(
            plan=data["plan"],
            before=data["before"],
            writes=writes,
            recording=recording,
            **{k: header[k] for k in _HEADER},
        )
        return state

    def _events(self, lines: list[str]) -> tuple[list[Write], int | None]:
        writes: dict[str, Write] = {}
        recording = None
        for number, line in enumerate(lines[1:], start=2):
            try:
                event = json.loads(line)
            except (ValueError, RecursionError) as exc:
                if number == len(lines):
                    break  # the last line was being appended when the process died
                raise self._damaged(self.path, f"line {number}: {exc}") from None
            if not isinstance(event, dict):
                raise self._damaged(self.path, f"line {number} is not an event")
            if isinstance(event.get("sent"), str) and _strings(event.get("addresses")):
                writes[event["sent"]] = Write(event["sent"], event["addresses"])
            elif isinstance(event.get("ref"), str) and isinstance(event.get("remote"), str):
                if event["ref"] not in writes:
                    raise self._damaged(self.path, f"line {number}: an id of an unsent write")
                writes[event["ref"]].refs.append(event["remote"])
            elif isinstance(event.get("done"), str) and _strings(event.get("applied")):
                if event["done"] not in writes:
                    raise self._damaged(self.path, f"line {number}: an answer to an unsent write")
                writes[event["done"]].applied = event["applied"]
            elif isinstance(event.get("recording"), int) and not isinstance(
                event["recording"], bool
            ):
                recording = event["recording"]
            else:
                raise self._damaged(self.path, f"line {number} is not an event crmctl writes")
        return list(writes.values()), recording

    def start(self, state: JournalState) -> None:
        """Record an apply about to begin (data first: the progress file is what marks it unfinished)."""
        self.clear()
        _write_streamed(self.data_path, {"plan": state.plan, "before": state.before})
        _write_atomically(self.path, {k: getattr(state, k) for k in _HEADER})
        with open(self.path, "a", encoding="utf-8") as out:  # the header ends its line
            out.write("\n")

    def _append(self, event: dict[str, Any]) -> None:
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(json.dumps(event) + "\n")
            out.flush()
            os.fsync(out.fileno())

    def sent(self, state: JournalState, write: Write) -> None:
        """Record a write about to go out (before the request is sent)."""
        state.writes.append(write)
        self._append({"sent": write.write_id, "addresses": write.addresses})

    def noted(self, write: Write, ref: str) -> None:
        """Record an id the CRM gave a write in flight (a Salesforce deploy id)."""
        write.refs.append(ref)
        self._append({"ref": write.write_id, "remote": ref})

    def answered(self, state: JournalState, write: Write, applied: list[str]) -> None:
        """Record the CRM's answer to a write."""
        write.applied = applied
        self._append({"done": write.write_id, "applied": applied})

    def recording(self, state: JournalState, number: int, record: dict[str, Any]) -> None:
        """Record that the CRM work is over and version `number` is being written."""
        _write_streamed(self.record_path, record)
        state.recording = number
        self._append({"recording": number})

    def pending_record(self) -> dict[str, Any] | None:
        """The version an interrupted apply was recording, if it got that far."""
        if not self.record_path.exists():
            return None
        try:
            data = json.loads(self._load(self.record_path))
        except (ValueError, RecursionError) as exc:
            raise self._damaged(self.record_path, str(exc)) from None
        shape = {
            "meta": dict,
            "plan": dict,
            "result": dict,
            "before": dict,
            "after": dict,
            "managed": list,
            "message": str,
        }
        if not isinstance(data, dict) or any(
            not isinstance(data.get(k), t) for k, t in shape.items()
        ):
            raise self._damaged(self.record_path, "it holds no version crmctl wrote")
        return data

    def writes_anyhow(self) -> list[Write]:
        """Every write a damaged progress log still shows, to settle them before a restore."""
        try:
            if not self.path.is_file():
                return []
            with open(self.path, "rb") as raw:
                text = raw.read(MAX_JOURNAL_BYTES).decode("utf-8", "replace")
        except OSError:
            return []
        writes = {w: Write(w, []) for w in _SENT.findall(text)}
        for write_id, ref in _REF.findall(text):
            writes.setdefault(write_id, Write(write_id, [])).refs.append(ref)
        return list(writes.values())

    def clear(self) -> None:
        """Remove the journal's files, whatever stands at their paths (they are crmctl's own)."""
        for path in (self.path, self.data_path, self.record_path):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
