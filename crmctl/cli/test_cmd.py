"""`crmctl test`: run the configuration tests in crm-tests/ against a throwaway sandbox."""

from __future__ import annotations

from pathlib import Path

import click

from crmctl.cli.context import CliContext, env_option, format_option
from crmctl.crmtest import run_tests, shown_paths
from crmctl.errors import CrmctlError
from crmctl.render.style import use_colour
from crmctl.render.test_view import (
    test_report_json,
    test_report_junit,
    test_report_text,
    test_summary,
)


@click.command("test")
@env_option
@format_option("text", "junit", "json")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the report to this file (the summary line still goes to the terminal).",
)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.pass_obj
def test_command(
    obj: CliContext,
    env_name: str | None,
    output_format: str,
    out: Path | None,
    paths: tuple[Path, ...],
) -> int:
    """Run configuration tests: records, access, retention and duplicates.

    Each YAML document in crm-tests/*.yaml (or the PATHS given) is one case.
    The cases run against a throwaway sandbox CRM built from the manifests,
    with the environment's overrides applied; every case starts from an
    empty sandbox. Nothing is read from or written to any real CRM.

    Exit status: 0 when every case passes, 1 when any fails or cannot run.

    \b
    Examples:
      crmctl test
      crmctl test -e staging crm-tests/retention.yaml
      crmctl test --format junit --out test-results.xml
    """
    env = obj.environment(env_name)
    chosen = [Path.cwd() / p for p in paths] if paths else None  # as typed: from the cwd
    report = run_tests(env, chosen)
    if output_format == "junit":
        rendered = test_report_junit(report)
    elif output_format == "json":
        rendered = test_report_json(report)
    else:
        colour = use_colour(force=obj.colour) if out is None else False
        rendered = test_report_text(report, shown_paths(env, chosen), colour)
    if out is None:
        click.echo(rendered)
    else:
        try:
            out.write_text(rendered + "\n", encoding="utf-8")
        except OSError as exc:
            raise CrmctlError(f"cannot write {out}: {exc.strerror or exc}") from None
        click.echo(f"{test_summary(report)}; report written to {out}")
    return 0 if report.ok else 1
