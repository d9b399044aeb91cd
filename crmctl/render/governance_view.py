"""Approvals and lint, as text, markdown and JSON: checklists, reports, summaries."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from crmctl.errors import Diagnostic, Severity
from crmctl.plan import Change, Plan
from crmctl.plan.approval_state import APPROVED, STALE, ApprovalState
from crmctl.render.diagnostics import diagnostic_lines
from crmctl.render.style import paint

__all__ = [
    "approval_lines",
    "approval_checklist_markdown",
    "approvals_summary",
    "approvals_report_text",
    "approvals_report_json",
    "lint_report_text",
    "lint_report_json",
]

_STATE_COLOURS = {APPROVED: "green", STALE: "yellow"}


def _governed(plan: Plan) -> list[Change]:
    changes = [c for c in plan.changes if c.approvals is not None]
    if plan.policy_change is not None and plan.policy_change.approvals is not None:
        changes.append(plan.policy_change)
    return changes


def approval_lines(state: ApprovalState, colour: bool = False, indent: int = 6) -> list[str]:
    """`approvals required: …` then one `[x]` / `[ ]` line per role."""
    pad = " " * indent
    head = f"{pad}approvals required: {', '.join(state.required)}"
    if state.author:
        head += f" (requested by: {state.author})"
    out = [head]
    for line in state.lines:
        mark = "[x]" if line.done else "[ ]"
        out.append(
            paint(f"{pad}  {mark} {line.text()}", _STATE_COLOURS.get(line.state, "red"), colour)
        )
    return out


def approval_checklist_markdown(state: ApprovalState) -> list[str]:
    """`- ✅ security-officer: tomas.berg@… (CHG-1234)` / `- ⏳ data-steward: missing`.

    Plain bullets: `- [ ]` would be task boxes anyone could tick on GitHub.
    """
    return [f"- {'✅' if line.done else '⏳'} {line.text()}" for line in state.lines]


def approvals_summary(plan: Plan) -> str | None:
    """One line: how many changes need approvals and how many have them; None when none do."""
    governed = _governed(plan)
    if not governed:
        return None
    done = sum(c.approvals.satisfied for c in governed if c.approvals)
    waiting = len(governed) - done
    n = len(governed)
    text = f"Approvals: {n} change{'s' * (n != 1)} need{'s' * (n == 1)} approvals: {done} approved, {waiting} waiting."
    if waiting:
        text += f" Apply refuses until they are complete (crmctl approvals -e {plan.environment})."
    return text


def _policy_head(change: Change) -> str:
    return f"  {change.action.value} {change.address}  ({change.reason})"


def approvals_report_text(plan: Plan, break_glass: Sequence[Any], colour: bool = False) -> str:
    """`crmctl approvals`: every change that needs approvals, its checklist, and break-glass reviews."""
    out: list[str] = []
    governed = _governed(plan)
    if governed:
        out.append(f"Approvals for {plan.environment}:")
        out.append("")
        for change in governed:
            head = (
                _policy_head(change)
                if change is plan.policy_change
                else f"  {change.action.value} {change.address}"
            )
            out.append(paint(head, None, colour, bold=True))
            if change.approvals is not None:  # _governed keeps only these
                out.extend(approval_lines(change.approvals, colour))
        out.append("")
    else:
        out.append(f"No change to {plan.environment} needs an approval.")
        out.append("")
    waiting = [s for s in break_glass if not s.done]
    if waiting:
        out.append("Break-glass applies awaiting review:")
        for s in waiting:
            flag = s.record
            version = f"v{flag.version}" if flag.version else "no version"
            out.append(
                f"  {flag.id}: {version} ({flag.status}) by {flag.actor} at {flag.at}: {flag.reason!r}"
            )
            due = "OVERDUE, " if s.overdue else ""
            out.append(
                paint(
                    f"      {due}review by {flag.review_by}; waiting for: {', '.join(s.waiting)}",
                    "red" if s.overdue else "yellow",
                    colour,
                )
            )
            for reviewer in s.reviewed.items():
                out.append(f"      reviewed: {reviewer[0]}: {reviewer[1]}")
            out.extend(f"      does not count: {text}" for text in s.not_counted)
            out.append(
                f"      review it: crmctl approve -e {plan.environment} --role ROLE --review {flag.id}"
            )
        out.append("")
    summary = approvals_summary(plan)
    if summary:
        out.append(paint(summary, None, colour, bold=True))
    if waiting:
        n = len(waiting)
        out.append(f"{n} break-glass apply{'s' * (n != 1)} awaiting review.")
    return "\n".join(out).rstrip("\n")


def approvals_report_json(plan: Plan, break_glass: Sequence[Any]) -> str:
    governed = _governed(plan)
    return json.dumps(
        {
            "formatVersion": 1,
            "environment": plan.environment,
            "changes": [
                {"address": c.address, "action": c.action.word, **c.approvals.to_dict()}
                for c in governed
                if c.approvals is not None
            ],
            "breakGlass": [
                {
                    "id": s.record.id,
                    "actor": s.record.actor,
                    "at": s.record.at,
                    "reason": s.record.reason,
                    "version": s.record.version,
                    "reviewBy": s.record.review_by,
                    "status": s.record.status,
                    "reviewed": s.reviewed,
                    "waiting": s.waiting,
                    "overdue": s.overdue,
                }
                for s in break_glass
            ],
        },
        indent=2,
        ensure_ascii=False,
    )


def _lint_summary(findings: Sequence[Diagnostic], resources: int) -> str:
    errors = sum(d.severity is Severity.ERROR for d in findings)
    warnings = len(findings) - errors
    if not findings:
        return f"lint: no findings in {resources} resource{'s' * (resources != 1)}"
    return f"lint: {errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)} in {resources} resources"


def lint_report_text(findings: Sequence[Diagnostic], resources: int, colour: bool = False) -> str:
    lines: list[str] = []
    for finding in findings:
        lines.extend(diagnostic_lines(finding, colour))
    errors = any(d.severity is Severity.ERROR for d in findings)
    lines.append(
        paint(_lint_summary(findings, resources), "red" if errors else "green", colour, bold=True)
    )
    return "\n".join(lines)


def lint_report_json(findings: Sequence[Diagnostic], resources: int, environment: str) -> str:
    errors = sum(d.severity is Severity.ERROR for d in findings)
    return json.dumps(
        {
            "formatVersion": 1,
            "environment": environment,
            "resources": resources,
            "errors": errors,
            "warnings": len(findings) - errors,
            "findings": [d.to_dict() for d in findings],
        },
        indent=2,
        ensure_ascii=False,
    )
