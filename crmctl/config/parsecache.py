"""The parse cache: a manifest file whose bytes did not change is not parsed again.

Entries live under the project's `.crmctl/cache/parse/`, one file per manifest
content, named by the sha256 of (this cache's format, the Python and crmctl
versions, the parser's own source, the file's bytes). Editing a file changes
its name, so a stale entry is never found; nothing is looked up by path.

Nothing read back from disk is trusted as written: every entry carries an
HMAC made with a key only this user can read (`$XDG_CACHE_HOME/crmctl/
cache.key`, else `~/.cache/crmctl/cache.key`, created on first use), and
an entry that is truncated, corrupted, written by someone else or of
another shape is ignored (and parsed again), never fatal. Without a usable
key or a writable folder the cache is simply off.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import marshal
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any

from crmctl import __version__
from crmctl.errors import Diagnostic, Severity, SourceLocation

__all__ = ["ParseCache", "open_parse_cache", "CACHE_DIR", "NO_CACHE_VARIABLE"]

#: Below the project folder.
CACHE_DIR = Path(".crmctl") / "cache" / "parse"
#: Set to 1 to turn the cache off for every command (the `--no-cache` option does it for one).
NO_CACHE_VARIABLE = "CRMCTL_NO_CACHE"
FORMAT = 3  # 3: key positions as SourceMap.packed bytes
_MAC_BYTES = 32
#: Entries unused this long are removed when new ones are written.
_STALE_SECONDS = 14 * 24 * 3600


def _key_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "crmctl" / "cache.key"


def _secret() -> bytes | None:
    """This user's cache key (created 0600 on first use), or None when none can be had."""
    path = _key_file()
    try:
        data = path.read_bytes()
        if len(data) == 32 and path.stat().st_uid == os.getuid():
            return data
        if data:
            return None  # not a key crmctl wrote: do not use it, do not replace it
    except FileNotFoundError:
        pass
    except OSError:
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key)
        return key
    except FileExistsError:  # another crmctl made it just now
        return _secret_existing(path)
    except OSError:
        return None


def _secret_existing(path: Path) -> bytes | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return data if len(data) == 32 else None


def _code_tag() -> bytes:
    """What an entry depends on besides the file: formats, versions and the parser's source."""
    from crmctl.config import yamlsource

    source = Path(yamlsource.__file__).read_bytes()
    tag = f"{FORMAT}\0{sys.version}\0{__version__}\0".encode()
    return hashlib.sha256(tag + source).digest()


class ParseCache:
    """Parsed manifest files by content hash (see the module docstring)."""

    def __init__(self, folder: Path, secret: bytes) -> None:
        self.folder = folder
        self._secret = secret
        self._tag = _code_tag()
        self.hits = 0
        self.misses = 0
        self._wrote = False

    def _name(self, raw: bytes) -> Path:
        return self.folder / (hashlib.sha256(self._tag + raw).hexdigest() + ".bin")

    def get(self, raw: bytes, file: str) -> tuple[list[Any], list[Diagnostic]] | None:
        """(documents, problems) of a file with these bytes, shown as `file`; None when absent."""
        from crmctl.config.yamlsource import SourceMap, YamlDocument

        path = self._name(raw)
        try:
            blob = path.read_bytes()
        except OSError:
            self.misses += 1
            return None
        mac, payload = blob[:_MAC_BYTES], blob[_MAC_BYTES:]
        expected = hmac.new(self._secret, payload, hashlib.sha256).digest()
        try:
            if not hmac.compare_digest(mac, expected):
                raise ValueError("not written with this user's key")
            docs_data, problem_data = marshal.loads(payload)
            docs = []
            for data, index, start, packed in docs_data:
                if not isinstance(packed, bytes):
                    raise TypeError("key positions of another shape")
                smap = SourceMap(file, start, packed=packed)
                docs.append(YamlDocument(data, index, smap))
            problems = [
                Diagnostic(
                    message,
                    SourceLocation(file, line, column) if line is not None else None,
                    address,
                    hint,
                    Severity(severity),
                    code,
                )
                for message, line, column, address, hint, severity, code in problem_data
            ]
        except (ValueError, TypeError, EOFError, KeyError):
            self.misses += 1  # damaged, foreign or of another shape: parse again
            return None
        self.hits += 1
        if time.time() - path.stat().st_mtime > _STALE_SECONDS / 2:
            os.utime(path)  # still in use: keep it past the clean-up
        return docs, problems

    def put(self, raw: bytes, file: str, docs: list[Any], problems: list[Diagnostic]) -> None:
        """Remember a parse (one whose locations all point into `file`); failures are ignored."""
        if any(p.location is not None and p.location.file != file for p in problems):
            return
        for d in docs:
            d.source.pack()
        docs_data = [(d.data, d.index, d.source.start_line, d.source.packed) for d in docs]
        problem_data = [
            (
                p.message,
                p.location.line if p.location else None,
                p.location.column if p.location else 0,
                p.address,
                p.hint,
                p.severity.value,
                p.code,
            )
            for p in problems
        ]
        try:
            payload = marshal.dumps((docs_data, problem_data))
        except ValueError:
            return  # a value marshal cannot hold: simply not cached
        mac = hmac.new(self._secret, payload, hashlib.sha256).digest()
        path = self._name(raw)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        try:
            if not self._wrote:
                self.folder.mkdir(parents=True, exist_ok=True)
                self._clean()
                self._wrote = True
            tmp.write_bytes(mac + payload)
            os.replace(tmp, path)
        except OSError:
            self._wrote = True  # an unusable folder: stop trying, keep working without it
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)

    def _clean(self) -> None:
        """Remove entries nobody used for a while (edited files leave theirs behind)."""
        now = time.time()
        try:
            for entry in os.scandir(self.folder):
                if now - entry.stat().st_mtime > _STALE_SECONDS:
                    os.unlink(entry.path)
        except OSError:
            pass


def open_parse_cache(project_dir: Path, use: bool = True) -> ParseCache | None:
    """The project's parse cache, or None when turned off or unusable."""
    if not use or os.environ.get(NO_CACHE_VARIABLE, "") not in ("", "0"):
        return None
    secret = _secret()
    if secret is None:
        return None
    return ParseCache(project_dir / CACHE_DIR, secret)
