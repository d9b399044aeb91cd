"""Ask the project's git repository who committed what: the facts approvals are verified with.

This is the only governance module that talks to git (through GitPython);
it gathers facts (`crmctl.governance.facts`) and decides nothing.

- **A record's provenance**: the commit that *added* its file (its author and,
  when asked, its signature as `git verify-commit` sees it) and whether the
  file changed afterwards (a later commit, or uncommitted edits).
- **A change's author**: the author of the latest commit that changed the
  resource's manifest file. A change with no file (a delete) is authored by
  the author of the latest commit touching the environment's manifest
  folders. Uncommitted edits (the file, or for a delete anything in those
  folders, differs from HEAD or is untracked) are authored by the person
  running crmctl.
- **The policy baseline**: the environment file's approvals section before
  its latest change in git (uncommitted edits count as the latest change).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import git

from crmctl.config.yamlsource import parse_yaml_text
from crmctl.governance.facts import BAD, GOOD, UNSIGNED, GitFacts, PolicyBaseline, RecordProvenance

__all__ = ["open_repository", "gather_facts", "policy_baseline"]

_SIGNER = re.compile(r"^\[GNUPG:\] GOODSIG \S+ (.*)$", re.MULTILINE)
_EMAIL = re.compile(r"<([^>]+)>")


def open_repository(project_dir: Path) -> git.Repo | None:
    """The git repository holding the project, or None."""
    try:
        return git.Repo(project_dir, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None


def _rel(repo: git.Repo, path: Path) -> str | None:
    """`path` relative to the repository's top folder (posix), or None when outside it."""
    root = Path(repo.working_tree_dir or ".").resolve()
    rel = os.path.relpath(path.resolve(), root)
    return None if rel.startswith("..") else Path(rel).as_posix()


def _dirty(repo: git.Repo, paths: Iterable[str]) -> dict[str, str]:
    """Path -> porcelain status code of every changed or untracked file under `paths`."""
    paths = list(paths)
    if not paths:
        return {}
    out = repo.git.status("--porcelain=v1", "-z", "--untracked-files=all", "--", *paths)
    entries = out.split("\0")
    found: dict[str, str] = {}
    i = 0
    while i < len(entries):
        entry = entries[i]
        i += 1
        if len(entry) < 4:
            continue
        code, path = entry[:2], entry[3:]
        found[path] = code
        if code[0] in "RC":  # a rename is followed by its old path
            i += 1
    return found


def _last_commit(repo: git.Repo, *paths: str, added: bool = False) -> tuple[str, str] | None:
    """(full id, author email) of the latest commit touching (or adding) any of `paths`."""
    args = ["-1", "--format=%H%x00%ae"]
    if added:
        args.append("--diff-filter=A")
    try:
        out = repo.git.log(*args, "--", *paths).strip()
    except git.GitCommandError:  # no commits yet
        return None
    if not out:
        return None
    sha, _, email = out.partition("\0")
    return sha, email


#: gpg status keywords (`--status-fd` lines) and what they mean for a reviewer.
_BAD_STATUS = {
    "BADSIG": "the signature is bad (the commit changed after it was signed)",
    "NO_PUBKEY": "the signing key {key} is not in your keyring",
    "EXPKEYSIG": "the signing key {key} has expired",
    "EXPSIG": "the signature has expired",
    "REVKEYSIG": "the signing key {key} was revoked",
}


def _why_bad(status_output: str) -> str:
    """What a failed `git verify-commit --raw` means, from gpg's status lines."""
    found = {}
    for line in status_output.splitlines():
        parts = line.removeprefix("[GNUPG:] ").split()
        if line.startswith("[GNUPG:]") and parts:
            found.setdefault(parts[0], parts[1] if len(parts) > 1 else "")
    for keyword, text in _BAD_STATUS.items():
        if keyword in found:
            return text.format(key=found[keyword])
    other = [ln for ln in status_output.splitlines() if ln and not ln.startswith("[GNUPG:]")]
    return other[0].strip() if other else "git verify-commit failed"


def _signature(repo: git.Repo, sha: str) -> tuple[str, str | None, str]:
    """(UNSIGNED | GOOD | BAD, signer email, detail) of a commit."""
    if not repo.commit(sha).gpgsig:
        return UNSIGNED, None, ""
    status, _, err = repo.git.execute(
        ["git", "verify-commit", "--raw", sha], with_extended_output=True, with_exceptions=False
    )
    if status != 0:
        return BAD, None, _why_bad(err)
    match = _SIGNER.search(err)
    email = _EMAIL.search(match.group(1)) if match else None
    return GOOD, (email.group(1) if email else None), ""


