"""Real git repositories for governance tests: commit as a named person, optionally signed."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

AUTHOR = "maria.garcia@northwind.example"  # edits the manifests in these tests


def git(root: Path, *args: str, email: str = AUTHOR, env: dict[str, str] | None = None) -> str:
    """Run git in `root` as `email` (author and committer); return its stdout."""
    name = email.split("@")[0]
    result = subprocess.run(
        ["git", "-c", f"user.email={email}", "-c", f"user.name={name}", *args],
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def commit(root: Path, email: str, message: str, *paths: str, ssh_key: Path | None = None) -> str:
    """Stage `paths` (everything when none) and commit them as `email` (SSH-signed with
    `ssh_key` when given); return the short id."""
    git(root, "add", *(paths or ("-A",)), email=email)
    signing = (
        ["-c", "gpg.format=ssh", "-c", f"user.signingkey={ssh_key}", "commit", "-S"]
        if ssh_key
        else ["commit"]
    )
    git(root, *signing, "-q", "-m", message, email=email)
    return git(root, "rev-parse", "--short=7", "HEAD").strip()


def init(root: Path, email: str = AUTHOR) -> str:
    """A repository holding everything in `root` (but .crmctl/), committed as `email`."""
    (root / ".gitignore").write_text(".crmctl/\n*.json\n")
    git(root, "init", "-q", "-b", "main")
    return commit(root, email, "Northwind CRM configuration")
