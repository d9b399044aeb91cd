"""The history store: a git repository with one commit (and tag) per apply.

Layout, per environment::

    <env>/managed.json                  addresses crmctl manages (created or adopted)
    <env>/versions/000012/meta.json     version, when, who, status, summary, crmctl version
    <env>/versions/000012/plan.json     the plan that was applied
    <env>/versions/000012/result.json   per-change result
    <env>/versions/000012/before.json   live snapshot before (address -> spec)
    <env>/versions/000012/after.json    live snapshot after

    <env>/versions/000012/managed.json  what crmctl managed after it
    <env>/versions/000012/labels.json   labels the CRM does not store, as applied (if any)
    <env>/labels.json                   the same, as of the latest version that recorded them
    <env>/events.jsonl                  lock take-overs and forced unlocks

Each version is tagged `<env>/v<N>`. Local working state that must not be
shared (locks, apply journals) lives in `.state/`, which git ignores.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmctl.errors import HistoryError
from crmctl.history.gitobjects import init_repo, open_repo
from crmctl.history.jsonstream import write_json_file

if TYPE_CHECKING:
    import git
else:
    from crmctl.history.lazygit import git

__all__ = ["HistoryStore", "Actor", "VersionRecord", "current_actor"]

#: Below this much free disk, an apply is refused before it starts (its version might not fit).
MIN_FREE_BYTES = 64 << 20


#: The largest history file read back (a snapshot of a very large org stays well below).
MAX_HISTORY_FILE_BYTES = 1 << 30

_REPAIR = "restore it from the history's git log (git -C <history> checkout -- <file>)"


def read_json(path: Path, what: str) -> Any:
    """A JSON file crmctl wrote into the history, read defensively (regular files only)."""
    try:
        if not path.is_file():
            raise HistoryError(f"{what} {path} is not a regular file", hint=_REPAIR)
        if path.stat().st_size > MAX_HISTORY_FILE_BYTES:
            raise HistoryError(f"{what} {path} is larger than any file crmctl writes", hint=_REPAIR)
        return json.loads(path.read_text(encoding="utf-8"))
    except HistoryError:
        raise
    except (OSError, ValueError, RecursionError) as exc:
        raise HistoryError(f"{what} {path} is unreadable: {exc}", hint=_REPAIR) from None


def _address_set(path: Path) -> set[str]:
    """A history file holding a list of addresses, checked."""
    data = read_json(path, "history file")
    if not isinstance(data, list) or not all(isinstance(a, str) for a in data):
        raise HistoryError(
            f"history file {path} is damaged: it should hold a list of addresses", hint=_REPAIR
        )
    return set(data)


@dataclass(frozen=True)
class Actor:
    """Who applied: shown in history and used as the commit author."""

    name: str
    email: str

    def __str__(self) -> str:
        return self.email


def current_actor(project_dir: Path | None = None) -> Actor:
    """$CRMCTL_ACTOR (an email or a name), else the project's git identity, else user@host."""
    value = os.environ.get("CRMCTL_ACTOR")
    if value:
        return Actor(
            value.split("@")[0], value if "@" in value else f"{value}@{socket.gethostname()}"
        )
    if project_dir is not None:
        try:
            reader = git.Repo(project_dir, search_parent_directories=True).config_reader()
            email = reader.get_value("user", "email", "")
            if email:
                return Actor(str(reader.get_value("user", "name", email)), str(email))
        except (git.InvalidGitRepositoryError, git.NoSuchPathError, OSError, ValueError):
            pass
    user = os.environ.get("USER") or "crmctl"
    return Actor(user, f"{user}@{socket.gethostname()}")