def _provenance(
    repo: git.Repo, rel: str, dirty: Mapping[str, str], signatures: bool
) -> RecordProvenance:
    code = dirty.get(rel)
    if code in ("??", "A ", "AM"):
        return RecordProvenance(committed=False)
    added = _last_commit(repo, rel, added=True)
    if added is None:
        return RecordProvenance(committed=False)
    sha, author = added
    short = sha[:7]
    changed_by = None
    latest = _last_commit(repo, rel)
    if latest and latest[0] != sha:
        changed_by = f"by commit {latest[0][:7]} of {latest[1]}"
    elif code:
        changed_by = "it has uncommitted changes"
    signature, signer, detail = _signature(repo, sha) if signatures else (None, None, "")
    return RecordProvenance(True, short, author, changed_by, signature, signer, detail)


def gather_facts(
    project_dir: Path,
    record_paths: Iterable[str],
    change_files: Mapping[str, Path | None],
    manifest_dirs: Iterable[Path],
    actor: str,
    check_signatures: bool = False,
) -> GitFacts:
    """Provenance of each record (paths relative to the project) and the author of each change.

    `change_files` maps a change's address to its manifest file (None for a delete).
    """
    repo = open_repository(project_dir)
    if repo is None:
        return GitFacts(repository=False, authors={a: actor for a in change_files})
    record_rel = {p: _rel(repo, project_dir / p) for p in record_paths}
    dir_rel = [r for r in (_rel(repo, d) for d in manifest_dirs) if r is not None]
    file_rel = {a: (_rel(repo, f) if f is not None else None) for a, f in change_files.items()}
    watched = [r for r in record_rel.values() if r] + dir_rel
    watched += [r for r in file_rel.values() if r]
    dirty = _dirty(repo, sorted(set(watched)))
    facts = GitFacts(repository=True)
    for path, rel in record_rel.items():
        facts.records[path] = (
            _provenance(repo, rel, dirty, check_signatures) if rel else RecordProvenance(False)
        )
    cache: dict[str | None, str] = {}
    for address, rel in file_rel.items():
        if rel not in cache:
            cache[rel] = _author(repo, rel, dir_rel, dirty, actor)
        facts.authors[address] = cache[rel]
    return facts


def _author(
    repo: git.Repo, rel: str | None, dirs: list[str], dirty: Mapping[str, str], actor: str
) -> str:
    if rel is None:
        if not dirs or any(
            p == d or p.startswith(d.rstrip("/") + "/") for p in dirty for d in dirs
        ):
            return actor
        last = _last_commit(repo, *dirs)
    else:
        if rel in dirty:
            return actor
        last = _last_commit(repo, rel)
    return last[1] if last else actor


def _section_at(commit: git.Commit, rel: str) -> dict[str, Any] | None:
    try:
        text = (commit.tree / rel).data_stream.read().decode("utf-8")
    except (KeyError, UnicodeDecodeError):
        return None
    docs, problems = parse_yaml_text(text, rel)
    if problems or len(docs) != 1 or not isinstance(docs[0].data, dict):
        return None
    return docs[0].data.get("approvals")


def policy_baseline(
    project_dir: Path, env_file: Path, current: dict[str, Any] | None, actor: str
) -> PolicyBaseline | None:
    """The approvals section before its latest change, or None when git shows no change.

    Walks the environment file's commits from the newest: the first version
    whose section differs from the current one is the baseline, and the
    commit after it (the one that brought the current section) is the change.
    An environment file that is not committed at all has no baseline.
    """
    repo = open_repository(project_dir)
    rel = _rel(repo, env_file) if repo is not None else None
    if repo is None or rel is None:
        return None
    current = current or None
    try:
        commits = list(repo.iter_commits(paths=rel))
    except (git.GitCommandError, ValueError):  # no commits yet
        return None
    if not commits:
        return None
    head_section = _section_at(commits[0], rel) or None
    if head_section != current:
        return PolicyBaseline(head_section, "in uncommitted edits", actor)
    newer = commits[0]
    for commit in commits[1:]:
        section = _section_at(commit, rel) or None
        if section != current:
            return PolicyBaseline(section, f"in commit {newer.hexsha[:7]}", newer.author.email)
        newer = commit
    return None
