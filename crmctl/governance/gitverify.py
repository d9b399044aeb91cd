"""Ask the project's git repository who asked for a change: the facts separation of duties needs.

This is the only governance module that talks to git (through GitPython);
it gathers facts (`crmctl.governance.facts`) and decides nothing.

- **Requesters of a change**: every author, committer and `Co-authored-by`
  of every commit that touched the change's files since the project commit
  the environment was last applied from (the whole history of the files
  when nothing was applied, or when that commit is not in this clone). With
  signed commits required, each of those commits must carry an SSH
  signature by a key in the allowed signers, and its signer is a requester
  too. A file whose content differs from HEAD (uncommitted, or hidden with
  `update-index --skip-worktree`) has unknown requesters, and so has a
  shallow clone: both are reported as problems, never guessed.
- **An unsigned record's provenance** (only where the environment allows
  unsigned approvals): the commit that added it, its author and committer,
  and whether its content still matches what was committed.
- **The signing key configured in git** (`user.signingkey` with
  `gpg.format=ssh`), for `crmctl approve`.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from crmctl.governance.facts import RecordProvenance, Requesters

if TYPE_CHECKING:
    import git
else:
    from crmctl.history.lazygit import git

__all__ = [
    "ProjectGit",
    "open_repository",
    "head_commit",
    "gather_requesters",
    "record_provenance",
    "signing_key_from_git",
]

_CO_AUTHOR = re.compile(r"^co-authored-by:.*<([^>\s]+)>\s*$", re.IGNORECASE | re.MULTILINE)


def open_repository(project_dir: Path) -> git.Repo | None:
    """The git repository holding the project, or None."""
    try:
        return git.Repo(project_dir, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None


class ProjectGit:
    """The project's repository for one governance check: opened once, and what holds for
    the whole repository (is it shallow, is a commit in it) asked of git once.

    For one `govern` run, which asks about the changes and then about the governance
    change back to back; a later check makes its own (the repository may have moved).
    """

    def __init__(self, project_dir: Path) -> None:
        self.project_dir = project_dir
        self.repo = open_repository(project_dir)
        self._shallow: bool | None = None
        self._known: dict[str, bool] = {}

    def shallow(self) -> bool:
        if self._shallow is None:
            assert self.repo is not None
            self._shallow = self.repo.git.rev_parse("--is-shallow-repository").strip() == "true"
        return self._shallow

    def known(self, sha: str | None) -> bool:
        if not sha:
            return False
        if sha not in self._known:
            assert self.repo is not None
            self._known[sha] = _known(self.repo, sha)
        return self._known[sha]


def head_commit(project_dir: Path) -> str | None:
    """The full id of the project's HEAD commit (None outside git or before the first commit)."""
    repo = open_repository(project_dir)
    if repo is None:
        return None
    try:
        return repo.head.commit.hexsha
    except (ValueError, git.GitError):
        return None


def _rel(repo: git.Repo, path: Path) -> str | None:
    """`path` relative to the repository's top folder (posix), or None when outside it."""
    root = Path(repo.working_tree_dir or ".").resolve()
    rel = os.path.relpath(path.resolve(), root)
    return None if rel.startswith("..") else Path(rel).as_posix()


def _committed_blobs(repo: git.Repo, rels: list[str]) -> dict[str, str]:
    """Path -> blob id in HEAD of every file at or under `rels`."""
    try:
        out = repo.git.ls_tree("-r", "-z", "HEAD", "--", *rels)
    except git.GitCommandError:
        return {}
    blobs = {}
    for entry in out.split("\0"):
        if "\t" in entry:
            meta, path = entry.split("\t", 1)
            blobs[path] = meta.split()[2]
    return blobs


def _worktree_files(repo: git.Repo, rels: list[str]) -> list[str]:
    root = Path(repo.working_tree_dir or ".")
    found = []
    for rel in rels:
        path = root / rel
        if path.is_file():
            found.append(rel)
        elif path.is_dir():
            found += [
                p.relative_to(root).as_posix()
                for p in sorted(path.rglob("*"))
                if p.is_file() and ".git" not in p.relative_to(root).parts
            ]
    return found


def _differing(repo: git.Repo, rels: list[str]) -> list[str]:
    """Files at or under `rels` whose content is not what HEAD holds (index flags ignored)."""
    committed = _committed_blobs(repo, rels)
    present = _worktree_files(repo, rels)
    hashes = repo.git.hash_object("--", *present).split() if present else []
    differ = [p for p, h in zip(present, hashes, strict=True) if committed.get(p) != h]
    differ += [p for p in committed if p not in present]
    return sorted(set(differ))


def _signed_with_ssh(repo: git.Repo, sha: str) -> bool:
    raw = repo.git.cat_file("commit", sha)
    return "\ngpgsig -----BEGIN SSH SIGNATURE-----" in raw.split("\n\n", 1)[0]


def _commits(
    repo: git.Repo, rels: list[str], since: str | None, signers: Path | None
) -> list[dict[str, str]]:
    fmt = "%H%x00%ae%x00%ce%x00%G?%x00%GS%x00%B%x1e"
    span = [f"{since}..HEAD"] if since else ["HEAD"]
    config = ["-c", f"gpg.ssh.allowedSignersFile={signers}"] if signers else []
    out = repo.git.execute(
        ["git", *config, "log", f"--format={fmt}", *span, "--", *rels],
        with_extended_output=False,
    )
    commits = []
    for chunk in str(out).split("\x1e"):
        parts = chunk.strip("\n").split("\0")
        if len(parts) >= 6:
            sha, author, committer, good, signer, body = parts[:6]
            commits.append(
                dict(
                    sha=sha, author=author, committer=committer, good=good, signer=signer, body=body
                )
            )
    return commits


