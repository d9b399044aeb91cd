"""The history store: a git repository with one commit (and tag) per apply.

Layout, per environment::

    <env>/managed.json                  addresses crmctl manages (created or adopted)
    <env>/versions/000012/meta.json     version, when, who, status, summary, crmctl version
    <env>/versions/000012/plan.json     the plan that was applied
    <env>/versions/000012/result.json   per-change result
    <env>/versions/000012/before.json   live snapshot before (address -> spec)
    <env>/versions/000012/after.json    live snapshot after

    <env>/versions/000012/managed.json  what crmctl managed after it
    <env>/events.jsonl                  lock take-overs and forced unlocks

Each version is tagged `<env>/v<N>`. Local working state that must not be
shared (locks, apply journals) lives in `.state/`, which git ignores.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import git

from crmctl.errors import HistoryError

__all__ = ["HistoryStore", "Actor", "VersionRecord", "current_actor"]


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
    plan: dict[str, Any]
    result: dict[str, Any]
    before: dict[str, Any]
    after: dict[str, Any]


def _dump(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )


#: Statuses of versions that left the CRM as it was before them.
UNCHANGED = frozenset({"no changes", "failed, restored", "interrupted, restored"})
#: Statuses of versions after which the CRM matched what they planned.
LIVE = frozenset({"applied", "governance settings applied"})


class HistoryStore:
    """Read and append the versions of environments in one git repository."""

    def __init__(self, path: Path, remote: str | None = None) -> None:
        self.path = path
        self._repo: git.Repo | None = None
        from crmctl.history.remote import RemoteHistory

        self.remote = RemoteHistory(self, remote) if remote else None

    @property
    def state_dir(self) -> Path:
        """Local, unshared working state: locks and journals."""
        return self.path / ".state"

    @property
    def repo(self) -> git.Repo:
        if self._repo is None:
            try:
                if (self.path / ".git").exists():
                    self._repo = git.Repo(self.path)
                else:
                    self.path.mkdir(parents=True, exist_ok=True)
                    self._repo = git.Repo.init(self.path, initial_branch="main")
                    exclude = self.path / ".git" / "info" / "exclude"
                    exclude.parent.mkdir(parents=True, exist_ok=True)
                    exclude.write_text(".state/\n", encoding="utf-8")
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
        if not path.exists():
            return set()
        try:
            return set(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise HistoryError(f"history file {path} is unreadable: {exc}") from None

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
        for path in sorted(p for p in folder.iterdir() if p.name.isdigit()):
            try:
                out.append(json.loads((path / "meta.json").read_text(encoding="utf-8")))
            except (OSError, ValueError) as exc:
                raise HistoryError(
                    f"version {int(path.name)} of {env} is damaged: meta.json: {exc}"
                ) from None
        return out

    def approvals_used(self, env: str) -> set[str]:
        """Ids of the approval records spent by versions that changed the CRM, and of every
        break-glass record used (approvals are single-use).

        A failed apply that was restored changed nothing, so its approvals stay valid.
        """
        used = set()
        for meta in self.versions(env):
            if meta.get("breakGlass"):
                used.add(meta["breakGlass"].get("id"))
            if meta.get("status") in UNCHANGED:
                continue
            used.update(a["id"] for a in meta.get("approvals") or [] if a.get("id"))
        return {u for u in used if u}

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
        try:
            return set(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return set(self.version(env, number).after)
        except (OSError, ValueError) as exc:
            raise HistoryError(
                f"version v{number} of {env} is damaged: managed.json: {exc}"
            ) from None

    def record_event(self, env: str, event: dict[str, Any], actor: Actor, message: str) -> None:
        """Append an event (a forced unlock…) to the environment's event log and commit it."""
        path = self._env_dir(env) / "events.jsonl"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as out:
                out.write(json.dumps({**event, "actor": actor.email}, sort_keys=True) + "\n")
            self.repo.index.add([str(path.relative_to(self.path))])
            who = git.Actor(actor.name, actor.email)
            self.repo.index.commit(f"{env}: {message}", author=who, committer=who)
        except (git.GitError, OSError, ValueError) as exc:
            raise HistoryError(f"cannot record an event of {env} in {self.path}: {exc}") from None
        if self.remote is not None:
            self.remote.push_head()

    def record(self, record: VersionRecord, managed: set[str], actor: Actor, message: str) -> int:
        """Write a new version and commit it (and push it, with a remote); return its number."""
        env = record.environment
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
        repo = self.repo
        try:
            for name, data in files.items():
                _dump(folder / name, data)
            _dump(self._env_dir(env) / "managed.json", sorted(managed))
            paths = [str((folder / n).relative_to(self.path)) for n in files]
            paths.append(str((self._env_dir(env) / "managed.json").relative_to(self.path)))
            repo.index.add(paths)
            who = git.Actor(actor.name, actor.email)
            repo.index.commit(f"{env} v{number}: {message}", author=who, committer=who)
            repo.create_tag(f"{env}/v{number}")
        except (git.GitError, OSError, ValueError) as exc:
            raise HistoryError(
                f"cannot record version {number} of {env} in {self.path}: {exc}"
            ) from None
        if self.remote is not None:
            self.remote.push(f"{env}/v{number}")
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
            try:
                data[name] = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise HistoryError(
                    f"version v{number} of {env} is damaged: {name}.json: {exc}"
                ) from None
        return VersionRecord(env, **data)
