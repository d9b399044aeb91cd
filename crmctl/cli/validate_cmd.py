"""`crmctl validate`: check manifests against the schemas and each other."""

from __future__ import annotations

from pathlib import Path

import click

from crmctl.cli.context import CliContext, cache_option, env_option, format_option
from crmctl.config.environment import Environment, standalone_environment
from crmctl.config.loader import load_desired_state
from crmctl.render.diagnostics import validation_report_json, validation_report_text
from crmctl.render.style import use_colour


@click.command()
@env_option
@format_option("text", "json")
@cache_option
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.pass_obj
def validate(
    obj: CliContext,
    env_name: str | None,
    output_format: str,
    no_cache: bool,
    paths: tuple[Path, ...],
) -> int:
    """Check manifests: YAML syntax, schemas, and references between resources.

    Every problem is listed as FILE:LINE: KIND/NAME: MESSAGE, not just the
    first. The environment's overrides are applied first. With PATHS, only
    problems in those files or folders are reported (the environment's other
    manifests are still read, so references into them resolve).

    Outside a project (no environments/ or crmctl.yaml here or above) and
    without -e, PATHS are checked on their own: no environment file, no
    overrides, references only among PATHS, the embedded sandbox's field
    limits. Handy for an imported folder or a colleague's branch.

    Exit status: 0 when valid, 1 when any problem was found.

    \b
    Examples:
      crmctl validate
      crmctl validate -e prod
      crmctl validate --format json manifests/sales/
      crmctl validate ~/Downloads/northwind-manifests/
    """
    env: Environment
    if paths and not obj.in_project and not obj.explicit_env(env_name):
        env = standalone_environment(Path.cwd())
    else:
        env = obj.environment(env_name)
    state = load_desired_state(
        env, only=[Path(p) for p in paths] if paths else None, use_cache=not no_cache
    )
    if output_format == "json":
        click.echo(
            validation_report_json(
                state.diagnostics, len(state.resources), len(state.files), env.name
            )
        )
    else:
        colour = use_colour(force=obj.colour)
        click.echo(
            validation_report_text(
                state.diagnostics, len(state.resources), len(state.files), colour
            )
        )
    return 1 if state.errors else 0
