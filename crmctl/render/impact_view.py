"""The impact of a plan on existing records, as text (terminal) and markdown (pull requests).

JSON is `ImpactReport.to_dict()`, under the plan's `impact` key.
"""

from __future__ import annotations

import json
from typing import Any

from crmctl.impact import ChangeImpact, Finding, ImpactReport
from crmctl.render.style import paint

__all__ = ["impact_text", "impact_markdown", "HARMFUL", "records_line", "share_text", "value_text"]

HARMFUL = {"rejects", "invalid", "holds-removed-value", "drops-values", "drops-records"}


def share_text(finding: Finding) -> str:
    """The share of the examined records, or how many were read where a share means nothing."""
    if finding.effect in ("duplicates", "retention", "not-evaluated"):
        return f"{finding.total} records read"
    return f"{finding.percent:.1f}% of {finding.total}"


def records_line(report: ImpactReport) -> str:
    """Where the records came from and how many of each object."""
    counts = ", ".join(f"{obj} {n}" for obj, n in report.records.items()) or "none needed"
    return f"Records read from {report.source}: {counts} (at {report.now})"


def value_text(values: Any) -> str:
    """A sample's values (`--show-values`) as `Field="value", ...`."""
    if isinstance(values, dict):
        return ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in values.items())
    return json.dumps(values, ensure_ascii=False)


def _finding_lines(finding: Finding, colour: bool) -> list[str]:
    colour_name = "red" if finding.effect in HARMFUL and finding.count else "yellow"
    if finding.effect == "not-evaluated":
        colour_name = "magenta"
    if not finding.count and finding.effect not in ("not-evaluated", "retention"):
        colour_name = "green"
    lines = [paint(f"      {finding.summary} ({share_text(finding)})", colour_name, colour)]
    if finding.samples:
        lines.append(f"        e.g. {', '.join(finding.samples)}")
    for sample, values in finding.values.items():
        lines.append(f"          {sample}: {value_text(values)}")
    return lines


def impact_text(report: ImpactReport, colour: bool = False) -> str:
    """The report as terminal text, one block per change that can touch records."""
    lines = [
        paint("Impact on existing records:", "cyan", colour, bold=True),
        f"  {records_line(report)}",
    ]
    quiet = [c for c in report.changes if not c.findings]
    for change in report.changes:
        if not change.findings:
            continue
        lines.append(paint(f"  {change.action} {change.address}", "cyan", colour, bold=True))
        for finding in change.findings:
            lines += _finding_lines(finding, colour)
    if quiet:
        lines.append("  No effect on stored records: " + ", ".join(c.address for c in quiet))
    if not report.changes:
        lines.append("  No change in this plan can affect stored records.")
    for note in report.notes:
        lines.append(f"  note: {note}")
    if not report.show_values:
        lines.append("  Samples are record ids; add --show-values to see their values.")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _row(change: ChangeImpact, finding: Finding) -> str:
    samples = ", ".join(f"`{s}`" for s in finding.samples)
    share = "" if finding.effect in ("duplicates", "retention") else f"{finding.percent:.1f}%"
    return (
        f"| `{change.action} {change.address}` | {_cell(finding.summary)} | "
        f"{finding.count} / {finding.total} | {share} | {samples} |"
    )


def impact_markdown(report: ImpactReport) -> str:
    """The report as a markdown section for a pull-request comment."""
    lines = ["### Impact on existing records", "", records_line(report), ""]
    rows = [(c, f) for c in report.changes for f in c.findings]
    if rows:
        lines += [
            "| Change | Effect | Records | Share | Sample ids |",
            "|---|---|---:|---:|---|",
        ]
        lines += [_row(c, f) for c, f in rows]
    quiet = [c.address for c in report.changes if not c.findings]
    if quiet:
        lines += ["", "No effect on stored records: " + ", ".join(f"`{a}`" for a in quiet)]
    if not report.changes:
        lines.append("No change in this plan can affect stored records.")
    if report.show_values:
        values = [(s, v) for _, f in rows for s, v in f.values.items()]
        if values:
            lines += ["", "<details><summary>Sample values</summary>", ""]
            lines += [f"- `{s}`: {_cell(value_text(v))}" for s, v in values]
            lines += ["", "</details>"]
    lines += [f"> note: {n}" for n in report.notes]
    return "\n".join(lines)
