"""Reading user-supplied files safely: regular files only, bounded in size, inside the project.

Every file crmctl reads on a user's say-so (manifests, environment files,
saved plans, key files) goes through `read_limited`. A FIFO would block the
read forever, `/dev/zero` would fill the memory, and a symbolic link from
`manifests/` to `/etc/shadow` would be read as configuration; each is
refused with the reason instead.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["FileRefused", "read_limited", "outside_reason", "file_kind"]


class FileRefused(Exception):
    """A file that crmctl will not read; the message says why, in the user's words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def file_kind(mode: int) -> str:
    """What a non-regular file is, for a message: 'a FIFO (named pipe)'."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def outside_reason(path: Path, root: Path) -> str | None:
    """Why `path` is not inside the folder `root` once links are followed, or None if it is."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return "it is a symbolic link that cannot be resolved (a loop?)"
    if resolved.is_relative_to(root.resolve()):
        return None
    if any(p.is_symlink() for p in (path, *path.parents) if p.is_relative_to(root)):
        return f"it is a symbolic link to {resolved}, outside the project"
    return f"it is outside the project folder {root}"


def _size(limit: int) -> str:
    if limit >= 1024 * 1024:
        return f"{limit / 1024 / 1024:g} MB"
    return f"{limit / 1024:g} KB"


def read_limited(path: Path, limit: int, root: Path | None = None) -> bytes:
    """The bytes of `path` if it is a regular file of at most `limit` bytes (inside `root`).

    Raises FileNotFoundError for a missing file, FileRefused for a file that
    must not be read, and OSError for any other I/O problem.
    """
    if root is not None:
        reason = outside_reason(path, root)
        if reason:
            raise FileRefused(reason)
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise FileRefused(f"it is {file_kind(mode)}, not a regular file")
    # O_NONBLOCK: if the file was swapped for a FIFO since the stat, open must not hang.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused(f"it is {file_kind(info.st_mode)}, not a regular file")
        if info.st_size > limit:
            raise FileRefused(
                f"it is {info.st_size / 1024 / 1024:.1f} MB; the limit is {_size(limit)}"
            )
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:  # it grew while we read it
                raise FileRefused(f"it is larger than the limit of {_size(limit)}")
        return b"".join(chunks)
    finally:
        os.close(fd)
