"""`crmctl drift`: has anyone changed the live CRM outside crmctl?"""

from __future__ import annotations

from pathlib import Path

import click

from crmctl.cli.context import CliContext, env_option, format_option
from crmctl.drift_check import check_drift
from crmctl.errors import CrmctlError
from crmctl.render.drift_view import render_drift
from crmctl.render.style import use_colour
from crmctl.workspace import Workspace, parse_version


def _version(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return parse_version(value)
    except CrmctlError as exc:
        raise click.BadParameter(exc.message) from None


@click.command()
@env_option
@format_option("text", "markdown", "json", "junit", "html")
@click.option(
    "--out",
    "output_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report to this file (and print only the summary line).",
)
@click.option(
    "--output",
    "legacy_output_file",
    type=click.Path(dir_okay=False, path_type=Path),
    hidden=True,
    help="Deprecated spelling of --out (kept for one release).",
)
@click.option(
    "--since-version",
    metavar="vN",
    callback=_version,
    help="Compare with what version N applied instead of the latest version.",
)
@click.pass_obj
def drift(
    obj: CliContext,
    env_name: str | None,
    output_format: str,
    output_file: Path | None,
    legacy_output_file: Path | None,
    since_version: int | None,
) -> int:
    """Report changes made to the live CRM outside crmctl.

    Compares the live CRM with what crmctl last applied (the latest
    version's snapshot in the history; the manifests when nothing was
    applied yet) and lists each resource modified, deleted or created out
    of band, with who changed it and when where the CRM keeps an audit
    trail. Differences listed under `drift.ignore` in the environment file
    are reported as ignored. Manifest changes not applied yet are reported
    as pending, apart from drift.

    Exit status: 0 no drift (pending changes and ignored drift alone exit
    0), 2 drift found, 1 error.

    \b
    Examples:
      crmctl drift -e prod
      crmctl drift -e prod --format junit --out drift.xml
      crmctl drift -e prod --format markdown > drift.md
      crmctl drift -e prod --format html --out drift.html
      crmctl drift -e prod --since-version v12
    """
    if legacy_output_file is not None:
        if output_file is not None:
            raise click.UsageError("--output is the old spelling of --out; give only --out")
        click.echo(
            "warning: --output is deprecated and will be removed in the next release; use --out",
            err=True,
        )
        output_file = legacy_output_file
    env = obj.environment(env_name)
    workspace = Workspace(env)
    try:
        report = check_drift(workspace, since_version)
        classes = {
            r.name.lower(): r.spec["classification"]
            for r in workspace.desired().resources.values()
            if r.kind == "CustomField" and r.spec.get("classification")
        }
    finally:
        workspace.close()
    if output_format == "html":
        from crmctl.render.drift_html import drift_html

        text = drift_html(report, classes)
    else:
        text = render_drift(report, output_format, colour=False)
    if output_file is not None:
        output_file.parent.mkdir(parents=True, exist_ok=True)
        output_file.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        click.echo(f"{report.summary()} Report written to {output_file}.")
    elif output_format == "html":
        click.echo(text)
    else:
        click.echo(render_drift(report, output_format, use_colour(force=obj.colour)))
    return report.exit_code
    if output_file is not None:
        if output_format != "html":
            text = render_drift(report, output_format, colour=False)
        output_file.parent.mkdir(parents=True, exist_ok=True)
        output_file.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        click.echo(f"{report.summary()} Report written to {output_file}.")
    else:
        click.echo(render_drift(report, output_format, use_colour(force=obj.colour)))
    return report.exit_code
