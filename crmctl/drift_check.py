"""`crmctl drift` as a library call: gather the three states, then classify (crmctl.drift)."""

from __future__ import annotations

from datetime import UTC, datetime

from crmctl.dialect import dialect_of
from crmctl.drift import Baseline, DriftInputs, DriftReport, classify_drift, ignore_rules
from crmctl.providers.base import KeepsChangeLog
from crmctl.workspace import Workspace

__all__ = ["check_drift"]


def check_drift(workspace: Workspace, since_version: int | None = None) -> DriftReport:
    """Compare the live CRM with what crmctl applied (the latest version, or `since_version`)."""
    env = workspace.env
    workspace.sync_history()  # a shared history (history.remote) makes CI runs see every apply
    desired = workspace.desired().resources
    live = workspace.read_live()
    history = workspace.history
    latest = history.latest_version(env.name)
    number = since_version or latest
    baseline = applied = None
    info = Baseline("manifests")
    if number:
        record = history.version(env.name, number)
        baseline = record.after
        applied = history.version(env.name, latest).after if number != latest else None
        info = Baseline("history", number, record.meta.get("at"), record.meta.get("actor"), latest)
    provider = workspace.provider
    change_log, actors = None, set()
    if isinstance(provider, KeepsChangeLog):
        change_log = provider.change_log(since=info.applied_at)
        actors = {a for a in (provider.change_log_actor(), info.applied_by) if a}
    report = classify_drift(
        DriftInputs(
            environment=env.name,
            baseline_info=info,
            desired=desired,
            live=live,
            baseline=baseline,
            applied=applied,
            managed=history.managed(env.name),
            ignore=ignore_rules(
                env.data.get("drift", {}), lambda i: env.location("drift", "ignore", i)
            ),
            change_log=change_log,
            crmctl_actors=actors,
            supported_kinds=provider.supported_kinds(),
            unstored=workspace.unstored(),
            dialect=dialect_of(provider.type),
            labels=workspace.recorded_labels(),
        )
    )
    report.provider = provider.describe()
    report.checked_at = datetime.now(UTC).isoformat(timespec="seconds")
    return report
