"""`crmctl init`: start a project: an environment, an example manifest and test, a .gitignore."""

from __future__ import annotations

from pathlib import Path

import click

from crmctl.cli.context import CliContext
from crmctl.config.environment import display_path
from crmctl.errors import CrmctlError
from crmctl.scaffold import GITIGNORE, existing_project, gitignore_text, project_files

__all__ = ["init"]

_SOURCES = ("sfdx", "dataverse-solution")


@click.command()
@click.argument("folder", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--from",
    "source",
    nargs=2,
    type=(click.Choice(_SOURCES), click.Path(path_type=Path)),
    metavar="[sfdx|dataverse-solution] DIR",
    help="Start from existing metadata instead of the example: a Salesforce DX project "
    "(sfdx DIR) or an unpacked Dataverse solution (dataverse-solution DIR).",
)
@click.pass_obj
def init(obj: CliContext, folder: Path | None, source: tuple[str, Path] | None) -> int:
    """Start a crmctl project in FOLDER (default: the current folder).

    Writes environments/local.yaml (the embedded sandbox CRM: no account
    needed), manifests/ with an example field and validation rule, crm-tests/
    with two cases for it, and a .gitignore that keeps crmctl's local state
    (.crmctl/) and private keys out of git (an existing .gitignore gets the
    missing lines). Nothing is written when FOLDER already holds a project.

    With --from sfdx DIR, manifests/ holds the metadata of that Salesforce DX
    project instead of the example (as `crmctl import --from sfdx` writes it).
    With --from dataverse-solution DIR, manifests/ holds the unpacked solution
    (as `crmctl import --from dataverse-solution` writes it) and the environment
    is environments/dynamics.yaml (type dataverse), to be given its URL and tenant.

    \b
    Examples:
      crmctl init
      crmctl init northwind-crm
      crmctl init northwind-crm --from sfdx ~/src/northwind-sfdx
      crmctl init northwind-dynamics --from dataverse-solution ~/src/solution/src
    """
    target = (folder or Path.cwd()).resolve()
    shown = display_path(target) if folder is not None else "this folder"
    if target.exists() and not target.is_dir():
        raise CrmctlError(f"{shown} is not a folder")
    if existing_project(target):
        raise CrmctlError(
            f"{shown} already holds a crmctl project (environments/ or crmctl.yaml); "
            "nothing was written",
            hint="crmctl validate checks it; crmctl init is for a new project",
        )
    manifests = target / "manifests"
    if manifests.is_dir() and any(manifests.iterdir()):
        raise CrmctlError(
            f"{display_path(manifests)} already holds files; nothing was written",
            hint="start in an empty folder, or add environments/local.yaml by hand",
        )
    sfdx = None
    dataverse = source is not None and source[0] == "dataverse-solution"
    if source is not None:
        from crmctl.importer.sfdx import import_sfdx

        if not source[1].is_dir():
            raise CrmctlError(f"{display_path(source[1])} is not a folder; nothing was written")
        if dataverse:
            from crmctl.importer.dataverse import import_dataverse_solution

            sfdx = import_dataverse_solution(source[1])
            hint = "point at an unpacked solution (the folder holding Entities/ and Other/)"
        else:
            sfdx = import_sfdx(source[1])
            hint = "point at a Salesforce DX project (the folder holding force-app/)"
        if not sfdx.resources:
            raise CrmctlError(
                f"nothing to import from {display_path(source[1])}: no convertible metadata "
                "found; nothing was written",
                hint=hint,
            )
    written: list[Path] = []
    for relative, text in project_files(example=sfdx is None, dataverse=dataverse).items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    imported: list[Path] = []
    if sfdx is not None:
        from crmctl.importer.sfdx import write_manifests

        if dataverse:
            from crmctl.importer.dataverse import DATAVERSE_HEADER

            imported = write_manifests(sfdx, manifests, header=DATAVERSE_HEADER)
        else:
            imported = write_manifests(sfdx, manifests)
    ignore = target / GITIGNORE
    merged = gitignore_text(ignore.read_text(encoding="utf-8") if ignore.exists() else None)
    if merged is not None:
        ignore.write_text(merged, encoding="utf-8")
        written.append(ignore)
    for path in written:
        click.echo(f"  wrote {display_path(path)}")
    if sfdx is not None:
        from crmctl.render.sfdx_view import sfdx_import_text
        from crmctl.render.style import use_colour

        click.echo(sfdx_import_text(sfdx, manifests, imported, use_colour(force=obj.colour)))
    where = "" if folder is None else f"cd {display_path(target)} && "
    if dataverse:
        click.echo(
            f"Started a crmctl project in {shown} for a Dataverse environment. Next: fill in "
            "url and tenantId in environments/dynamics.yaml, export CRMCTL_DV_CLIENT_ID and "
            f"CRMCTL_DV_CLIENT_SECRET, then {where}crmctl validate -e dynamics && crmctl plan "
            "-e dynamics; git init and commit when it looks right."
        )
        return 0
    click.echo(
        f"Started a crmctl project in {shown}. Next: {where}crmctl validate && crmctl plan, "
        "then crmctl apply to the sandbox; git init and commit when it looks right."
    )
    return 0
