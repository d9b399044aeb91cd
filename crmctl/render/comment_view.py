"""The plan as a pull-request comment: bounded in size, blocking problems first.

A code host rejects long comments (GitHub: 65,536 characters), while a plan of a
whole org runs to megabytes of markdown. The comment therefore keeps what a
reviewer decides on (whether the plan can be applied and why not, the summary,
the changes that need approval) and fills the rest of its budget with the change
table and the field-level diffs, saying what it left out and linking the full plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crmctl.errors import Severity
from crmctl.plan import Action, Change, Plan
from crmctl.render.governance_view import approval_checklist_markdown, approvals_summary
from crmctl.render.plan_view import plan_markdown, value_text

__all__ = ["COMMENT_LIMIT", "plan_comment", "full_plan_markdown", "blocked"]

#: Below GitHub's 65,536-character limit, with room for what a bot may add.
COMMENT_LIMIT = 60_000
#: How much of the plan command's error output a comment quotes (its start: the error line).
_ERROR_OUTPUT = 4_000
#: Room kept for the closing "shortened" note and the link.
_FOOTER_ROOM = 700


def _esc(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def blocked(plan: Plan | None, exit_code: int) -> bool:
    """Whether the plan cannot be applied: crmctl plan failed, or found errors."""
    return exit_code not in (0, 2) or plan is None or bool(plan.errors)


def _reasons(plan: Plan | None, exit_code: int, error_output: str) -> list[str]:
    lines = []
    if plan is not None:
        lines += [f"- ❌ {_esc(d.render())}" for d in plan.errors]
    text = error_output.strip()
    if text and (plan is None or not plan.errors):
        if len(text) > _ERROR_OUTPUT:
            text = text[:_ERROR_OUTPUT] + "\n…"
        lines += [*([""] if lines else []), "```text", text.replace("```", "'''"), "```"]
    if not lines:
        lines.append(f"- ❌ `crmctl plan` exited with status {exit_code} and printed no reason")
    return lines


def _banner(plan: Plan | None, exit_code: int, error_output: str) -> list[str]:
    if not blocked(plan, exit_code):
        return []
    return [
        "> ❌ **This plan cannot be applied.** Fix the problems below and push again.",
        "",
        *_reasons(plan, exit_code, error_output),
        "",
    ]


def _title(plan: Plan | None, environment: str) -> list[str]:
    return [f"### crmctl plan for `{_esc(plan.environment if plan else environment)}`", ""]


def full_plan_markdown(
    plan: Plan | None, exit_code: int, error_output: str, environment: str = ""
) -> str:
    """The whole plan as markdown (for the artifact), with the banner when it is blocked."""
    banner = _banner(plan, exit_code, error_output)
    if plan is None:
        return "\n".join([*_title(plan, environment), *banner]).rstrip() + "\n"
    body = plan_markdown(plan)
    if not banner:
        return body
    first, _, rest = body.partition("\n\n")
    return first + "\n\n" + "\n".join(banner) + rest


def _governed(plan: Plan) -> list[Change]:
    governed = [c for c in plan.changes if c.approvals is not None]
    if plan.policy_change is not None and plan.policy_change.approvals is not None:
        governed.append(plan.policy_change)
    return governed


def _governed_block(plan: Plan, change: Change) -> list[str]:
    head = f"**{change.action.value} `{_esc(change.address)}`**"
    if change is plan.policy_change:
        head += f" ({_esc(change.reason)})"
    assert change.approvals is not None
    if change.approvals.author:
        head += f" (requested by: {_esc(change.approvals.author)})"
    checklist = [_esc(line) for line in approval_checklist_markdown(change.approvals)]
    return [head, "", *checklist, ""]


def _row(change: Change) -> str:
    if change.action in (Action.CREATE, Action.DELETE):
        what = change.action.word
    else:
        what = ", ".join(f"`{_esc(d.path)}`" for d in change.diffs[:6])
        if len(change.diffs) > 6:
            what += f" and {len(change.diffs) - 6} more"
        if change.action is Action.REPLACE:
            what = f"**replace**: {_esc(change.reason)}; " + what
    return f"| {change.action.value} | `{_esc(change.address)}` | {what} |"


def _details(change: Change) -> list[str]:
    if change.action is Action.DELETE or not change.diffs:
        return []
    out = [
        f"<details><summary>{change.action.value} <code>{_esc(change.address)}</code></summary>",
        "",
        "```diff",
    ]
    for d in change.diffs:
        if d.change != "added":
            out.append(f"- {d.path}: {value_text(d.before)}")
        if d.change != "removed":
            out.append(f"+ {d.path}: {value_text(d.after)}")
    return [*out, "```", "</details>", ""]


@dataclass
class _Budget:
    """Lines added while they fit; what did not fit is counted, never cut in the middle."""

    limit: int
    lines: list[str] = field(default_factory=list)
    used: int = 0

    def fits(self, block: list[str]) -> bool:
        return self.used + sum(len(line) + 1 for line in block) <= self.limit

    def add(self, block: list[str]) -> bool:
        if not self.fits(block):
            return False
        self.lines += block
        self.used += sum(len(line) + 1 for line in block)
        return True

    def section(self, header: list[str], items: list[list[str]], footer: list[str]) -> int:
        """Add a header, as many items as fit and a footer; return how many items were left out."""
        if not items:
            return 0
        if not self.fits([*header, *items[0], *footer]):
            return len(items)
        self.add(header)
        shown = 0
        for item in items:
            if not self.fits([*item, *footer]):
                break
            self.add(item)
            shown += 1
        self.add(footer)
        return len(items) - shown


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'s' * (n != 1)}"


def plan_comment(
    plan: Plan | None,
    exit_code: int,
    error_output: str = "",
    link: str | None = None,
    marker: str = "",
    environment: str = "",
    limit: int = COMMENT_LIMIT,
) -> str:
    """The comment: at most `limit` characters, whatever the size of the plan."""
    budget = _Budget(limit - _FOOTER_ROOM)
    budget.add([marker] if marker else [])
    budget.add(_title(plan, environment))
    banner = _banner(plan, exit_code, error_output)
    if banner and not budget.add(banner):
        # Thousands of errors: the first ones, in at most half the room, and the count of the rest.
        budget.add(banner[:2])
        half = budget.used + (budget.limit - budget.used) // 2
        reasons = banner[2:-1]
        shown = 0
        while shown < len(reasons) and budget.used + len(reasons[shown]) + 1 <= half:
            budget.add([reasons[shown]])
            shown += 1
        budget.add(
            [f"- … and {_plural(len(reasons) - shown, 'more problem')} (in the full plan)", ""]
        )
    omitted: list[str] = []
    if plan is not None:
        budget.add([f"**{plan.summary()}**", ""])
        warnings = [
            [f"- ⚠️ {_esc(d.render())}"]
            for d in plan.diagnostics
            if d.severity is not Severity.ERROR
        ]
        left = budget.section([], warnings, [""])
        if left:
            omitted.append(_plural(left, "warning"))
        governed = _governed(plan)
        left = budget.section(
            ["#### Changes that need approval", ""],
            [_governed_block(plan, c) for c in governed],
            [_esc(approvals_summary(plan) or ""), ""],
        )
        if left:
            omitted.append(f"{left:,} of {_plural(len(governed), 'change')} needing approval")
        left = budget.section(
            ["#### Changes", "", "| | Resource | What changes |", "|---|---|---|"],
            [[_row(c)] for c in plan.changes],
            [""],
        )
        if left:
            omitted.append(f"{left:,} of {_plural(len(plan.changes), 'change')} in the table")
        details = [block for block in map(_details, plan.changes) if block]
        left = budget.section([], details, [])
        if left:
            omitted.append(f"the diffs of {_plural(left, 'change')}")
        if plan.unmanaged:
            n = len(plan.unmanaged)
            unmanaged = [[f"- `{_esc(a)}`"] for a in plan.unmanaged]
            left = budget.section(
                [f"<details><summary>{n:,} unmanaged resources (left alone)</summary>", ""],
                unmanaged,
                ["</details>", ""],
            )
            if left:
                omitted.append(f"{left:,} of {n:,} unmanaged resources")
    footer = []
    if link and len(link) > _FOOTER_ROOM // 2:
        link = None  # a link that long is not one a code host made
    where = f"[the full plan]({link})" if link else "the full plan (the job's artifact)"
    if omitted:
        footer.append(f"**Shortened to fit a comment:** left out {'; '.join(omitted)}.")
        footer.append(f"Everything is in {where}.")
    elif link:
        footer.append(f"Also as a file: {where}.")
    return "\n".join(budget.lines + footer).rstrip() + "\n"
