"""Drift reports as text, markdown (issues, PR comments), JSON (versioned) and JUnit XML (CI).

Every format renders the same `DriftReport` and ends with (or carries) the
same summary line.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

from crmctl.drift import Drift, DriftReport, DriftType
from crmctl.plan.action import Action
from crmctl.plan.diff import FieldDiff
from crmctl.render.plan_view import value_text
from crmctl.render.style import paint

__all__ = [
    "FORMAT_VERSION",
    "MARKDOWN_MARKER",
    "drift_text",
    "drift_markdown",
    "drift_to_dict",
    "drift_json",
    "drift_junit",
    "render_drift",
]

#: Version of the JSON report (schemas/drift.json).
FORMAT_VERSION = 1
#: First line of the markdown report, so a bot can find and update its earlier comment.
MARKDOWN_MARKER = "<!-- crmctl-drift -->"

_COLOURS = {"+": "green", "~": "yellow", "-": "red"}


def _diff_line(d: FieldDiff) -> tuple[str, str]:
    if d.change == "added":
        return "+", f"{d.path}: {value_text(d.after)}"
    if d.change == "removed":
        return "-", f"{d.path}: {value_text(d.before)}"
    return "~", f"{d.path}: {value_text(d.before)} -> {value_text(d.after)}"


def _who(drift: Drift, report: DriftReport) -> str:
    """`modified out of band by X at T`, or without attribution, saying why."""
    text = f"{drift.type.value} " + (
        f"since v{report.baseline.version}" if report.baseline.older else "out of band"
    )
    if drift.changed_by is not None:
        return f"{text} by {drift.changed_by.actor} at {drift.changed_by.at}"
    if report.baseline.source == "manifests" and drift.type is DriftType.DELETED:
        return f"{text}, or never applied"
    return f"{text} (no audit entry found)" if report.attribution else text


def _notes(report: DriftReport) -> list[str]:
    where = f": {report.provider}" if report.provider else ""
    notes = [
        f"Environment {report.environment}{where}.",
        f"Compared the live CRM with {report.baseline.description}.",
    ]
    if report.baseline.source == "manifests":
        notes.append(
            "With no apply recorded, a difference may also be a manifest change that was "
            "never applied; after the first apply, drift is measured against what was applied."
        )
    if not report.attribution:
        notes.append("This CRM keeps no audit trail crmctl can read: changes are not attributed.")
    return notes


def drift_text(report: DriftReport, colour: bool = False) -> str:
    """The report for a terminal: drift with field-level lines, ignored, pending, summary."""
    out = [*_notes(report), ""]
    counted = report.drifted
    if counted:
        out += ["Drift (changes made outside crmctl):", ""]
        for drift in counted:
            symbol = drift.type.symbol
            head = f"  {symbol} {drift.address}  {_who(drift, report)}"
            out.append(paint(head, _COLOURS[symbol], colour, bold=True))
            if drift.type is not DriftType.DELETED:
                for sym, text in map(_diff_line, drift.diffs):
                    out.append(paint(f"      {sym} {text}", _COLOURS[sym], colour))
            for ignored in drift.ignored:
                sym, text = _diff_line(ignored.diff)
                out.append(f"      {sym} {text}  (ignored: {ignored.rule.reason})")
        out.append("")
    if report.fully_ignored:
        out += ["Ignored (drift.ignore in the environment file; not counted):", ""]
        for drift in report.fully_ignored:
            reasons = "; ".join(drift.reasons)
            out.append(f"  {drift.type.symbol} {drift.address}  {drift.type.value}: {reasons}")
            for ignored in drift.ignored:
                sym, text = _diff_line(ignored.diff)
                out.append(f"      {sym} {text}")
        out.append("")
    if report.adopted:
        out += ["Adopted into the manifests (not counted; recorded by the next apply):", ""]
        for drift in report.adopted:
            out.append(f"  {drift.type.symbol} {drift.address}  {_who(drift, report)}")
        out.append("")
    if report.pending:
        out += [
            "Pending manifest changes (not applied yet; not drift; crmctl plan shows them):",
            "",
        ]
        for change in report.pending:
            out.append(f"  {change.action.value} {change.address}")
            if change.action is Action.UPDATE:
                for sym, text in map(_diff_line, change.diffs):
                    out.append(f"      {sym} {text}")
        out.append("")
    out.append(paint(report.summary(), "red" if counted else "green", colour, bold=True))
    return "\n".join(out)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _diff_block(diffs: Sequence[FieldDiff]) -> list[str]:
    lines = ["```diff"]
    for d in diffs:
        if d.change != "added":
            lines.append(f"- {d.path}: {value_text(d.before)}")
        if d.change != "removed":
            lines.append(f"+ {d.path}: {value_text(d.after)}")
    return [*lines, "```"]


def _paths(diffs: Sequence[FieldDiff], limit: int = 6) -> str:
    text = ", ".join(f"`{_md(d.path)}`" for d in diffs[:limit])
    return text + (f" and {len(diffs) - limit} more" if len(diffs) > limit else "")


def drift_markdown(report: DriftReport) -> str:
    """The report for an issue or a pull-request comment: a table, then details per resource."""
    out = [
        MARKDOWN_MARKER,
        f"### crmctl drift in `{report.environment}`",
        "",
        f"**{report.summary()}**",
        "",
        *(_md(n) for n in _notes(report)),
        "",
    ]
    counted = report.drifted
    if counted:
        out += ["| | Resource | Drift | Changed by | When |", "|---|---|---|---|---|"]
        for d in counted:
            what = d.type.value
            if d.type is DriftType.MODIFIED:
                what += ": " + _paths(d.diffs)
            who = _md(d.changed_by.actor) if d.changed_by else "unknown"
            when = _md(d.changed_by.at) if d.changed_by else ""
            out.append(f"| {d.type.symbol} | `{d.address}` | {what} | {who} | {when} |")
        out.append("")
        for d in counted:
            if d.type is DriftType.DELETED or not d.diffs:
                continue
            out += [
                f"<details><summary>{d.type.symbol} <code>{_md(d.address)}</code></summary>",
                "",
            ]
            out += _diff_block(d.diffs)
            out += ["</details>", ""]
    ignored = report.ignored
    if ignored:
        out += ["#### Ignored (not counted)", ""]
        for d in ignored:
            paths = [i.diff for i in d.ignored]
            where = f" ({_paths(paths)})" if paths else ""
            out.append(f"- {d.type.symbol} `{d.address}`{where}: {_md('; '.join(d.reasons))}")
        out.append("")
    if report.adopted:
        out += ["#### Adopted into the manifests (not counted)", ""]
        out += [f"- {d.type.symbol} `{d.address}`: {_md(_who(d, report))}" for d in report.adopted]
        out.append("")
    if report.pending:
        n = len(report.pending)
        out += [
            f"<details><summary>{n} pending manifest change{'s' * (n != 1)} "
            "(not applied yet; not drift)</summary>",
            "",
        ]
        for p in report.pending:
            what = f": {_paths(p.diffs)}" if p.action is Action.UPDATE else ""
            out.append(f"- {p.action.value} `{p.address}` ({p.action.word}){what}")
        out += ["</details>", ""]
    return "\n".join(out).rstrip() + "\n"


def _diff_dict(d: FieldDiff, reason: str | None = None) -> dict[str, Any]:
    out = d.to_dict()
    if reason is not None:
        out["ignoredBecause"] = reason
    return out


def drift_to_dict(report: DriftReport) -> dict[str, Any]:
    """The versioned JSON form (schemas/drift.json)."""
    base = report.baseline
    return {
        "formatVersion": FORMAT_VERSION,
        "environment": report.environment,
        "provider": report.provider,
        "checkedAt": report.checked_at,
        "baseline": {
            "source": base.source,
            "version": base.version,
            "appliedAt": base.applied_at,
            "appliedBy": base.applied_by,
        },
        "attribution": report.attribution,
        "drifted": bool(report.drifted),
        "exitCode": report.exit_code,
        "summary": report.counts(),
        "summaryText": report.summary(),
        "drift": [
            {
                "address": d.address,
                "kind": d.kind,
                "name": d.name,
                "type": d.type.value,
                "counts": d.counts,
                "adopted": d.adopted,
                "changedBy": (
                    {
                        "actor": d.changed_by.actor,
                        "at": d.changed_by.at,
                        "action": d.changed_by.action,
                    }
                    if d.changed_by
                    else None
                ),
                "ignoredBecause": d.ignored_by.reason if d.ignored_by else None,
                "diff": [
                    *(_diff_dict(x) for x in d.diffs),
                    *(_diff_dict(i.diff, i.rule.reason) for i in d.ignored),
                ],
            }
            for d in report.drifts
        ],
        "pending": [
            {
                "address": p.address,
                "kind": p.kind,
                "name": p.name,
                "action": p.action.word,
                "diff": [x.to_dict() for x in p.diffs],
            }
            for p in report.pending
        ],
        "inSync": list(report.in_sync),
        "unmanaged": list(report.unmanaged),
    }


def drift_json(report: DriftReport) -> str:
    return json.dumps(drift_to_dict(report), indent=2, ensure_ascii=False)


def drift_junit(report: DriftReport) -> str:
    """JUnit XML: a failed test case per drifted resource, passed when in sync, skipped when ignored."""
    cases: list[ET.Element] = []
    for d in report.drifts:
        case = ET.Element("testcase", classname=d.kind, name=d.address, time="0")
        if d.counts:
            failure = ET.SubElement(case, "failure", message=_who(d, report), type=d.type.value)
            lines = [f"{d.type.symbol} {d.address}: {_who(d, report)}"]
            if d.type is not DriftType.DELETED:
                lines += [f"  {s} {t}" for s, t in map(_diff_line, d.diffs)]
            lines += [
                f"  {s} {t}  (ignored: {i.rule.reason})"
                for i in d.ignored
                for s, t in [_diff_line(i.diff)]
            ]
            failure.text = "\n".join(lines)
        elif not d.adopted:  # adopted drift passes: the manifests now match the CRM
            ET.SubElement(case, "skipped", message="ignored: " + "; ".join(d.reasons))
        cases.append(case)
    for address in report.in_sync:
        kind = address.partition("/")[0]
        cases.append(ET.Element("testcase", classname=kind, name=address, time="0"))
    counts: dict[str, Any] = {
        "tests": str(len(cases)),
        "failures": str(len(report.drifted)),
        "errors": "0",
        "skipped": str(len(report.fully_ignored)),
        "time": "0",
    }
    suites = ET.Element("testsuites", name="crmctl drift", **counts)
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"crmctl drift {report.environment}",
        timestamp=report.checked_at,
        **counts,
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("environment", report.environment),
        ("provider", report.provider),
        ("baseline", report.baseline.description),
    ):
        ET.SubElement(properties, "property", name=name, value=value)
    suite.extend(cases)
    out = ET.SubElement(suite, "system-out")
    out.text = report.summary()
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode")


def render_drift(report: DriftReport, output_format: str, colour: bool = False) -> str:
    """The report in one of the formats `crmctl drift --format` offers."""
    if output_format == "json":
        return drift_json(report)
    if output_format == "markdown":
        return drift_markdown(report)
    if output_format == "junit":
        return drift_junit(report)
    return drift_text(report, colour)
