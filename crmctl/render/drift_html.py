"""A drift report as one self-contained HTML page: charts, risks, who changed what, diffs."""

from __future__ import annotations

from collections.abc import Mapping

from crmctl.drift import Drift, DriftReport, DriftType
from crmctl.render.html_page import PALETTE, badge, bar_chart, esc, page, table
from crmctl.render.plan_html import WATCHED_CLASSES, diff_list

__all__ = ["drift_html"]

_TYPE_COLOURS = {
    DriftType.MODIFIED: PALETTE["update"],
    DriftType.DELETED: PALETTE["delete"],
    DriftType.CREATED: PALETTE["create"],
}
_ACCESS_KINDS = ("PermissionSet", "User", "Role")


def _pii_fields(drift: Drift, classes: Mapping[str, str]) -> list[str]:
    if drift.kind == "CustomField":
        found = {(s or {}).get("classification") for s in (drift.baseline, drift.live)}
        return [drift.name] if found & set(WATCHED_CLASSES) else []
    if drift.kind == "PermissionSet":
        before = (drift.baseline or {}).get("fields") or {}
        after = (drift.live or {}).get("fields") or {}
        return sorted(
            f
            for f in set(before) | set(after)
            if classes.get(f.lower()) in WATCHED_CLASSES and before.get(f) != after.get(f)
        )
    return []


def _risks(report: DriftReport, classes: Mapping[str, str]) -> list[str]:
    items = []
    for d in report.drifted:
        addr = f"<code>{esc(d.address)}</code>"
        if d.type is DriftType.DELETED:
            items.append(f"{badge('deleted', PALETTE['delete'])} {addr} was deleted out of band")
        if d.kind in _ACCESS_KINDS:
            items.append(
                f"{badge('access', PALETTE['delete'])} {addr} {esc(d.type.value)} out of band: "
                "who can see what may have changed"
            )
        fields = _pii_fields(d, classes)
        if fields:
            what = ", ".join(f"<code>{esc(f)}</code>" for f in fields)
            items.append(f"{badge('personal data', PALETTE['update'])} {addr} concerns {what}")
    return items


def _who(drift: Drift) -> tuple[str, str]:
    if drift.changed_by is None:
        return '<span class="muted">unknown</span>', ""
    return esc(drift.changed_by.actor), esc(drift.changed_by.at)


def _details(drift: Drift) -> str:
    body = diff_list(drift.diffs) if drift.type is not DriftType.DELETED else ""
    ignored = "".join(
        f'<div class="muted mono">{esc(i.diff.path)}: ignored ({esc(i.rule.reason)})</div>'
        for i in drift.ignored
    )
    colour = _TYPE_COLOURS[drift.type]
    return (
        f'<details><summary><code style="color:{colour}">{esc(drift.type.symbol)} '
        f"{esc(drift.address)}</code> {esc(drift.type.value)}</summary>{body}{ignored}</details>"
    )


def drift_html(report: DriftReport, classifications: Mapping[str, str] | None = None) -> str:
    """The report as a page. `classifications`: lower-case `Object.Field` -> classification."""
    classes = dict(classifications or {})
    counted = report.drifted
    title = f"crmctl drift in {report.environment}"
    subtitle = report.summary() + (f" · checked {report.checked_at}" if report.checked_at else "")
    body = [
        f'<div class="banner {"bad" if counted else "ok"}">{esc(report.summary())}</div>',
        "<section><p>"
        + "<br>".join(
            esc(n)
            for n in [
                f"Environment {report.environment}"
                + (f": {report.provider}." if report.provider else "."),
                f"Compared the live CRM with {report.baseline.description}.",
            ]
        )
        + "</p></section>",
    ]
    counts = report.counts()
    kinds: dict[str, dict[DriftType, int]] = {}
    for d in counted:
        kinds.setdefault(d.kind, {}).setdefault(d.type, 0)
        kinds[d.kind][d.type] += 1
    attributed = sum(1 for d in counted if d.changed_by is not None)
    body.append(
        '<section><h2>Summary</h2><div class="cards">'
        '<div class="card"><h3>Drift by type</h3>'
        + bar_chart(
            "Drift by type",
            [
                ("modified", [("modified", counts["modified"], PALETTE["update"])]),
                ("deleted", [("deleted", counts["deleted"], PALETTE["delete"])]),
                ("created", [("created", counts["created"], PALETTE["create"])]),
                ("ignored", [("ignored", counts["ignored"], PALETTE["ignored"])]),
                ("adopted", [("adopted", counts["adopted"], PALETTE["info"])]),
                ("pending", [("pending", counts["pending"], PALETTE["pending"])]),
            ],
        )
        + '</div><div class="card"><h3>Drift by kind</h3>'
        + bar_chart(
            "Drift by kind and type",
            [
                (kind, [(t.value, n.get(t, 0), _TYPE_COLOURS[t]) for t in DriftType])
                for kind, n in sorted(kinds.items())
            ],
        )
        + '</div><div class="card"><h3>Attribution</h3>'
        + bar_chart(
            "Who made the drift",
            [
                ("attributed", [("attributed", attributed, PALETTE["info"])]),
                ("unknown", [("unknown", len(counted) - attributed, PALETTE["none"])]),
            ],
        )
        + "</div></div></section>"
    )
    risks = _risks(report, classes)
    body.append(
        "<section><h2>Risk highlights</h2>"
        + (
            '<ul class="risks">' + "".join(f"<li>{r}</li>" for r in risks) + "</ul>"
            if risks
            else "<p>No out-of-band deletes, access or personal-data changes.</p>"
        )
        + "</section>"
    )
    if counted:
        rows = []
        for d in counted:
            who, when = _who(d)
            rows.append((f"<code>{esc(d.type.symbol)} {esc(d.address)}</code>", who, when))
        body.append(
            f"<section><h2>Drift ({len(counted)})</h2>"
            + table(("resource", "changed by", "when"), rows)
            + "".join(_details(d) for d in counted)
            + "</section>"
        )
    if report.ignored:
        items = "".join(
            f"<li><code>{esc(d.address)}</code>: {esc('; '.join(d.reasons))}</li>"
            for d in report.ignored
        )
        body.append(f"<section><h2>Ignored (not counted)</h2><ul>{items}</ul></section>")
    if report.adopted:
        items = "".join(f"<li><code>{esc(d.address)}</code></li>" for d in report.adopted)
        body.append(
            f"<section><h2>Adopted into the manifests (not counted)</h2><ul>{items}</ul></section>"
        )
    if report.pending:
        details = "".join(
            f"<details><summary><code>{esc(p.action.value)} {esc(p.address)}</code> "
            f"{esc(p.action.word)}</summary>{diff_list(p.diffs)}</details>"
            for p in report.pending
        )
        body.append(
            f"<section><h2>Pending manifest changes ({len(report.pending)}; not drift)</h2>"
            f"{details}</section>"
        )
    return page(title, subtitle, body)
