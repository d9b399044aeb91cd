"""Measure a plan's impact from wherever its environment's records are (the library behind
`crmctl plan --impact`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from crmctl.config.environment import Environment, display_path
from crmctl.errors import CrmctlError, ProviderError
from crmctl.impact.engine import measure_impact
from crmctl.impact.model import ImpactReport
from crmctl.impact.sources import (
    copy_live_records,
    environment_database,
    objects_needed,
    open_read_only,
)
from crmctl.model import Resource
from crmctl.plan.model import Plan

__all__ = [
    "plan_impact",
    "require_live_reading",
    "require_local_records",
    "MAX_LIVE_LIMIT",
    "LIVE_PROVIDERS",
]

#: The most records per object `--impact-from-live` reads.
MAX_LIVE_LIMIT = 1_000_000
#: Providers that can read live records for an impact measurement (`read_records`).
LIVE_PROVIDERS = ("sandbox",)


def require_live_reading(env: Environment) -> None:
    """Refuse `--impact-from-live` up front (before any login) for providers that cannot."""
    kind = env.provider.get("type")
    if kind not in LIVE_PROVIDERS:
        raise CrmctlError(
            f"--impact-from-live is not supported for the {kind} provider yet; nothing was read",
            hint="export the records with the vendor's tools and load them: crmctl sandbox load "
            f"-e {env.name} --db .crmctl/{env.name}-records.db --from export/, then crmctl plan "
            f"-e {env.name} --impact --impact-db .crmctl/{env.name}-records.db (docs/impact.md)",
        )


def require_local_records(env: Environment) -> None:
    """Refuse `--impact` without a source (before any login) when the records are not here."""
    if environment_database(env) is None:
        raise _no_records(env)


def _no_records(env: Environment) -> CrmctlError:
    kind = env.provider.get("type")
    return CrmctlError(
        f"environment {env.name} ({kind}) keeps its records in the CRM, not on this machine; "
        "nothing to measure the impact on",
        hint="load a records export into a sandbox database and pass it: crmctl sandbox load "
        "--db .crmctl/records.db --from export/ && crmctl plan --impact --impact-db "
        f".crmctl/records.db -e {env.name} (docs/impact.md); or read a sample: "
        "--impact-from-live --impact-limit 10000",
    )


def plan_impact(
    env: Environment,
    provider: Any,
    live: Mapping[str, Resource],
    plan: Plan,
    *,
    database: Path | None = None,
    from_live: bool = False,
    limit: int = 10_000,
    show_values: bool = False,
    now: datetime | None = None,
) -> ImpactReport:
    """The plan's impact on the environment's records (its sandbox, a loaded export, or live)."""
    notes: list[str] = []
    if from_live:
        require_live_reading(env)
        read = provider.read_records
        conn = sqlite3.connect(":memory:")  # live records never touch the disk
        try:
            _, notes = copy_live_records(read, objects_needed(live, plan.changes), limit, conn)
        except ProviderError:
            conn.close()
            raise
        source = (
            f"the live CRM ({provider.describe()}, at most {limit} records per object, read-only)"
        )
    else:
        path = database if database is not None else environment_database(env)
        if path is None:
            raise _no_records(env)
        conn = open_read_only(path)
        source = f"sandbox database {display_path(path)}"
    try:
        report = measure_impact(
            conn, live, plan.changes, source=source, now=now, show_values=show_values
        )
    finally:
        conn.close()
    report.notes = notes + report.notes
    return report
