"""Plans as text (terminal, colour optional) and markdown (pull-request comments)."""

from __future__ import annotations

import json
from typing import Any

from crmctl.errors import Severity
from crmctl.plan import Action, Change, Plan
from crmctl.render.diagnostics import diagnostic_lines
from crmctl.render.style import paint

__all__ = ["plan_text", "plan_markdown", "value_text"]

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


def plan_text(plan: Plan, colour: bool = False) -> str:
    """The plan for a terminal: each change with its field-level lines, then the summary."""
    out = []
    for diagnostic in plan.diagnostics:
        out.extend(diagnostic_lines(diagnostic, colour))
    if plan.diagnostics:
        out.append("")
    if plan.changes:
        out.append(f"crmctl will make these changes in {plan.environment} ({plan.provider}):")
        out.append("")
        for change in plan.changes:
            colour_name = _COLOURS[change.action]
            head = f"  {change.action.value} {change.address}"
            if change.action is Action.REPLACE:
                head += f"  ({change.reason})"
            out.append(paint(head, colour_name, colour, bold=True))
            for symbol, text in _diff_lines(change):
                out.append(paint(f"      {symbol} {text}", _COLOURS[Action(symbol)], colour))
        out.append("")
    if plan.unmanaged:
        n = len(plan.unmanaged)
        out.append(
            f"Unmanaged: {n} resource{'s' * (n != 1)} in the CRM {'is' if n == 1 else 'are'} "
            "not in the manifests; crmctl leaves them alone:"
        )
        out.extend(f"  {a}" for a in plan.unmanaged)
        out.append("")
    if plan.errors:
        out.append(paint("The plan has errors and cannot be applied.", "red", colour, bold=True))
    out.append(paint(plan.summary(), None, colour, bold=True))
    return "\n".join(out)


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def plan_markdown(plan: Plan) -> str:
    """The plan for a pull-request comment: a summary table and collapsible details per resource."""
    out = [f"### crmctl plan for `{plan.environment}`", "", f"**{plan.summary()}**", ""]
    problems = [d for d in plan.diagnostics]
    if problems:
        for d in problems:
            icon = "❌" if d.severity is Severity.ERROR else "⚠️"
            out.append(f"- {icon} {_md_escape(d.render())}")
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
    if plan.unmanaged:
        out.append(
            f"<details><summary>{len(plan.unmanaged)} unmanaged resources (left alone)</summary>"
        )
        out.append("")
        out.extend(f"- `{a}`" for a in plan.unmanaged)
        out.append("</details>")
        out.append("")
    return "\n".join(out).rstrip() + "\n"
