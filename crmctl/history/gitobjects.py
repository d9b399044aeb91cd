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

import weakref
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import git
else:
    from crmctl.history.lazygit import git

__all__ = ["open_repo", "init_repo", "write_object"]

#: Settings under which only git itself writes objects as configured, and the values
#: that leave git writing them plainly.
_GIT_WRITES = {
    ("core", "sharedrepository"): ("", "false", "umask", "no", "off", "0"),
    ("core", "fsync"): ("",),
    ("core", "fsyncobjectfiles"): ("", "false", "no", "off", "0"),
    ("extensions", "objectformat"): ("", "sha1"),
}


@cache
def _object_db() -> type:
    """GitPython's object database, storing new objects in-process when the repository allows."""
    from gitdb.db.loose import LooseObjectDB  # type: ignore[import-untyped]

    class HistoryObjectDB(git.db.GitCmdObjectDB):
        #: The repository, to read its configuration when the first object is stored.
        repo: weakref.ref[git.Repo] | None = None
        in_process: bool | None = None

        def store(self, istream: Any) -> Any:
            if self.in_process is None:
                repo = self.repo() if self.repo is not None else None
                self.in_process = repo is not None and not _git_must_write(repo)
            if self.in_process:
                return LooseObjectDB.store(self, istream)
            return super().store(istream)

    return HistoryObjectDB


def _git_must_write(repo: git.Repo) -> bool:
    """Whether the repository's configuration asks git to write objects in its own way."""
    reader = repo.config_reader()
    for (section, option), plain in _GIT_WRITES.items():
        try:
            value = str(reader.get_value(section, option, "")).strip().lower()
        except Exception:  # an unreadable configuration: git writes (and says what is wrong)
            return True
        if value not in plain:
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