@dataclass
class VersionRecord:
    """One recorded apply, as written into the history."""

    environment: str
    meta: dict[str, Any]
    # Read back (`version`): dicts. Being recorded: plan and snapshots may be Streamed
    # (crmctl.history.jsonstream), produced while they are written and never held whole.
    plan: Any
    result: dict[str, Any]
    before: Any
    after: Any
    #: address -> {key: value} of the spec keys the CRM does not store (labels crmctl keeps
    #: in git, `providers.base.LeavesKeysUnstored`) as this version left them; None: the
    #: provider stores every key, and the environment's labels file is left as it is.
    labels: dict[str, dict[str, Any]] | None = None


#: How deep each history file is written one entry a line (deeper values: one line each):
#: a snapshot one resource a line, a plan one change a line.
_EXPAND = {"before.json": 1, "after.json": 1, "plan.json": 2, "result.json": 2}


def _dump(path: Path, data: Any) -> None:
    write_json_file(path, data, expand=_EXPAND.get(path.name, 1))


#: Statuses of versions that left the CRM as it was before them.
UNCHANGED = frozenset({"no changes", "failed, restored", "interrupted, restored"})
#: Statuses of versions after which the CRM matched what they planned.
LIVE = frozenset({"applied", "governance settings applied"})


class HistoryStore:
    """Read and append the versions of environments in one git repository."""

    def __init__(self, path: Path, remote: str | None = None) -> None:
        self.path = path
        self._repo: git.Repo | None = None
        #: env -> the versions HEAD's commit holds, read once while HEAD stays where it is
        #: (forgotten whenever this store commits or pulls: `head_moved`).
        self._committed: dict[str, frozenset[int]] = {}
        from crmctl.history.remote import RemoteHistory

        self.remote = RemoteHistory(self, remote) if remote else None

    @property
    def state_dir(self) -> Path:
        """Local, unshared working state: locks and journals."""
        return self.path / ".state"

    @property
    def repo(self) -> git.Repo:
        if self._repo is None:
            if shutil.which(git.Git.GIT_PYTHON_GIT_EXECUTABLE or "git") is None:
                raise HistoryError(
                    "git is required for this command (crmctl keeps each environment's history "
                    "of applies in a git repository), and no git program was found",
                    hint="install git (e.g. apt-get install git), or set GIT_PYTHON_GIT_EXECUTABLE "
                    "to its path; crmctl validate, lint and schema work without it",
                )
            try:
                if (self.path / ".git").exists():
                    self._repo = open_repo(self.path)
                else:
                    self.path.mkdir(parents=True, exist_ok=True)
                    self._repo = init_repo(self.path)
                    exclude = self.path / ".git" / "info" / "exclude"
                    exclude.parent.mkdir(parents=True, exist_ok=True)
                    exclude.write_text(".state/\n", encoding="utf-8")
            except git.InvalidGitRepositoryError:
                raise HistoryError(
                    f"cannot open the history repository {self.path}: its .git folder is "
                    "damaged (HEAD or its objects cannot be read)",
                    hint=f"repair it with git (git -C {self.path} status), or clone it again "
                    "from the history remote",
                ) from None
            except (git.GitError, OSError) as exc:
                raise HistoryError(
                    f"cannot open the history repository {self.path}: {exc}"
                ) from None
        return self._repo

    def _env_dir(self, env: str) -> Path:
        return self.path / env

    def managed(self, env: str) -> set[str]:
        """Addresses crmctl manages in `env` (empty before the first apply)."""
        path = self._env_dir(env) / "managed.json"
        if not (path.exists() or path.is_symlink()):
            return set()
        return _address_set(path)

    def latest_version(self, env: str) -> int:
        folder = self._env_dir(env) / "versions"
        if not folder.is_dir():
            return 0
        numbers = [int(p.name) for p in folder.iterdir() if p.name.isdigit()]
        return max(numbers, default=0)

    def versions(self, env: str) -> list[dict[str, Any]]:
        """The `meta` of every version of `env`, oldest first."""
        folder = self._env_dir(env) / "versions"
        if not folder.is_dir():
            return []
        out = []
        committed = self._committed_numbers(env)
        for path in sorted(p for p in folder.iterdir() if p.name.isdigit()):
            if int(path.name) not in committed:
                continue  # files a recording left without a commit are not a version (yet)
            meta = read_json(path / "meta.json", f"version {int(path.name)} of {env}:")
            if (
                not isinstance(meta, dict)
                or meta.get("version") != int(path.name)
                or not isinstance(meta.get("status"), str)
            ):
                raise HistoryError(
                    f"version {int(path.name)} of {env} is damaged: {path / 'meta.json'} is not "
                    "the version's record",
                    hint=_REPAIR,
                )
            out.append(meta)
        return out

    def approvals_used(self, env: str) -> set[str]:
        """Ids of the approval records spent by versions that changed the CRM, and of every
        break-glass record used (approvals are single-use).

        A failed apply that was restored changed nothing, so its approvals stay valid.
        """
        used = set()
        for meta in self.versions(env):
            if isinstance(meta.get("breakGlass"), dict):
                used.add(meta["breakGlass"].get("id"))
            if meta.get("status") in UNCHANGED or not isinstance(meta.get("approvals"), list):
                continue
            used.update(a.get("id") for a in meta["approvals"] if isinstance(a, dict))
        return {u for u in used if isinstance(u, str) and u}

    def governance_baseline(self, env: str) -> tuple[dict[str, Any] | None, int | None]:
        """The governance settings `env` was last applied with, and the version that recorded them."""
        for meta in reversed(self.versions(env)):
            if isinstance(meta.get("governance"), dict):
                return meta["governance"], meta.get("version")
        return None, None

    def last_complete_apply(self, env: str) -> str | None:
        """The project commit of the latest apply that made the whole CRM match the manifests."""
        for meta in reversed(self.versions(env)):
            if meta.get("complete") and meta.get("status") in LIVE and meta.get("projectCommit"):
                return meta["projectCommit"]
        return None

    def break_glass_applies(self, env: str) -> list[tuple[dict[str, Any], int, str]]:
        """(break-glass record, version, status) of every break-glass apply of `env`, oldest first."""
        return [
            (meta["breakGlass"], meta.get("version", 0), meta.get("status", ""))
            for meta in self.versions(env)
            if isinstance(meta.get("breakGlass"), dict)
        ]

    def managed_at(self, env: str, number: int) -> set[str]:
        """What crmctl managed right after version `number`."""
        path = self._env_dir(env) / "versions" / f"{number:06d}" / "managed.json"
        if not path.exists():
            return set(self.version(env, number).after)
        return _address_set(path)

    def record_event(self, env: str, event: dict[str, Any], actor: Actor, message: str) -> None:
        """Append an event (a forced unlock…) to the environment's event log and commit it."""
        path = self._env_dir(env) / "events.jsonl"
        with self.writing():
            self._record_event(path, env, event, actor, message)
        if self.remote is not None:
            self.remote.push_head()

    def _record_event(
        self, path: Path, env: str, event: dict[str, Any], actor: Actor, message: str
    ) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as out:
                out.write(json.dumps({**event, "actor": actor.email}, sort_keys=True) + "\n")
            self._reset_index()  # what an interrupted commit staged is not this event's
            self.repo.index.add([str(path.relative_to(self.path))])
            who = git.Actor(actor.name, actor.email)
            self.head_moved()
            self.repo.index.commit(f"{env}: {message}", author=who, committer=who)
        except (git.GitError, OSError, ValueError) as exc:
            raise HistoryError(f"cannot record an event of {env} in {self.path}: {exc}") from None

    def labels(self, env: str) -> dict[str, dict[str, Any]] | None:
        """The labels the CRM does not store, as the latest version that recorded them left
        them (address -> {key: value}); None before any version recorded labels."""
        return self._labels_file(self._env_dir(env) / "labels.json")

    @staticmethod
    def _labels_file(path: Path) -> dict[str, dict[str, Any]] | None:
        if not (path.exists() or path.is_symlink()):
            return None
        data = read_json(path, "history file")
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise HistoryError(
                f"history file {path} is damaged: it should map addresses to labels",
                hint=_REPAIR,
            )
        return data

    def labels_from_plans(
        self, env: str, keys: dict[str, frozenset[str]]
    ) -> dict[str, dict[str, Any]]:
        """The labels (`keys`: kind -> keys) as the applied plans left them, oldest first:
        for a history written before versions recorded labels.json. A change's `after`
        sets its resource's labels, a delete drops them; versions that left the CRM as it
        was, and rollbacks (their plans carried no labels then), change nothing."""
        out: dict[str, dict[str, Any]] = {}
        folder = self._env_dir(env) / "versions"
        for meta in self.versions(env):
            status = str(meta.get("status"))
            if status in UNCHANGED or meta.get("rollbackTo") or "restore" in status:
                continue  # the CRM went back (or partly back): the labels stay as they were
            where = folder / f"{meta['version']:06d}"
            what = f"version v{meta['version']} of {env}:"
            plan = read_json(where / "plan.json", what)
            applied: set[str] | None = None  # None: every change of the plan took effect
            if status not in LIVE:  # partial: only what the result lists as applied
                result = read_json(where / "result.json", what)
                rows = result.get("changes") if isinstance(result, dict) else None
                applied = {
                    r["address"]
                    for r in (rows if isinstance(rows, list) else [])
                    if isinstance(r, dict) and r.get("result") == "applied"
                }
            changes = plan.get("changes") if isinstance(plan, dict) else None
            for change in changes if isinstance(changes, list) else []:
                if not isinstance(change, dict) or not isinstance(change.get("address"), str):
                    continue
                if applied is not None and change["address"] not in applied:
                    continue
                address, after = change["address"], change.get("after")
                wanted = keys.get(address.partition("/")[0])
                if not wanted:
                    continue
                if isinstance(after, dict):
                    out[address] = {k: after[k] for k in wanted if k in after}
                else:
                    out.pop(address, None)
        return out

    def version_labels(self, env: str, number: int) -> dict[str, dict[str, Any]] | None:
        """The labels version `number` recorded (its labels.json); None if it recorded none."""
        return self._labels_file(self._env_dir(env) / "versions" / f"{number:06d}" / "labels.json")

    def events(self, env: str) -> list[dict[str, Any]]:
        """The environment's recorded events, oldest first, as HEAD's commit holds them."""
        repo = self.repo
        try:
            if not repo.head.is_valid():
                return []
            blob = repo.head.commit.tree / f"{env}/events.jsonl"
            text = blob.data_stream.read().decode("utf-8")
        except KeyError:
            return []
        except (git.GitError, ValueError, UnicodeDecodeError) as exc:
            raise HistoryError(f"cannot read the events of {env} in {self.path}: {exc}") from None
        out = []
        for line in text.splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                out.append(event)
        return out

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """One process at a time changes the repository's index and HEAD.

        Environment locks keep two applies to one environment apart, but environments
        share the history repository: two recordings at once (of `dev` and `prod`) would
        each stage on the index the other just committed from, and one commit would drop
        the other's version from HEAD. Held while a version or an event is committed and
        while a pull moves HEAD; HEAD is read afresh inside.
        """
        path = Path(self.repo.git_dir) / "crmctl-write.lock"
        try:
            handle = path.open("a")
        except OSError as exc:
            raise HistoryError(f"cannot lock the history repository {self.path}: {exc}") from None
        with handle:
            try:
                import fcntl
            except ImportError:  # pragma: no cover - not POSIX: no lock between processes
                pass
            else:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # released when the file closes
            self.head_moved()
            yield

    def _reset_index(self) -> None:
        """Unstage anything an interrupted commit left staged (the working tree is untouched)."""
        repo = self.repo
        if repo.head.is_valid():
            repo.index.reset(commit="HEAD")

    def committed(self, env: str, number: int) -> bool:
        """Whether version `number` of `env` is in a commit (its files may exist without one)."""
        return number in self._committed_numbers(env)

    def head_moved(self) -> None:
        """HEAD may have moved (this store committed, or pulled): read it again when asked."""
        self._committed.clear()

    def _committed_numbers(self, env: str) -> frozenset[int]:
        """The versions of `env` that HEAD's commit holds.

        One command asks this many times (every read of the versions does); HEAD is
        read once, and again after this store moved it. Each command opens its own store.
        """
        if env not in self._committed:
            self._committed[env] = self._read_committed_numbers(env)
        return self._committed[env]

    def _read_committed_numbers(self, env: str) -> frozenset[int]:
        repo = self.repo
        try:
            if not repo.head.is_valid():
                return frozenset()
            folder = repo.head.commit.tree / f"{env}/versions"
        except KeyError:
            return frozenset()
        except (git.GitError, ValueError) as exc:
            raise HistoryError(f"cannot read the history repository {self.path}: {exc}") from None
        return frozenset(
            int(entry.name)
            for entry in folder.trees
            if entry.name.isdigit() and "meta.json" in {b.name for b in entry.blobs}
        )

    def preflight(self, env: str) -> int:
        """Check, before the CRM is touched, that the next version can be recorded; its number.

        Refuses a history a version could not be written to: unreadable, a stale
        `index.lock` of a crashed git, a damaged HEAD, the next version's tag taken,
        files of a version no commit holds, or a nearly full disk.
        """
        where = f"the history repository {self.path}"
        try:
            repo = self.repo
            if (Path(repo.git_dir) / "index.lock").exists():
                raise HistoryError(
                    f"{where} is locked by {Path(repo.git_dir) / 'index.lock'} (a git command "
                    "crashed or is still running); nothing was applied",
                    hint="if no git command is running, remove that file and apply again",
                )
            if not repo.head.is_valid() and any(repo.iter_commits("--all", max_count=1)):
                raise HistoryError(
                    f"{where} has a damaged HEAD; nothing was applied",
                    hint=f"repair it with git (git -C {self.path} status), then apply again",
                )
            number = self.latest_version(env) + 1
            if number > 1 and not self.committed(env, number - 1):
                stray = self._env_dir(env) / "versions" / f"{number - 1:06d}"
                raise HistoryError(
                    f"version v{number - 1} of {env} was being recorded when crmctl stopped; "
                    "nothing was applied",
                    hint=f"run crmctl recover -e {env} to finish recording it (if it says there "
                    f"is nothing to recover, no commit holds {stray}: remove that folder)",
                )
            tag = f"{env}/v{number}"
            if tag in {t.name for t in repo.tags}:
                raise HistoryError(
                    f"{where} already has a tag {tag}, which the next version would need; "
                    "nothing was applied",
                    hint=f"remove the stray tag (git -C {self.path} tag -d {tag}) if no version "
                    "holds it, then apply again",
                )
        except HistoryError:
            raise
        except (git.GitError, OSError, ValueError) as exc:
            raise HistoryError(f"{where} cannot be used: {exc}; nothing was applied") from None
        free = shutil.disk_usage(self.path).free
        if free < MIN_FREE_BYTES:
            raise HistoryError(
                f"only {free // (1 << 20)} MiB free where {where} is; nothing was applied",
                hint="free some disk space, then apply again",
            )
        return number

    def record(
        self,
        record: VersionRecord,
        managed: set[str],
        actor: Actor,
        message: str,
        number: int | None = None,
        *,
        finishing: bool = False,
    ) -> int:
        """Write a new version and commit it (and push it, with a remote); return its number.

        `number` is the number `preflight` gave. With `finishing`, it is a version an
        interrupted apply was recording (`recover`): files it left are replaced, and a
        commit that was made but not tagged is tagged. Without, a version `number` that
        a commit holds already was recorded by another apply meanwhile (only a forced
        unlock lets two run at once): this one becomes the next version, so that neither
        record replaces the other.
        """
        with self.writing():
            env = record.environment
            if number is not None and not finishing and self.committed(env, number):
                number = max(self.latest_version(env), number) + 1
            number = self._record(record, managed, actor, message, number)
        if self.remote is not None:
            self.remote.push(f"{record.environment}/v{number}")
        return number

    def _record(
        self,
        record: VersionRecord,
        managed: set[str],
        actor: Actor,
        message: str,
        number: int | None,
    ) -> int:
        """`record`, inside `writing` (the push comes after)."""
        env = record.environment
        if number is not None and self.committed(env, number):
            tag = f"{env}/v{number}"
            meta_path = f"{env}/versions/{number:06d}/meta.json"
            try:
                if tag not in {t.name for t in self.repo.tags}:
                    # The commit that added the version, not HEAD (an event may have come since).
                    added = next(self.repo.iter_commits(paths=meta_path, max_count=1))
                    self.repo.create_tag(tag, ref=added)
            except (git.GitError, OSError, ValueError) as exc:
                raise HistoryError(f"cannot tag version {number} of {env}: {exc}") from None
            return number
        if number is None:
            number = self.latest_version(env) + 1
        folder = self._env_dir(env) / "versions" / f"{number:06d}"
        meta = {**record.meta, "version": number, "environment": env, "actor": actor.email}
        files = {
            "meta.json": meta,
            "plan.json": record.plan,
            "result.json": record.result,
            "before.json": record.before,
            "after.json": record.after,
            "managed.json": sorted(managed),
        }
        shared: dict[str, Any] = {
            "managed.json": sorted(managed)
        }  # the environment's current files
        if record.labels is not None:
            files["labels.json"] = record.labels
            shared["labels.json"] = record.labels
        repo = self.repo
        try:
            self._reset_index()
            if folder.exists():
                shutil.rmtree(folder)  # left by a recording that was interrupted
            for name, data in files.items():
                _dump(folder / name, data)
            for name, data in shared.items():
                _dump(self._env_dir(env) / name, data)
            paths = [str((folder / n).relative_to(self.path)) for n in files]
            paths.extend(str((self._env_dir(env) / n).relative_to(self.path)) for n in shared)
            repo.index.add(paths)
            who = git.Actor(actor.name, actor.email)
            self.head_moved()
            repo.index.commit(f"{env} v{number}: {message}", author=who, committer=who)
            repo.create_tag(f"{env}/v{number}")
        except (git.GitError, OSError, ValueError) as exc:
            raise HistoryError(
                f"cannot record version {number} of {env} in {self.path}: {exc}"
            ) from None
        return number

    def version(self, env: str, number: int) -> VersionRecord:
        """Read a recorded version back."""
        folder = self._env_dir(env) / "versions" / f"{number:06d}"
        if not folder.is_dir():
            raise HistoryError(
                f"{env} has no version v{number}", hint="crmctl history lists the versions"
            )
        data = {}
        for name in ("meta", "plan", "result", "before", "after"):  # managed.json: see managed_at
            data[name] = read_json(folder / f"{name}.json", f"version v{number} of {env}:")
            if not isinstance(data[name], dict):
                raise HistoryError(
                    f"version v{number} of {env} is damaged: {folder / name}.json holds no object",
                    hint=_REPAIR,
                )
        for name in ("before", "after"):
            if not all(isinstance(v, dict) and "/" in a for a, v in data[name].items()):
                raise HistoryError(
                    f"version v{number} of {env} is damaged: {folder / name}.json is not a "
                    "snapshot",
                    hint=_REPAIR,
                )
        return VersionRecord(env, **data)
