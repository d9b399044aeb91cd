"""Plans as text (terminal, colour optional) and markdown (pull-request comments)."""

from __future__ import annotations

import json
from typing import Any

from crmctl.errors import Severity
from crmctl.plan import Action, Change, Plan
from crmctl.render.diagnostics import diagnostics_lines
from crmctl.render.governance_view import (
    approval_checklist_markdown,
    approval_lines,
    approvals_summary,
)
from crmctl.render.style import paint

__all__ = [
    "BIG_PLAN",
    "SHOWN_PER_KIND",
    "plan_text",
    "plan_markdown",
    "value_text",
    "changes_lines",
    "kind_counts_text",
]

#: Past this many changes a text plan is grouped by kind (`--detail full` lists every change).
BIG_PLAN = 200
#: How many changes of each kind a grouped plan shows in full.
SHOWN_PER_KIND = 10

_COLOURS = {
    Action.CREATE: "green",
    Action.UPDATE: "yellow",
    Action.DELETE: "red",
    Action.REPLACE: "magenta",
}


def value_text(value: Any) -> str:
    """A value as one line of JSON (strings quoted, non-ASCII kept)."""
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _diff_lines(change: Change) -> list[tuple[str, str]]:
    """(symbol, text) per field-level difference."""
    if change.action is Action.DELETE:
        return []
    lines = []
    for d in change.diffs:
        if d.change == "added":
            lines.append(("+", f"{d.path}: {value_text(d.after)}"))
        elif d.change == "removed":
            lines.append(("-", f"{d.path}: {value_text(d.before)}"))
        else:
            lines.append(("~", f"{d.path}: {value_text(d.before)} -> {value_text(d.after)}"))
    return lines


def changes_lines(changes: list[Change], colour: bool = False) -> list[str]:
    """Each change's header line and its field-level lines."""
    out = []
    for change in changes:
        head = f"  {change.action.value} {change.address}"
        if change.action is Action.REPLACE:
            head += f"  ({change.reason})"
        out.append(paint(head, _COLOURS[change.action], colour, bold=True))
        for symbol, text in _diff_lines(change):
            out.append(paint(f"      {symbol} {text}", _COLOURS[Action(symbol)], colour))
        if change.approvals is not None:
            out.extend(approval_lines(change.approvals, colour))
    return out


def kind_counts_text(changes: list[Change]) -> str:
    """`3 to add, 1 to change` for some changes (a replace is one add and one destroy)."""
    add = sum(c.action in (Action.CREATE, Action.REPLACE) for c in changes)
    change = sum(c.action is Action.UPDATE for c in changes)
    destroy = sum(c.action in (Action.DELETE, Action.REPLACE) for c in changes)
    parts = [(add, "to add"), (change, "to change"), (destroy, "to destroy")]
    return ", ".join(f"{n} {what}" for n, what in parts if n)


def _grouped_lines(plan: Plan, colour: bool) -> list[str]:
    """A big plan by kind: a count line per kind, its first changes, how many more."""
    by_kind: dict[str, list[Change]] = {}
    for change in plan.changes:
        by_kind.setdefault(change.kind, []).append(change)
    out = [
        f"{len(plan.changes)} changes, grouped by kind; the first {SHOWN_PER_KIND} of each are "
        "shown (--detail full lists every change):",
        "",
    ]
    for kind, changes in by_kind.items():
        out.append(
            paint(f"{kind}: {len(changes)} ({kind_counts_text(changes)})", None, colour, bold=True)
        )
        out.extend(changes_lines(changes[:SHOWN_PER_KIND], colour))
        hidden = changes[SHOWN_PER_KIND:]
        if hidden:
            out.append(f"  ... and {len(hidden)} more {kind} changes ({kind_counts_text(hidden)})")
        out.append("")
    return out[:-1]


