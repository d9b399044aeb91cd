"""The outcome of an apply (per change or per kind), and the JSON documents of apply, show, diff.

Every JSON document crmctl prints carries `formatVersion`; fields are only
ever added within a format version. The shapes are described in
docs/json-output.md.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from crmctl.executor import ApplyOutcome, result_document
from crmctl.history import VersionRecord
from crmctl.plan import Action, Change
from crmctl.plan.encode import change_to_dict, plan_to_dict
from crmctl.render.style import paint

__all__ = [
    "JSON_FORMAT_VERSION",
    "applied_counts",
    "result_lines",
    "result_by_kind_lines",
    "apply_json",
    "version_json",
    "snapshot_diff_json",
]

JSON_FORMAT_VERSION = 1


def applied_counts(changes: list[Change]) -> dict[str, int]:
    """How many resources were added, changed and destroyed (a replace is one of each)."""
    return {
        "added": sum(c.action in (Action.CREATE, Action.REPLACE) for c in changes),
        "changed": sum(c.action is Action.UPDATE for c in changes),
        "destroyed": sum(c.action in (Action.DELETE, Action.REPLACE) for c in changes),
    }


def _rows(outcome: ApplyOutcome) -> list[tuple[Change, str, str]]:
    rows = [(c, "applied", "green") for c in outcome.applied]
    if outcome.failed is not None:
        rows.append((outcome.failed, f"FAILED: {outcome.error}", "red"))
    rows += [(c, "not applied", "yellow") for c in outcome.not_applied]
    return rows


def result_lines(outcome: ApplyOutcome, colour: bool) -> list[str]:
    """One line per change: applied, FAILED or not applied; then what a restore undid."""
    rows = _rows(outcome)
    undo = outcome.restore.changes if outcome.restore else []
    width = max(len(c.address) for c in [*(row[0] for row in rows), *undo])
    lines = [
        paint(f"  {c.action.value} {c.address.ljust(width)}  {text}", col, colour)
        for c, text, col in rows
    ]
    if undo:
        lines.append("Restored (undoing the changes above):")
        lines += [
            paint(f"  {c.action.value} {c.address.ljust(width)}  undone", "cyan", colour)
            for c in undo
        ]
    return lines


def result_by_kind_lines(outcome: ApplyOutcome, colour: bool) -> list[str]:
    """A line per kind (`CustomField  2400 applied`), the failed change in full, the restore."""
    counts: dict[str, Counter[str]] = {}
    for change in outcome.plan.changes:
        counts.setdefault(change.kind, Counter())
    for change, text, _ in _rows(outcome):
        counts.setdefault(change.kind, Counter())[
            "failed" if text.startswith("FAILED") else text
        ] += 1
    width = max((len(k) for k in counts), default=0)
    number = max((len(str(n)) for c in counts.values() for n in c.values()), default=1)
    lines = []
    for kind, counter in counts.items():
        parts = [
            f"{counter[what]:>{number}} {what}"
            for what in ("applied", "failed", "not applied")
            if counter[what]
        ]
        if parts:
            colour_name = (
                "red" if counter["failed"] else "green" if not counter["not applied"] else "yellow"
            )
            lines.append(paint(f"  {kind.ljust(width)}  {', '.join(parts)}", colour_name, colour))
    if outcome.failed is not None:
        lines.append(
            paint(
                f"  FAILED: {outcome.failed.action.value} {outcome.failed.address}: {outcome.error}",
                "red",
                colour,
            )
        )
    undo = outcome.restore.changes if outcome.restore else []
    if undo:
        lines.append(
            paint(
                f"Restored (undoing the changes above): {len(undo)} change(s) undone.",
                "cyan",
                colour,
            )
        )
    return lines


def _dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False)


def apply_json(outcome: ApplyOutcome, environment: str) -> str:
    """`apply --format json`: the plan carried out, its result per change, the version."""
    return _dumps(
        {
            "formatVersion": JSON_FORMAT_VERSION,
            "environment": environment,
            "status": outcome.status if outcome.plan.changes else "no changes",
            "ok": outcome.ok,
            "version": f"v{outcome.version}" if outcome.version else None,
            "summary": applied_counts(outcome.applied),
            "result": result_document(outcome),
            "plan": plan_to_dict(outcome.plan),
        }
    )


def version_json(record: VersionRecord) -> str:
    """`show vN --format json`: a version's record as the history holds it."""
    return _dumps(
        {
            "formatVersion": JSON_FORMAT_VERSION,
            "environment": record.environment,
            "version": f"v{record.meta.get('version')}",
            "meta": record.meta,
            "result": record.result,
            "plan": record.plan,
            "snapshotAfter": record.after,
        }
    )


def snapshot_diff_json(env: str, old: str, new: str, changes: list[Change]) -> str:
    """`diff vA vB --format json`: what differs between the configuration two versions left."""
    added = sum(c.after is not None and c.before is None for c in changes)
    removed = sum(c.after is None for c in changes)
    return _dumps(
        {
            "formatVersion": JSON_FORMAT_VERSION,
            "environment": env,
            "from": old,
            "to": new,
            "summary": {
                "added": added,
                "changed": len(changes) - added - removed,
                "removed": removed,
            },
            "changes": [change_to_dict(c) for c in changes],
        }
    )
