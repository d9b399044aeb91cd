"""GitPython, imported when a command first touches a repository.

Importing `git` costs tens of milliseconds and runs `git version` twice; a
plan of a project without history, or a command that never opens a
repository, should not pay for it. Modules write

    if TYPE_CHECKING:
        import git
    else:
        from crmctl.history.lazygit import git

and use `git.Repo`, `git.GitError`… as usual: the first attribute read imports
GitPython (`except (git.GitError, OSError)` reads it only when an exception
is being matched).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["git"]


class _LazyGit:
    """Stands for the `git` module; each attribute is read from it, importing it once."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        return getattr(importlib.import_module("git"), name)


git: Any = _LazyGit()
