"""The `--impact` options of `crmctl plan`: parse them and call `crmctl.impact`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from crmctl.config.environment import Environment
from crmctl.impact import ImpactReport
from crmctl.plan import Plan
from crmctl.workspace import Workspace

__all__ = ["impact_options", "check_impact_options", "wants_impact", "measure"]

#: crmctl.impact.run.MAX_LIVE_LIMIT, restated so that a plan without --impact does not load
#: the impact engine (tests/cli/test_lazy_cli.py keeps the two equal).
MAX_LIVE_LIMIT = 1_000_000


def impact_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--impact, --impact-db, --impact-from-live, --impact-limit, --show-values."""
    func = click.option(
        "--show-values",
        is_flag=True,
        help="Show the sample records' field values, not only their ids (they may be personal data).",
    )(func)
    func = click.option(
        "--impact-limit",
        type=click.IntRange(1, MAX_LIVE_LIMIT),
        default=10_000,
        show_default=True,
        help="With --impact-from-live: read at most this many records of each object.",
    )(func)
    func = click.option(
        "--impact-from-live",
        is_flag=True,
        help="Measure the impact on live records, read-only through the provider's query API "
        "(implies --impact).",
    )(func)
    func = click.option(
        "--impact-db",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Measure the impact on this sandbox database (e.g. one filled by crmctl sandbox load) "
        "instead of the environment's own records (implies --impact).",
    )(func)
    return click.option(
        "--impact",
        is_flag=True,
        help="Say what each change does to the records already stored (docs/impact.md).",
    )(func)


def wants_impact(options: dict[str, Any]) -> bool:
    return bool(options["impact"] or options["impact_db"] or options["impact_from_live"])


def check_impact_options(options: dict[str, Any], env: Environment) -> None:
    if options["impact_db"] is not None and options["impact_from_live"]:
        raise click.UsageError("--impact-db and --impact-from-live are two sources; give one")
    if options["show_values"] and not wants_impact(options):
        raise click.UsageError("--show-values belongs to --impact")
    if options["impact_from_live"]:
        from crmctl.impact.run import require_live_reading

        require_live_reading(env)
    elif options["impact"] and options["impact_db"] is None:
        from crmctl.impact.run import require_local_records

        require_local_records(env)


def measure(workspace: Workspace, plan: Plan, options: dict[str, Any]) -> ImpactReport:
    """The plan's impact, from the source the options name."""
    from crmctl.impact.run import plan_impact

    database = options["impact_db"]
    if database is not None and not database.is_absolute():
        database = workspace.env.project_dir / database
    return plan_impact(
        workspace.env,
        workspace.provider,
        workspace.live or {},
        plan,
        database=database,
        from_live=options["impact_from_live"],
        limit=options["impact_limit"],
        show_values=options["show_values"],
    )
