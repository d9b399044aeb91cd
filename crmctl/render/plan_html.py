"""A plan as one self-contained HTML page: summary charts, risks, approvals, field-level diffs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from crmctl.errors import Diagnostic, Severity
from crmctl.impact import ImpactReport
from crmctl.plan import Action, Change, Plan
from crmctl.plan.approval_state import APPROVED, MISSING, STALE
from crmctl.plan.diff import FieldDiff
from crmctl.render.governance_view import approvals_summary
from crmctl.render.html_page import PALETTE, badge, bar_chart, esc, page, table
from crmctl.render.impact_html import impact_section
from crmctl.render.plan_view import value_text

__all__ = ["plan_html", "diff_list", "diagnostics_list", "WATCHED_CLASSES"]

#: Classifications the report calls personal data.
WATCHED_CLASSES = ("PII", "Sensitive")
_ACTIONS = (Action.CREATE, Action.UPDATE, Action.DELETE, Action.REPLACE)
_STATE_COLOURS = {APPROVED: "#2e7d32", MISSING: "#c62828", STALE: "#b26a00"}


def diff_list(diffs: Sequence[FieldDiff]) -> str:
    """Field-level differences as coloured lines."""
    lines = []
    for d in diffs:
        path = esc(d.path)
        if d.change == "added":
            lines.append(f'<div class="add">+ {path}: {esc(value_text(d.after))}</div>')
        elif d.change == "removed":
            lines.append(f'<div class="del">- {path}: {esc(value_text(d.before))}</div>')
        else:
            lines.append(
                f'<div class="chg">~ {path}: <span class="del">{esc(value_text(d.before))}</span>'
                f' → <span class="add">{esc(value_text(d.after))}</span></div>'
            )
    return f'<div class="diff mono">{"".join(lines)}</div>' if lines else ""


def diagnostics_list(diagnostics: list[Diagnostic]) -> str:
    items = []
    for d in diagnostics:
        sev = "error" if d.severity is Severity.ERROR else "warning"
        where = f"{d.location}: " if d.location else ""
        hint = f'<br><span class="muted">hint: {esc(d.hint)}</span>' if d.hint else ""
        items.append(
            f'<li><span class="sev-{sev}">{sev}</span> {esc(where)}{esc(d.message)}{hint}</li>'
        )
    return f'<ul class="risks">{"".join(items)}</ul>'


def _by_kind(changes: list[Change]) -> list[tuple[str, list[tuple[str, int, str]]]]:
    kinds: dict[str, dict[Action, int]] = {}
    for c in changes:
        counts = kinds.setdefault(c.kind, {})
        counts[c.action] = counts.get(c.action, 0) + 1
    return [
        (kind, [(a.word, counts.get(a, 0), PALETTE[a.word]) for a in _ACTIONS])
        for kind, counts in sorted(kinds.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
    ]


def _governed(plan: Plan) -> list[Change]:
    governed = [c for c in plan.changes if c.approvals is not None]
    if plan.policy_change is not None and plan.policy_change.approvals is not None:
        governed.append(plan.policy_change)
    return governed


def _pii_touched(change: Change, classes: Mapping[str, str]) -> list[str]:
    """The PII or Sensitive fields a change is about (a field itself, or a set's field grants)."""
    if change.kind == "CustomField":
        found = {(s or {}).get("classification") for s in (change.before, change.after)}
        return [change.name] if found & set(WATCHED_CLASSES) else []
    if change.kind == "PermissionSet":
        fields: set[str] = set()
        for spec in (change.before, change.after):
            fields |= set(((spec or {}).get("fields") or {}).keys())
        before = ((change.before or {}).get("fields") or {}) if change.before else {}
        after = ((change.after or {}).get("fields") or {}) if change.after else {}
        return sorted(
            f
            for f in fields
            if classes.get(f.lower()) in WATCHED_CLASSES and before.get(f) != after.get(f)
        )
    return []


def _risks(plan: Plan, classes: Mapping[str, str]) -> list[str]:
    items = []
    for c in plan.changes:
        if c.action is Action.DELETE:
            items.append(f"{badge('delete', PALETTE['delete'])} <code>{esc(c.address)}</code>")
        elif c.action is Action.REPLACE:
            items.append(
                f"{badge('replace', PALETTE['replace'])} <code>{esc(c.address)}</code>: "
                f"{esc(c.reason)} (deleted and created again)"
            )
    for d in plan.diagnostics:
        if d.code == "access-widening":
            hint = f" <span class='muted'>({esc(d.hint)})</span>" if d.hint else ""
            text = d.message.removeprefix("access widening: ")
            items.append(f"{badge('access widening', PALETTE['delete'])} {esc(text)}{hint}")
    for c in plan.changes:
        fields = _pii_touched(c, classes)
        if fields and c.kind == "CustomField":
            found = [(s or {}).get("classification") for s in (c.after, c.before)]
            label = next((f for f in found if f in WATCHED_CLASSES), "")
            items.append(
                f"{badge('personal data', PALETTE['update'])} <code>{esc(c.address)}</code> "
                f"({esc(c.action.word)}): a field classified {esc(label)}"
            )
        elif fields:
            what = ", ".join(f"<code>{esc(f)}</code>" for f in fields)
            items.append(
                f"{badge('personal data', PALETTE['update'])} <code>{esc(c.address)}</code> "
                f"({esc(c.action.word)}) changes access to {what}"
            )
    return items


def _approvals_section(plan: Plan) -> str:
    governed = _governed(plan)
    if not governed:
        return (
            f"<section><h2>Approvals</h2><p>No change to {esc(plan.environment)} needs an "
            "approval.</p></section>"
        )
    rows = []
    for change in governed:
        state = change.approvals
        assert state is not None
        lines = "<br>".join(
            f"{badge(line.state, _STATE_COLOURS.get(line.state, '#c62828'))} {esc(line.text())}"
            for line in state.lines
        )
        rows.append(
            (
                f"<code>{esc(change.action.value)} {esc(change.address)}</code>",
                esc(", ".join(state.required)),
                esc(state.author or ""),
                lines,
            )
        )
    summary = approvals_summary(plan) or ""
    return (
        "<section><h2>Approvals</h2>"
        + table(("change", "roles required", "requested by", "approvals"), rows)
        + f"<p>{esc(summary)}</p></section>"
    )


def _change_details(change: Change) -> str:
    head = f"{change.action.value} {change.address}"
    note = f" <span class='muted'>({esc(change.reason)})</span>" if change.reason else ""
    if change.action is Action.DELETE:
        body = '<div class="diff mono del">the resource is deleted</div>'
    elif change.action is Action.CREATE:
        body = diff_list(change.diffs) or '<div class="diff mono add">created</div>'
    else:
        body = diff_list(change.diffs)
    count = len(change.diffs) if change.action is not Action.DELETE else 0
    detail = f" <span class='muted'>{count} field{'s' * (count != 1)}</span>" if count else ""
    return (
        f'<details><summary><code style="color:{PALETTE[change.action.word]}">{esc(head)}</code>'
        f"{detail}{note}</summary>{body}</details>"
    )


def plan_html(
    plan: Plan,
    classifications: Mapping[str, str] | None = None,
    impact: ImpactReport | None = None,
) -> str:
    """The plan as a page. `classifications`: lower-case `Object.Field` -> classification.

    With `impact` (`plan --impact`), a section says what each change does to stored records.
    """
    classes = dict(classifications or {})
    title = f"crmctl plan for {plan.environment}"
    where = f" ({plan.provider})" if plan.provider else ""
    subtitle = f"{plan.summary()}{where}"
    if plan.created_at:
        subtitle += f" · planned {plan.created_at}"
    body: list[str] = []
    if plan.errors:
        reasons = "".join(f"<li>{esc(d.render())}</li>" for d in plan.errors)
        body.append(
            '<div class="banner bad">This plan cannot be applied: it has '
            f"{len(plan.errors)} error{'s' * (len(plan.errors) != 1)}.<ul>{reasons}</ul></div>"
        )
    elif not plan.changes and plan.policy_change is None:
        body.append(f'<div class="banner ok">{esc(plan.summary())}</div>')
    governed = _governed(plan)
    approved = sum(1 for c in governed if c.approvals and not c.approvals.problems)
    waiting = len(governed) - approved
    if waiting:
        body.append(f'<div class="banner warn">{esc(approvals_summary(plan) or "")}</div>')
    counts = {a: sum(c.action is a for c in plan.changes) for a in _ACTIONS}
    ungoverned = len(plan.changes) - sum(1 for c in plan.changes if c.approvals is not None)
    body.append(
        '<section><h2>Summary</h2><div class="cards">'
        '<div class="card"><h3>Changes by action</h3>'
        + bar_chart(
            "Changes by action",
            [(a.word, [(a.word, counts[a], PALETTE[a.word])]) for a in _ACTIONS],
        )
        + '</div><div class="card"><h3>Changes by kind</h3>'
        + bar_chart("Changes by kind and action", _by_kind(plan.changes))
        + '</div><div class="card"><h3>Governance</h3>'
        + bar_chart(
            "Governance status",
            [
                ("approved", [("approved", approved, PALETTE["approved"])]),
                ("waiting", [("waiting", waiting, PALETTE["waiting"])]),
                ("no approval needed", [("no approval needed", ungoverned, PALETTE["none"])]),
            ],
        )
        + "</div></div></section>"
    )
    risks = _risks(plan, classes)
    body.append(
        "<section><h2>Risk highlights</h2>"
        + (
            '<ul class="risks">' + "".join(f"<li>{r}</li>" for r in risks) + "</ul>"
            if risks
            else "<p>No deletes, no access widening, no personal-data fields touched.</p>"
        )
        + "</section>"
    )
    others = [d for d in plan.diagnostics if d.code != "access-widening"]
    if others:
        body.append(
            f"<section><h2>Findings ({len(others)})</h2>{diagnostics_list(others)}</section>"
        )
    if impact is not None:
        body.append(impact_section(impact))
    body.append(_approvals_section(plan))
    if plan.changes or plan.policy_change is not None:
        changes = [*plan.changes] + ([plan.policy_change] if plan.policy_change else [])
        body.append(
            f"<section><h2>Changes ({len(plan.changes)})</h2>"
            + "".join(_change_details(c) for c in changes)
            + "</section>"
        )
    if plan.unmanaged:
        items = "".join(f"<li><code>{esc(a)}</code></li>" for a in plan.unmanaged)
        body.append(
            f"<section><details><summary>{len(plan.unmanaged)} unmanaged resources "
            f"(in the CRM, not in the manifests; left alone)</summary><ul>{items}</ul>"
            "</details></section>"
        )
    return page(title, subtitle, body)