def plan_text(plan: Plan, colour: bool = False, detail: str = "auto") -> str:
    """The plan for a terminal: each change with its field-level lines, then the summary.

    Past BIG_PLAN changes (unless `detail` is "full") the changes are grouped by kind.
    """
    out = diagnostics_lines(plan.diagnostics, colour)
    if plan.diagnostics:
        out.append("")
    if plan.changes:
        if plan.rollback_to:
            out.append(
                f"crmctl will make these changes to return {plan.environment} to {plan.rollback_to} ({plan.provider}):"
            )
        else:
            out.append(f"crmctl will make these changes in {plan.environment} ({plan.provider}):")
        out.append("")
        if detail != "full" and len(plan.changes) > BIG_PLAN:
            out.extend(_grouped_lines(plan, colour))
        else:
            out.extend(changes_lines(plan.changes, colour))
        out.append("")
    if plan.policy_change is not None:
        out.append(f"Governance: {plan.policy_change.reason}; the policy owners approve it:")
        out.append("")
        out.extend(changes_lines([plan.policy_change], colour))
        out.append("")
    if plan.unmanaged:
        n = len(plan.unmanaged)
        out.append(
            f"Unmanaged: {n} resource{'s' * (n != 1)} in the CRM {'is' if n == 1 else 'are'} "
            "not in the manifests; crmctl leaves them alone:"
        )
        shown = (
            plan.unmanaged if detail == "full" or n <= BIG_PLAN else plan.unmanaged[:SHOWN_PER_KIND]
        )
        out.extend(f"  {a}" for a in shown)
        if len(shown) < n:
            out.append(f"  ... and {n - len(shown)} more (--detail full lists them)")
        out.append("")
    if plan.errors:
        out.append(paint("The plan has errors and cannot be applied.", "red", colour, bold=True))
    approvals = approvals_summary(plan)
    if approvals:
        out.append(approvals)
    out.append(paint(plan.summary(), None, colour, bold=True))
    return "\n".join(out)


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _approvals_markdown(plan: Plan) -> list[str]:
    """An approvals checklist per change that needs approvals (and for a changed policy)."""
    governed = [c for c in plan.changes if c.approvals is not None]
    if plan.policy_change is not None and plan.policy_change.approvals is not None:
        governed.append(plan.policy_change)
    if not governed:
        return []
    out = ["#### Approvals", ""]
    for change in governed:
        approvals = change.approvals
        if approvals is None:
            continue
        head = f"**{change.action.value} `{_md_escape(change.address)}`**"
        if change is plan.policy_change:
            head += f" ({_md_escape(change.reason)})"
        if approvals.author:
            head += f" (requested by: {_md_escape(approvals.author)})"
        out += [
            head,
            "",
            *(_md_escape(line) for line in approval_checklist_markdown(approvals)),
            "",
        ]
    out += [_md_escape(approvals_summary(plan) or ""), ""]
    return out


def plan_markdown(plan: Plan) -> str:
    """The plan for a pull-request comment: a summary table and collapsible details per resource."""
    out = [f"### crmctl plan for `{plan.environment}`", ""]
    errors = plan.errors
    if errors:
        n = len(errors)
        out.append(f"> ❌ **This plan cannot be applied**: {n} error{'s' * (n != 1)}.")
        out.append(">")
        out.extend(f"> - {_md_escape(error.render())}" for error in errors)
        out.append("")
    out += [f"**{plan.summary()}**", ""]
    warnings = [d for d in plan.diagnostics if d.severity is not Severity.ERROR]
    if warnings:
        for warning in warnings:
            out.append(f"- ⚠️ {_md_escape(warning.render())}")
        out.append("")
    if plan.changes:
        out += ["| | Resource | What changes |", "|---|---|---|"]
        for change in plan.changes:
            if change.action in (Action.CREATE, Action.DELETE):
                what = change.action.word
            else:
                what = ", ".join(f"`{_md_escape(d.path)}`" for d in change.diffs[:6])
                if len(change.diffs) > 6:
                    what += f" and {len(change.diffs) - 6} more"
                if change.action is Action.REPLACE:
                    what = f"**replace**: {_md_escape(change.reason)}; " + what
            out.append(f"| {change.action.value} | `{change.address}` | {what} |")
        out.append("")
        for change in plan.changes:
            lines = _diff_lines(change)
            if not lines:
                continue
            out.append(
                f"<details><summary>{change.action.value} <code>{_md_escape(change.address)}</code></summary>"
            )
            out.append("")
            out.append("```diff")
            for d in change.diffs:
                if d.change != "added":
                    out.append(f"- {d.path}: {value_text(d.before)}")
                if d.change != "removed":
                    out.append(f"+ {d.path}: {value_text(d.after)}")
            out.append("```")
            out.append("</details>")
            out.append("")
    out.extend(_approvals_markdown(plan))
    if plan.unmanaged:
        out.append(
            f"<details><summary>{len(plan.unmanaged)} unmanaged resources (left alone)</summary>"
        )
        out.append("")
        out.extend(f"- `{a}`" for a in plan.unmanaged)
        out.append("</details>")
        out.append("")
    return "\n".join(out).rstrip() + "\n"
