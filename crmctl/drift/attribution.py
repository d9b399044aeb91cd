"""Who made an out-of-band change: the latest matching entry of the CRM's audit trail."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from crmctl.drift.model import Attribution
from crmctl.providers.base import ChangeLogEntry

__all__ = ["attribute", "parse_time"]


def parse_time(text: str) -> datetime | None:
    """An ISO-8601 time (`Z` or an offset; naive means UTC), or None when unreadable."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def attribute(
    address: str,
    entries: Iterable[ChangeLogEntry],
    since: str | None,
    crmctl_actors: set[str],
) -> Attribution | None:
    """The change that best explains the live state of `address` since the baseline was taken.

    That is the latest entry for the address at or after `since` that crmctl
    did not make itself. The baseline time has a granularity of a second, so
    crmctl's own writes of the last apply can fall in the window too; they
    are recognised by their actor. When only crmctl's own identity changed it
    (someone used crmctl's credentials by hand), that entry is reported.
    """
    start = parse_time(since) if since else None
    window = [
        e
        for e in entries
        if e.address == address
        and (start is None or ((at := parse_time(e.at)) is not None and at >= start))
    ]
    if not window:
        return None
    others = [e for e in window if e.actor not in crmctl_actors]
    chosen = (others or window)[-1]
    return Attribution(chosen.actor, chosen.at, chosen.action)
