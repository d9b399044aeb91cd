"""Versions as text and JSON: `crmctl history`, `crmctl show`, `crmctl diff`."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from crmctl.history import VersionRecord
from crmctl.history.lock import LockInfo
from crmctl.plan import Change
from crmctl.plan.encode import plan_from_dict
from crmctl.render.plan_view import changes_lines
from crmctl.render.style import paint

__all__ = ["history_text", "history_json", "version_text", "snapshot_diff_text", "lock_text"]

_STATUS_COLOUR = {"applied": "green", "no changes": None}


def _counts(meta: dict[str, Any]) -> str:
    s = meta.get("summary", {})
    return f"+{s.get('add', 0)} ~{s.get('change', 0)} -{s.get('destroy', 0)}"


def _note(meta: dict[str, Any]) -> str:
    return f"rollback to {meta['rollbackTo']}" if meta.get("rollbackTo") else ""


def history_text(env: str, versions: list[dict[str, Any]], colour: bool = False) -> str:
    """One line per version, newest last."""
    if not versions:
        return f"{env} has no versions yet: nothing was applied to it."
    rows = [("VERSION", "WHEN", "WHO", "STATUS", "CHANGES", "NOTE")]
    rows += [
        (
            f"v{m['version']}",
            m.get("at", ""),
            m.get("actor", ""),
            m.get("status", ""),
            _counts(m),
            _note(m),
        )
        for m in versions
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for i, row in enumerate(rows):
        text = (
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1]
        )
        status = row[3]
        colour_name = None if i == 0 else _STATUS_COLOUR.get(status, "red")
        lines.append(paint(text.rstrip(), colour_name, colour, bold=i == 0))
    return "\n".join(lines)


def history_json(env: str, versions: list[dict[str, Any]]) -> str:
    return json.dumps(
        {"formatVersion": 1, "environment": env, "versions": versions}, indent=2, ensure_ascii=False
    )


def version_text(record: VersionRecord, colour: bool = False) -> str:
    """Everything about one version: who, when, result per change, approvals, snapshot."""
    meta = record.meta
    out = [paint(f"Version v{meta['version']} of {record.environment}", None, colour, bold=True)]
    for label, value in (
        ("when", meta.get("at")),
        ("who", meta.get("actor")),
        ("status", meta.get("status")),
        ("crmctl", meta.get("crmctlVersion")),
        ("note", _note(meta) or None),
        ("error", meta.get("error")),
    ):
        if value:
            out.append(f"  {label + ':':8} {value}")
    approvals = meta.get("approvals") or []
    out.append("")
    out.append("Approvals:" + ("" if approvals else " none recorded"))
    for a in approvals:
        out.append(f"  {a.get('role')}: {a.get('approver')} ({a.get('ticket') or 'no ticket'})")
    glass = meta.get("breakGlass")
    if glass:
        roles = ", ".join(dict.fromkeys(m.get("role", "") for m in glass.get("missing") or []))
        out.append(
            f"Break-glass: {glass.get('id')} by {glass.get('actor')} ({glass.get('reason')!r}), "
            f"without {roles or 'nothing'}; review by {glass.get('reviewBy')}"
        )
    out.append("")
    out.append("Result:")
    rows = record.result.get("changes", [])
    width = max((len(r["address"]) for r in rows), default=0)
    for r in rows:
        error = f": {r['error']}" if r.get("error") else ""
        out.append(f"  {r['address'].ljust(width)}  {r['result']}{error}")
    if not rows:
        out.append("  no changes")
    restore = record.result.get("restore")
    if restore:
        state = "complete" if restore.get("complete") else "INCOMPLETE"
        out.append(
            f"  restore after the failure: {state} ({len(restore.get('changes', []))} change(s) undone)"
        )
    by_kind = Counter(a.split("/", 1)[0] for a in record.after)
    out.append("")
    out.append(
        f"Snapshot after: {len(record.after)} resources"
        + (
            " (" + ", ".join(f"{k} {n}" for k, n in sorted(by_kind.items())) + ")"
            if by_kind
            else ""
        )
    )
    plan = plan_from_dict(record.plan)
    if plan.changes:
        out.append("")
        out.append("Plan:")
        out.extend(changes_lines(plan.changes, colour))
    return "\n".join(out)


def snapshot_diff_text(
    env: str, old: str, new: str, changes: list[Change], colour: bool = False
) -> str:
    """What differs between the configuration two versions left."""
    if not changes:
        return f"{old} and {new} of {env} left the same configuration."
    added = sum(c.after is not None and c.before is None for c in changes)
    removed = sum(c.after is None for c in changes)
    changed = len(changes) - added - removed
    out = [f"From {old} to {new} of {env}:", "", *changes_lines(changes, colour), ""]
    out.append(
        f"{len(changes)} resource(s) differ: {added} added, {changed} changed, {removed} removed."
    )
    return "\n".join(out)


def lock_text(env: str, local: LockInfo | None, remote: LockInfo | None) -> str:
    if local is None and remote is None:
        return f"{env} is not locked."
    lines = []
    if local is not None:
        stale = (
            " (stale: that process is gone; the next apply takes the lock over)"
            if local.stale
            else ""
        )
        lines.append(f"{env} is locked by {local.describe()}{stale}")
    if remote is not None:
        lines.append(f"{env} is locked on the history remote by {remote.describe()}")
    return "\n".join(lines)
