"""`crmctl import --from sfdx DIR`: convert a Salesforce DX project into manifests."""

from __future__ import annotations

from pathlib import Path

import click

from crmctl.config.environment import display_path
from crmctl.errors import CrmctlError
from crmctl.importer.sfdx import ImportResult, import_sfdx, manifest_files, write_manifests
from crmctl.render.sfdx_view import sfdx_import_text

__all__ = ["import_from_sfdx", "write_import"]


def import_from_sfdx(
    folder: Path, out_dir: Path, force: bool, owner: str | None, colour: bool
) -> int:
    """Parse -> convert -> write -> report. Exit status 0 (the report is information)."""
    if not folder.is_dir():
        raise CrmctlError(f"{display_path(folder)} is not a folder")
    result = import_sfdx(folder)
    if not result.resources:
        raise CrmctlError(
            f"nothing to import from {display_path(folder)}: no convertible metadata found",
            hint="point at a Salesforce DX project (the folder holding force-app/) or its force-app/",
        )
    return write_import(result, out_dir, force, owner, colour)


def write_import(
    result: ImportResult,
    out_dir: Path,
    force: bool,
    owner: str | None,
    colour: bool,
    header: str | None = None,
) -> int:
    """Write an import's manifests into `out_dir` (never over files without --force) and report.

    Shared by every `import --from` source. Exit status 0 (the report is information).
    """
    existing = [f for f in manifest_files(result) if (out_dir / f).exists()]
    if existing and not force:
        raise CrmctlError(
            f"{len(existing)} file(s) to write already exist in {display_path(out_dir)}, "
            f"e.g. {existing[0]}; nothing was written",
            hint="import into an empty folder, or pass --force to overwrite them",
        )
    written = (
        write_manifests(result, out_dir, owner)
        if header is None
        else write_manifests(result, out_dir, owner, header=header)
    )
    click.echo(sfdx_import_text(result, out_dir, written, colour))
    return 0
