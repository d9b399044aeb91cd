"""Environment files: `environments/<name>.yaml`, one per CRM environment."""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crmctl.config.credentials import (
    PROJECT_FILE,
    credential_diagnostics,
    load_project_settings,
)
from crmctl.config.schema_check import schema_diagnostics
from crmctl.config.yamlsource import SourceMap, read_yaml_file
from crmctl.errors import Diagnostic, EnvironmentFileError, SourceLocation

__all__ = [
    "Environment",
    "load_environment",
    "standalone_environment",
    "display_path",
    "DEFAULT_ENVIRONMENT",
    "STANDALONE",
]

DEFAULT_ENVIRONMENT = "local"


def display_path(path: Path) -> str:
    """A path as users should see it: relative to the working directory when inside it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


@dataclass
class Environment:
    """A validated environment file and the project it belongs to."""

    name: str
    file: Path
    project_dir: Path
    data: dict[str, Any]
    source: SourceMap

    @property
    def provider(self) -> dict[str, Any]:
        return self.data["provider"]

    @property
    def manifest_paths(self) -> list[Path]:
        return [self.project_dir / p for p in self.data.get("manifests", ["manifests"])]

    @property
    def overrides(self) -> list[dict[str, Any]]:
        return self.data.get("overrides", [])

    @property
    def protect(self) -> list[str]:
        return self.data.get("protect", [])

    @property
    def approvals(self) -> dict[str, Any]:
        return self.data.get("approvals", {})

    @property
    def history_path(self) -> Path:
        return self.project_dir / self.data.get("history", {}).get("path", ".crmctl/history")

    @property
    def history_remote(self) -> str | None:
        return self.data.get("history", {}).get("remote")

    def location(self, *path: str | int) -> SourceLocation:
        return self.source.location(path)


def _available(project_dir: Path) -> list[str]:
    folder = project_dir / "environments"
    if not folder.is_dir():
        return []
    return sorted({p.stem for p in folder.iterdir() if p.suffix in (".yaml", ".yml")})


def _resolve(name: str, project_dir: Path) -> Path:
    if name.endswith((".yaml", ".yml")) or os.sep in name or "/" in name:
        return Path(name) if Path(name).is_absolute() else Path.cwd() / name
    for suffix in (".yaml", ".yml"):
        candidate = project_dir / "environments" / f"{name}{suffix}"
        if candidate.exists() or candidate.is_symlink():
            return candidate
    available = _available(project_dir)
    close = difflib.get_close_matches(name, available, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    hint += f"available: {', '.join(available)}" if available else "create environments/<name>.yaml"
    if not (project_dir / "environments").is_dir():
        hint = (
            "crmctl looks for the project (a folder holding environments/ or crmctl.yaml) in "
            "the current folder and the folders above it; pass -C PROJECT_DIR to name it, or "
            "start one here with: crmctl init"
        )
    raise EnvironmentFileError(
        f"no environment '{name}': {display_path(project_dir / 'environments' / (name + '.yaml'))} does not exist",
        hint=hint,
    )


#: The name `validate DIR` reports outside a project, where there is no environment file.
STANDALONE = "(no environment)"


def standalone_environment(folder: Path) -> Environment:
    """No environment file: no overrides, no manifest folders of its own, the embedded
    sandbox's field limits. For checking a folder of manifests outside any project."""
    data: dict[str, Any] = {"provider": {"type": "sandbox"}, "manifests": []}
    folder = folder.resolve()
    return Environment(STANDALONE, folder, folder, data, SourceMap("(defaults)", 1))


def load_environment(name: str, project_dir: Path | None = None) -> Environment:
    """Read and validate an environment by name (`prod`) or path; raise with every problem."""
    project_dir = (project_dir or Path.cwd()).resolve()
    path = _resolve(name, project_dir)
    shown = display_path(path)
    if not (path.exists() or path.is_symlink()):
        raise EnvironmentFileError(f"environment file {shown} does not exist")
    # One found in the project's environments/ must stay inside the project; a path
    # given on the command line is the user's own choice.
    inside = path.parent == project_dir / "environments"
    docs, diagnostics = read_yaml_file(path, shown, project_dir if inside else None)
    if not diagnostics:
        if len(docs) != 1 or not isinstance(docs[0].data, dict):
            where = docs[1].location if len(docs) > 1 else SourceLocation(shown, 1)
            diagnostics = [
                Diagnostic(
                    "an environment file holds exactly one YAML mapping", where, code="environment"
                )
            ]
        else:
            diagnostics = schema_diagnostics("environment", docs[0].data, docs[0].source)
    if not diagnostics:
        # Which variables it may read credentials from, and where it may send them.
        settings = load_project_settings(project_dir, display_path(project_dir / PROJECT_FILE))
        diagnostics = credential_diagnostics(docs[0].data, docs[0].source, settings)
    if diagnostics:
        count = len(diagnostics)
        raise EnvironmentFileError(
            f"environment file {shown} has {count} problem{'s' * (count != 1)}",
            diagnostics=diagnostics,
        )
    env_name = path.stem
    # An environment file outside environments/ still belongs to the project it was given with.
    return Environment(env_name, path, project_dir, docs[0].data, docs[0].source)
