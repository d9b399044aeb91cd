"""A saved plan is bound to its content: what apply carries out is recomputed, never read.

At apply, crmctl computes the plan again (from the manifests at the digest the
file records and the live CRM; for a rollback, from the version's recorded
snapshot) and compares it with the file. Any difference in the changes - an
address, an action, a `before` or an `after` - refuses the file. Pure: the
caller computes both plans.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from crmctl.plan.model import Change, Plan

__all__ = ["plan_differences", "snapshot_digest"]


def snapshot_digest(snapshot: dict[str, Any]) -> str:
    """sha256 of a recorded snapshot ({address: canonical spec}), independent of key order."""
    text = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _keys_differing(saved: dict[str, Any] | None, fresh: dict[str, Any] | None) -> list[str]:
    saved, fresh = saved or {}, fresh or {}
    return sorted(k for k in set(saved) | set(fresh) if saved.get(k) != fresh.get(k))


def _spec_difference(which: str, saved: Change, fresh: Change) -> str | None:
    mine, theirs = getattr(saved, which), getattr(fresh, which)
    if mine == theirs:
        return None
    if mine is None or theirs is None:
        state = "absent" if mine is None else "present"
        return f"its `{which}` is {state} in the file but not in the plan computed now"
    keys = _keys_differing(mine, theirs)
    return f"its `{which}` differs in {', '.join(keys)}"


def plan_differences(saved: Plan, fresh: Plan) -> list[str]:
    """Every way the saved plan's changes differ from the recomputed ones (empty: identical)."""
    mine = {c.address: c for c in saved.changes}
    theirs = {c.address: c for c in fresh.changes}
    out: list[str] = []
    if len(mine) != len(saved.changes):
        out.append("the file lists a resource more than once")
    for address, change in mine.items():
        other = theirs.get(address)
        if other is None:
            out.append(
                f"{address}: the file would {change.action.word} it; "
                "the plan computed now has no change to it"
            )
            continue
        if change.action is not other.action:
            out.append(
                f"{address}: the file would {change.action.word} it; "
                f"the plan computed now would {other.action.word} it"
            )
            continue
        for which in ("before", "after"):
            problem = _spec_difference(which, change, other)
            if problem:
                out.append(f"{address}: {problem}")
    for address, change in theirs.items():
        if address not in mine:
            out.append(
                f"{address}: the plan computed now would {change.action.word} it; "
                "the file leaves it out"
            )
    return out
