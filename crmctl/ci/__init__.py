"""`crmctl ci init`: CI workflows and hooks that run crmctl (GitHub Actions, GitLab CI, pre-commit)."""

from __future__ import annotations

from pathlib import Path

from crmctl.ci.github import github_files
from crmctl.ci.gitlab import gitlab_files
from crmctl.ci.install import InstallSource, install_command, running_install_source
from crmctl.ci.precommit import precommit_files
from crmctl.ci.settings import PLAN_MARKER, CiSettings, Secret, ci_settings
from crmctl.config.environment import display_path
from crmctl.errors import CrmctlError

__all__ = [
    "CiSettings",
    "InstallSource",
    "install_command",
    "running_install_source",
    "PLAN_MARKER",
    "Secret",
    "ci_settings",
    "github_files",
    "gitlab_files",
    "precommit_files",
    "write_files",
]


def write_files(root: Path, files: dict[str, str], force: bool = False) -> list[Path]:
    """Write generated files under `root`; refuse (writing nothing) when one exists, unless forced."""
    targets = {root / relative: text for relative, text in files.items()}
    existing = [p for p in targets if p.exists()]
    if existing and not force:
        names = ", ".join(display_path(p) for p in existing)
        raise CrmctlError(
            f"refusing to overwrite {names}; nothing was written",
            hint="pass --force to replace them (compare with git diff afterwards)",
        )
    for path, text in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(targets)
