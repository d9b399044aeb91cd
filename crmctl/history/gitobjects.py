"""The history repository opened so that new git objects are written without starting git.

GitPython stores every new object (each file `index.add` stages, each
commit) by running `git hash-object -w --stdin --literally`: one process per
file, about a dozen per recorded version. A loose object is a zlib-deflated
`<type> <size>\\0<content>` named by its SHA-1, which gitdb (GitPython's
own object store) writes in-process: the same object, under the same id,
that git would write. Reading objects still goes through git.

Git is left to write objects itself wherever its configuration changes how
it writes them: a shared repository (group permissions on new objects and
folders), objects fsynced (`core.fsync`, `core.fsyncObjectFiles`), or an
object format other than SHA-1.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import weakref
import zlib
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import git
else:
    from crmctl.history.lazygit import git

__all__ = ["UNKNOWN", "git_setting", "open_repo", "init_repo", "write_object"]

#: Settings under which only git itself writes objects as configured, and the values
#: that leave git writing them plainly (a key without a value means true to git).
_GIT_WRITES = {
    ("core", "sharedrepository"): ("false", "umask", "no", "off", "0"),
    ("core", "fsync"): ("none",),
    ("core", "fsyncobjectfiles"): ("false", "no", "off", "0"),
    ("extensions", "objectformat"): ("sha1",),
}
#: Read at most this much of an object at a time while writing it (snapshots reach 1 GiB).
_CHUNK = 1 << 20
#: Deflated objects up to this size are spooled in memory before they are written.
_SPOOL_IN_MEMORY = 8 << 20


@cache
def _object_db() -> type:
    """GitPython's object database, storing new objects in-process when the repository allows."""

    class HistoryObjectDB(git.db.GitCmdObjectDB):
        #: The repository, to read its configuration when the first object is stored.
        repo: weakref.ref[git.Repo] | None = None
        in_process: bool | None = None

        def store(self, istream: Any) -> Any:
            if self.in_process is None:
                repo = self.repo() if self.repo is not None else None
                self.in_process = repo is not None and not _git_must_write(repo)
            if self.in_process:
                istream.binsha = _store_loose(Path(self.root_path()), istream)
                return istream
            return super().store(istream)

    return HistoryObjectDB


def _store_loose(objects: Path, istream: Any) -> bytes:
    """Write `istream` as a loose object under `objects`, as git does; its binary id.

    The object goes to a `tmp_obj_*` file in its fan-out folder (git's own name for
    one, so a crash leaves nothing `git gc` would not remove), read-only, then is
    linked to its name. An object that exists already is kept as it is, whoever owns
    it (only its time is touched, as git does, and a refusal is no error).
    """
    # Its id is known only once it is read, so it is deflated into a spool first: in memory
    # for the usual object, on disk (beside the objects) for a large snapshot.
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY, dir=str(objects)) as spool:
        if istream.binsha is not None:
            # gitdb's convention: an id given with the stream means the stream is the object
            # already deflated (GitPython copies the trees it built in memory this way).
            hexsha = bytes(istream.binsha).hex()
            shutil.copyfileobj(istream, spool, _CHUNK)
        else:
            kind = istream.type if isinstance(istream.type, bytes) else str(istream.type).encode()
            header = b"%s %d\0" % (kind, istream.size)
            digest = hashlib.sha1(header)
            deflate = zlib.compressobj(zlib.Z_BEST_SPEED)  # git's core.looseCompression
            spool.write(deflate.compress(header))
            while chunk := istream.read(_CHUNK):
                digest.update(chunk)
                spool.write(deflate.compress(chunk))
            spool.write(deflate.flush())
            hexsha = digest.hexdigest()
        folder = objects / hexsha[:2]
        target = folder / hexsha[2:]
        if target.exists():
            with contextlib.suppress(OSError):
                os.utime(target)
            return bytes.fromhex(hexsha)
        folder.mkdir(exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix="tmp_obj_", dir=folder)
        try:
            os.fchmod(fd, 0o444)
            spool.seek(0)
            with os.fdopen(fd, "wb", closefd=False) as out:
                shutil.copyfileobj(spool, out)
            try:
                os.link(temp, target)
            except FileExistsError:
                pass  # written meanwhile by another process: the same bytes
            except OSError:  # a file system without hard links: git renames there too
                os.replace(temp, target)
        finally:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(temp)
    return bytes.fromhex(hexsha)


#: What `git_setting` answers when git may read a setting otherwise than from the files.
UNKNOWN = "?"


def git_setting(repo: git.Repo, section: str, option: str) -> str | None:
    """A setting of `repo` as git would read it from its configuration files, lower-cased:
    None when unset, "true" for a key written without a value (git's reading of it).

    UNKNOWN when the files cannot be read, or when git may be told otherwise through the
    environment (`git -c`, GIT_CONFIG_*), which GitPython does not read.
    """
    if any(name.startswith("GIT_CONFIG") for name in os.environ):
        return UNKNOWN
    try:
        reader = repo.config_reader()
        if not reader.has_option(section, option):
            return None
        value = str(reader.get_value(section, option, "")).strip().lower()
    except Exception:
        return UNKNOWN
    return value or "true"


def _git_must_write(repo: git.Repo) -> bool:
    """Whether the repository's configuration asks git to write objects in its own way
    (an unknown setting included: then git writes, and says what is wrong)."""
    for (section, option), plain in _GIT_WRITES.items():
        value = git_setting(repo, section, option)
        if value is not None and value not in plain:
            return True
    return False


def _ready(repo: git.Repo) -> git.Repo:
    repo.odb.repo = weakref.ref(repo)
    return repo


def open_repo(path: Path) -> git.Repo:
    """The repository at `path` (as `git.Repo(path)`)."""
    return _ready(git.Repo(path, odbt=_object_db()))


def init_repo(path: Path) -> git.Repo:
    """A new repository at `path` on branch main (as `git.Repo.init`)."""
    return _ready(git.Repo.init(path, initial_branch="main", odbt=_object_db()))


def write_object(repo: git.Repo, kind: str, data: bytes) -> str:
    """Store a `kind` object (blob, tree...) holding `data` in `repo`; its id (hex)."""
    from gitdb.base import IStream  # type: ignore[import-untyped]

    stored = repo.odb.store(IStream(kind, len(data), BytesIO(data)))
    return str(stored.hexsha.decode("ascii"))