def _known(repo: git.Repo, sha: str | None) -> bool:
    if not sha:
        return False
    try:
        repo.git.cat_file("-e", f"{sha}^{{commit}}")
        return True
    except git.GitCommandError:
        return False


def gather_requesters(
    project_dir: Path,
    files: Mapping[str, Iterable[Path]],
    since: str | None,
    signers_text: str | None = None,
    signers_name: str = "approvals/allowed_signers",
    project: ProjectGit | None = None,
) -> dict[str, Requesters]:
    """The requesters of each change (by address), from the commits to its files since `since`.

    `signers_text`: when given, every such commit must be SSH-signed by a key
    it lists, and the signer counts as a requester. `project`: the repository
    as this check opened it (else it is opened here).
    """
    project = project or ProjectGit(project_dir)
    repo = project.repo
    if repo is None:
        problem = "the project is not a git repository, so who asked for it cannot be known"
        return {a: Requesters((), (problem,)) for a in files}
    shallow = project.shallow()
    start = since if project.known(since) else None
    with tempfile.TemporaryDirectory(prefix="crmctl-signers-") as tmp:
        signers = None
        if signers_text is not None:
            signers = Path(tmp) / "allowed_signers"
            signers.write_text(signers_text, encoding="utf-8")
        cache: dict[tuple[str, ...], Requesters] = {}
        out = {}
        for address, paths in files.items():
            rels = tuple(sorted({r for r in (_rel(repo, Path(p)) for p in paths) if r}))
            if rels not in cache:
                cache[rels] = _requesters(repo, list(rels), start, signers, signers_name, shallow)
            out[address] = cache[rels]
        return out


def _requesters(
    repo: git.Repo,
    rels: list[str],
    since: str | None,
    signers: Path | None,
    signers_name: str,
    shallow: bool,
) -> Requesters:
    if not rels:
        return Requesters((), ("its files are outside the project's git repository",))
    problems = []
    if shallow:
        problems.append(
            "the project is a shallow clone, so the commits since the last apply cannot all be "
            "seen (fetch the whole history, e.g. actions/checkout with fetch-depth: 0)"
        )
    for path in _differing(repo, rels):
        problems.append(
            f"{path} differs from the last commit (uncommitted or hidden edits), so who wrote "
            "it cannot be known: commit it"
        )
    people: set[str] = set()
    try:
        commits = _commits(repo, rels, since, signers)
    except git.GitCommandError:  # no commits yet
        commits = []
    for c in commits:
        people.update(e.lower() for e in (c["author"], c["committer"]) if e)
        people.update(e.lower() for e in _CO_AUTHOR.findall(c["body"]))
        if signers is None:
            continue
        if c["good"] == "G" and c["signer"] and _signed_with_ssh(repo, c["sha"]):
            people.add(c["signer"].lower())
        else:
            problems.append(
                f"commit {c['sha'][:7]} is not signed by a key in {signers_name}, and the "
                "environment requires signed commits (requireSignedCommits)"
            )
    return Requesters(tuple(sorted(people)), tuple(problems))


def record_provenance(
    project_dir: Path, paths: Iterable[str], project: ProjectGit | None = None
) -> dict[str, RecordProvenance]:
    """How each unsigned record (path relative to the project) got into the repository."""
    repo = (project or ProjectGit(project_dir)).repo
    out: dict[str, RecordProvenance] = {}
    for path in paths:
        rel = _rel(repo, project_dir / path) if repo is not None else None
        if repo is None or rel is None:
            out[path] = RecordProvenance(committed=False)
            continue
        try:
            added = repo.git.log("--diff-filter=A", "-1", "--format=%H%x00%ae%x00%ce", "--", rel)
            latest = repo.git.log("-1", "--format=%H%x00%ae", "--", rel)
        except git.GitCommandError:
            added = latest = ""
        if not added.strip() or rel not in _committed_blobs(repo, [rel]):
            out[path] = RecordProvenance(committed=False)
            continue
        sha, author, committer = added.strip().split("\0")
        changed_by = None
        last_sha, _, last_author = latest.strip().partition("\0")
        if last_sha != sha:
            changed_by = f"by commit {last_sha[:7]} of {last_author}"
        elif _differing(repo, [rel]):
            changed_by = "it differs from what was committed"
        out[path] = RecordProvenance(True, sha[:7], author, changed_by, committer=committer)
    return out


def signing_key_from_git(project_dir: Path) -> Path | None:
    """git's `user.signingkey` when `gpg.format` is ssh and it names a key file, else None."""
    repo = open_repository(project_dir)
    if repo is None:
        return None
    reader = repo.config_reader()
    try:
        if str(reader.get_value("gpg", "format", "")).lower() != "ssh":
            return None
        value = str(reader.get_value("user", "signingkey", "")).strip()
    except (OSError, ValueError):
        return None
    if not value or value.startswith(("key::", "ssh-")):
        return None
    return Path(os.path.expanduser(value))
