"""Where a crmctl project is: the folder holding environments/ (or crmctl.yaml)."""

from __future__ import annotations

from pathlib import Path

from crmctl.config.credentials import PROJECT_FILE

__all__ = ["find_project_root", "is_project_root"]


def is_project_root(folder: Path) -> bool:
    """Whether `folder` holds a crmctl project: an environments/ folder or a crmctl.yaml."""
    return (folder / "environments").is_dir() or (folder / PROJECT_FILE).is_file()


def find_project_root(start: Path) -> Path | None:
    """The nearest project folder at or above `start`, as git finds its repository; None if none."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if is_project_root(folder):
            return folder
    return None
