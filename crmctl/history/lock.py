"""One apply (or rollback, or recover) per environment at a time.

The lock is a file created with O_EXCL next to the history repository, so
of two processes starting together exactly one gets it. It records holder,
host, process and time; a lock whose process is gone on the same host is
stale and is taken over (the take-over is reported). With a history remote
the lock must also hold across machines: crmctl pushes a ref
`refs/crmctl-locks/<env>` to the remote, which the remote refuses while
someone else's lock ref exists (see `RemoteLock` in store.py).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import socket
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from crmctl.errors import CrmctlError

__all__ = ["LockInfo", "EnvironmentLock", "LockHeldError", "parse_lock_info", "process_alive"]


class LockHeldError(CrmctlError):
    """Someone else is applying to this environment."""


#: A lock file is a few hundred bytes; anything much larger is not one crmctl wrote.
_MAX_LOCK_BYTES = 64 * 1024
_FIELDS = {"holder": str, "host": str, "pid": int, "since": str, "command": str}


def parse_lock_info(data: object) -> LockInfo | None:
    """A lock file's content, checked; None when it is not what crmctl writes."""
    if not isinstance(data, dict) or set(data) != set(_FIELDS):
        return None
    for key, kind in _FIELDS.items():
        if not isinstance(data[key], kind) or isinstance(data[key], bool):
            return None
    if not 0 < data["pid"] < 2**31:
        return None
    return LockInfo(**data)


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host."""
    if not 0 < pid < 2**31:
        return False  # 0 and negative ids name process groups, not a process
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class LockInfo:
    """Who holds a lock."""

    holder: str
    host: str
    pid: int
    since: str
    command: str

    def describe(self) -> str:
        if self.pid == 0:  # a lock file that could not be read: its command says which
            return self.command
        return (
            f"{self.holder} ({self.command}, process {self.pid} on {self.host}, since {self.since})"
        )

    @property
    def stale(self) -> bool:
        """The holder's process is gone (only knowable on the same host)."""
        return self.host == socket.gethostname() and not process_alive(self.pid)


class EnvironmentLock:
    """The lock file of one environment; a context manager that acquires and releases it."""

    def __init__(self, folder: Path, env: str, holder: str, command: str) -> None:
        self.path = folder / f"{env}.lock"
        self.env, self.holder, self.command = env, holder, command
        self.taken_over: LockInfo | None = None
        self._mine = False

    def read(self) -> LockInfo | None:
        """The current holder, or None when the environment is not locked."""
        if not (self.path.exists() or self.path.is_symlink()):
            return None
        # A lock file we cannot read is still a lock: never assume it away.
        unreadable = LockInfo(
            "unknown", "unknown", 0, "unknown", f"a lock file crmctl cannot read ({self.path})"
        )
        try:
            if not self.path.is_file() or self.path.stat().st_size > _MAX_LOCK_BYTES:
                return unreadable
            return parse_lock_info(json.loads(self.path.read_text(encoding="utf-8"))) or unreadable
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return unreadable

    def acquire(self) -> None:
        """Take the lock or raise LockHeldError naming the holder; take over a stale one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        info = LockInfo(
            self.holder,
            socket.gethostname(),
            os.getpid(),
            datetime.now(UTC).isoformat(timespec="seconds"),
            self.command,
        )
        # The content is written first and linked into place: link() fails when the lock
        # exists, and a reader never sees a lock file without its holder in it.
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
        with open(tmp, "w", encoding="utf-8") as out:
            json.dump(asdict(info), out)
            out.flush()
            os.fsync(out.fileno())
        try:
            for _ in range(3):
                try:
                    os.link(tmp, self.path)
                except FileExistsError:
                    current = self.read()
                    if current is None:
                        continue  # released between our two looks
                    if current.stale and self._break(current):
                        self.taken_over = current
                        continue
                    raise LockHeldError(
                        f"environment {self.env} is locked by {current.describe()}",
                        hint=f"wait for it to finish; if it is gone, check and run: crmctl unlock -e {self.env} --force",
                    ) from None
                self._mine = True
                return
        finally:
            tmp.unlink(missing_ok=True)
        raise LockHeldError(f"environment {self.env} is locked; could not take over its stale lock")

    def _break(self, stale: LockInfo) -> bool:
        """Move a stale lock aside; only one of several racing processes succeeds."""
        aside = self.path.with_name(f"{self.path.name}.stale.{os.getpid()}")
        try:
            os.rename(self.path, aside)
        except OSError as exc:
            return exc.errno == errno.ENOENT  # someone else moved it: try to create ours
        try:
            moved = parse_lock_info(json.loads(aside.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            moved = None
        if moved != stale:  # we moved a fresh lock that replaced the stale one: put it back
            with contextlib.suppress(OSError):
                os.link(aside, self.path)
            aside.unlink(missing_ok=True)
            return False
        aside.unlink(missing_ok=True)
        return True

    def release(self) -> None:
        if self._mine:
            self.path.unlink(missing_ok=True)
            self._mine = False

    def force_release(self) -> LockInfo | None:
        """Remove the lock whoever holds it (for `crmctl unlock --force`); return who held it."""
        current = self.read()
        if self.path.is_dir() and not self.path.is_symlink():
            shutil.rmtree(self.path)  # not a lock crmctl made, but in crmctl's own folder
        else:
            self.path.unlink(missing_ok=True)
        return current

    def __enter__(self) -> EnvironmentLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
