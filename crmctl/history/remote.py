"""Sharing one history between machines: pull before planning, push after applying,
and a lock ref on the remote so two machines never apply to one environment at once.

The lock is a commit pushed to `refs/crmctl-locks/<env>`. Pushing a new,
unrelated commit to a ref that already exists is not a fast-forward, so
the remote refuses it: whoever pushes first holds the lock. Releasing
deletes the ref, but only if it still points at our commit.
"""

from __future__ import annotations

import json
import socket
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from crmctl.errors import HistoryError
from crmctl.history.gitobjects import git_setting, write_object
from crmctl.history.lock import LockHeldError, LockInfo, parse_lock_info

if TYPE_CHECKING:
    import git

    from crmctl.history.store import HistoryStore
else:
    from crmctl.history.lazygit import git

__all__ = ["RemoteHistory"]

REMOTE = "origin"
BRANCH = "main"


class RemoteHistory:
    """The remote of a history repository."""

    def __init__(self, store: HistoryStore, url: str) -> None:
        self.store, self.url = store, url
        self._lock_sha: str | None = None
        self._current = False  # pulled, and nothing since may have let the remote move on
        self._configured = False  # the repository's remote is set to `url` (once per command)

    @property
    def repo(self) -> git.Repo:
        repo = self.store.repo
        if not self._configured:
            names = [r.name for r in repo.remotes]
            if REMOTE not in names:
                repo.create_remote(REMOTE, self.url)
            elif repo.remote(REMOTE).url != self.url:
                repo.remote(REMOTE).set_url(self.url)
            self._configured = True
        return repo

    def _remote_refs(self) -> dict[str, str]:
        """The remote's branches and tags: ref name -> object id (peeled entries left out)."""
        refs: dict[str, str] = {}
        for line in str(self.repo.git.ls_remote("--heads", "--tags", REMOTE)).splitlines():
            sha, _, name = line.partition("\t")
            if name and not name.endswith("^{}"):
                refs[name] = sha
        return refs

    def _has_all(self, remote: dict[str, str]) -> bool:
        """Whether `git fetch origin main --tags` would change nothing here: the remote-tracking
        branch is where the remote's branch is and every remote tag is here, at the same
        object (tags only this history has stay as they are, unless fetching prunes them)."""
        fmt = "%(objectname) %(refname)"
        listing = self.repo.git.for_each_ref(
            f"--format={fmt}", "refs/tags", f"refs/remotes/{REMOTE}/{BRANCH}"
        )
        local: dict[str, str] = {}
        for line in str(listing).splitlines():
            sha, _, name = line.partition(" ")
            local[name] = sha
        if local.get(f"refs/remotes/{REMOTE}/{BRANCH}") != remote.get(f"refs/heads/{BRANCH}"):
            return False
        tags = {n: s for n, s in remote.items() if n.startswith("refs/tags/")}
        if any(local.get(name) != sha for name, sha in tags.items()):
            return False
        return len(local) == len(tags) + 1 or not self._fetch_prunes()

    def _fetch_prunes(self) -> bool:
        """Whether git is configured to prune refs (or tags) when fetching from the remote."""
        for section, option in (
            ("fetch", "prune"),
            ("fetch", "prunetags"),
            (f'remote "{REMOTE}"', "prune"),
            (f'remote "{REMOTE}"', "prunetags"),
        ):
            # An unknown setting counts as pruning: the fetch runs, as it always did.
            value = git_setting(self.repo, section, option)
            if value is not None and value not in ("false", "no", "off", "0"):
                return True
        return False

    def pull(self) -> None:
        """Bring the local history up to date with the remote's.

        One command pulls once: its later pulls (the approval gate's, after the
        plan's) are no-ops until `expire` says time has passed that another
        process may have used (a confirmation prompt). A rejected push always
        pulls.
        """
        if self._current:
            return
        self._pull()
        self._current = True

    def expire(self) -> None:
        """The next `pull` fetches again (the remote may have moved on, e.g. during a prompt)."""
        self._current = False

    def _pull(self) -> None:
        with self.store.writing():  # the fetch and rebase below may move HEAD
            self._fetch_and_rebase()

    def _fetch_and_rebase(self) -> None:
        repo = self.repo
        try:
            remote = self._remote_refs()
            # As `git ls-remote --heads origin main` matched: a branch named main, or .../main.
            heads = [name for name in remote if name.startswith("refs/heads/")]
            if not any(name.endswith(f"/{BRANCH}") for name in heads):
                return
            if not self._has_all(remote):  # one fetch per pull, when anything is new
                repo.git.fetch(REMOTE, BRANCH, "--tags")
            if not repo.head.is_valid():
                repo.git.checkout("-B", BRANCH, f"{REMOTE}/{BRANCH}")
            else:
                repo.git.rebase(f"{REMOTE}/{BRANCH}")
        except git.GitCommandError as exc:
            raise HistoryError(
                f"cannot update the history from {self.url}: {exc.stderr.strip() or exc}",
                hint="check the history remote; crmctl plans against a shared history only when it is current",
            ) from None

    def push(self, tag: str) -> None:
        """Publish the new version (and its tag); rebase onto newer remote work first if needed."""
        repo = self.repo
        last = None
        for _ in range(3):
            try:
                repo.git.push(REMOTE, f"HEAD:refs/heads/{BRANCH}", f"refs/tags/{tag}")
                return
            except git.GitCommandError as exc:
                last = exc
                self._pull()
        raise HistoryError(
            f"cannot push version {tag} to the history remote {self.url}: {last.stderr.strip() if last else ''}",
            hint="the version is recorded locally; push the history repository by hand",
        )

    def push_head(self) -> None:
        """Publish commits that carry no tag (events)."""
        try:
            self.repo.git.push(REMOTE, f"HEAD:refs/heads/{BRANCH}")
        except git.GitCommandError:
            self._pull()
            self.repo.git.push(REMOTE, f"HEAD:refs/heads/{BRANCH}")

    def lock(self, env: str, holder: str, command: str, pid: int) -> None:
        """Take the remote lock of `env` or raise LockHeldError naming its holder."""
        repo = self.repo
        info = {
            "holder": holder,
            "host": socket.gethostname(),
            "pid": pid,
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": command,
            # Unique per attempt: two identical lock commits would make the second push a no-op "success".
            "nonce": uuid.uuid4().hex,
        }
        try:
            blob = write_object(repo, "blob", json.dumps(info).encode())
            tree = write_object(repo, "tree", b"100644 lock.json\0" + bytes.fromhex(blob))
            sha = repo.git.commit_tree(tree, "-m", f"lock {env} for {holder}")
        except git.GitCommandError as exc:
            raise HistoryError(f"cannot prepare the remote lock: {exc.stderr.strip()}") from None
        except (OSError, ValueError) as exc:
            raise HistoryError(f"cannot prepare the remote lock: {exc}") from None
        ref = f"refs/crmctl-locks/{env}"
        try:
            repo.git.push(REMOTE, f"{sha}:{ref}")
        except git.GitCommandError as exc:
            holder_info = self.holder(env)
            if holder_info is None:
                raise HistoryError(
                    f"cannot take the remote lock of {env}: {exc.stderr.strip()}"
                ) from None
            raise LockHeldError(
                f"environment {env} is locked on the history remote by {holder_info.describe()}",
                hint=f"wait for it to finish; if it is gone, check and run: crmctl unlock -e {env} --force",
            ) from None
        self._lock_sha = sha

    def holder(self, env: str) -> LockInfo | None:
        """Who holds the remote lock of `env`, if anyone."""
        repo = self.repo
        ref = f"refs/crmctl-locks/{env}"
        try:
            if not str(repo.git.ls_remote(REMOTE, ref)).strip():
                return None
            repo.git.fetch(REMOTE, f"+{ref}:refs/crmctl-remote-locks/{env}")
            data = json.loads(repo.git.show(f"refs/crmctl-remote-locks/{env}:lock.json"))
            if isinstance(data, dict):
                data.pop("nonce", None)
            info = parse_lock_info(data)
        except (git.GitCommandError, ValueError):
            info = None
        return info or LockInfo("unknown", "unknown", 0, "unknown", "an unreadable remote lock")

    def unlock(self, env: str, force: bool = False) -> None:
        """Release our remote lock (or anyone's, with force)."""
        ref = f"refs/crmctl-locks/{env}"
        try:
            if force:
                self.repo.git.push(REMOTE, f":{ref}")
            elif self._lock_sha:
                self.repo.git.push(f"--force-with-lease={ref}:{self._lock_sha}", REMOTE, f":{ref}")
        except git.GitCommandError as exc:
            raise HistoryError(
                f"cannot release the remote lock of {env}: {exc.stderr.strip()}"
            ) from None
        self._lock_sha = None
