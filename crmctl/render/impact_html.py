"""The impact of a plan on stored records, as a section of the HTML plan page.

Same content as the text and markdown forms (crmctl/render/impact_view.py):
per change, the effect, the count, the share and up to five sample ids; the
values only when the report carries them (`--show-values`). Every text goes
through `esc`: record values come straight from the CRM.
"""

from __future__ import annotations

from crmctl.impact import ChangeImpact, Finding, ImpactReport
from crmctl.render.html_page import PALETTE, badge, esc, table
from crmctl.render.impact_view import HARMFUL, records_line, share_text, value_text

__all__ = ["impact_section"]


def _effect(finding: Finding) -> str:
    if finding.effect == "not-evaluated":
        colour = PALETTE["replace"]
    elif not finding.count and finding.effect != "retention":
        colour = PALETTE["create"]
    elif finding.effect in HARMFUL:
        colour = PALETTE["delete"]
    else:
        colour = PALETTE["update"]
    return badge(finding.effect, colour)


def _row(change: ChangeImpact, finding: Finding, show_values: bool) -> tuple[str, ...]:
    samples = ", ".join(f"<code>{esc(s)}</code>" for s in finding.samples)
    cells = [
        f"<code>{esc(change.action)} {esc(change.address)}</code>",
        f"{_effect(finding)} {esc(finding.summary)}",
        f"{finding.count} / {finding.total}",
        esc(share_text(finding)),
        samples,
    ]
    if show_values:
        cells.append(
            "<br>".join(
                f"<code>{esc(s)}</code>: {esc(value_text(v))}" for s, v in finding.values.items()
            )
        )
    return tuple(cells)


def impact_section(report: ImpactReport) -> str:
    """A `<section>` for the plan page."""
    parts = ["<section><h2>Impact on stored records</h2>", f"<p>{esc(records_line(report))}</p>"]
    rows = [_row(c, f, report.show_values) for c in report.changes for f in c.findings]
    if rows:
        headers = ["change", "effect", "records", "share", "sample ids"]
        if report.show_values:
            headers.append("values")
        parts.append(table(headers, rows))
    quiet = [c.address for c in report.changes if not c.findings]
    if quiet:
        parts.append(
            "<p>No effect on stored records: "
            + ", ".join(f"<code>{esc(a)}</code>" for a in quiet)
            + "</p>"
        )
    if not report.changes:
        parts.append("<p>No change in this plan can affect stored records.</p>")
    if report.notes:
        parts.append(
            '<ul class="risks">'
            + "".join(f"<li>note: {esc(n)}</li>" for n in report.notes)
            + "</ul>"
        )
    if not report.show_values:
        parts.append(
            '<p class="muted">Samples are record ids; add --show-values to see their values.</p>'
        )
    parts.append("</section>")
    return "".join(parts)
