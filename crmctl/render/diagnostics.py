"""Rendering diagnostics and errors: the one place users see what went wrong."""

from __future__ import annotations

import json
from collections.abc import Sequence

from crmctl.errors import CrmctlError, Diagnostic, Severity
from crmctl.render.style import paint

__all__ = [
    "diagnostic_lines",
    "diagnostics_lines",
    "error_text",
    "validation_report_text",
    "validation_report_json",
]


def diagnostic_lines(diagnostic: Diagnostic, colour: bool = False) -> list[str]:
    """`file:line: Kind/name: message`, then an indented hint line when there is one."""
    label = "warning" if diagnostic.severity is Severity.WARNING else None
    text = diagnostic.render()
    if label:
        text = f"{text} [{label}]"
    lines = [paint(text, "yellow" if label else "red", colour)]
    if diagnostic.hint:
        lines.append(f"  hint: {diagnostic.hint}")
    return lines


def diagnostics_lines(diagnostics: Sequence[Diagnostic], colour: bool = False) -> list[str]:
    """Every diagnostic; those caused by a file that failed to parse are indented under it."""
    lines: list[str] = []
    for i, diagnostic in enumerate(diagnostics):
        own = diagnostic_lines(diagnostic, colour)
        if diagnostic.caused_by is None:
            lines.extend(own)
            continue
        previous = diagnostics[i - 1].caused_by if i else None
        if previous != diagnostic.caused_by:
            group = [d for d in diagnostics[i:] if d.caused_by == diagnostic.caused_by]
            n = len(group)
            what = (
                "error" if all(d.severity is Severity.ERROR for d in group) else "problem"
            ) + "s" * (n != 1)
            lines.append(
                f"  ... and {n} {what} caused by the file above "
                f"(it declares what {'they refer' if n != 1 else 'it refers'} to):"
            )
        lines.extend(f"    {line}" for line in own)
    return lines


def error_text(error: CrmctlError, colour: bool = False) -> str:
    """An aborting error: `Error: message`, its diagnostics, and its hint."""
    lines = [paint("Error: ", "red", colour, bold=True) + str(error)]
    lines.extend(diagnostics_lines(error.diagnostics, colour))
    if error.hint:
        lines.append(f"hint: {error.hint}")
    return "\n".join(lines)


def _summary(diagnostics: Sequence[Diagnostic], resources: int, files: int) -> tuple[int, int, str]:
    errors = sum(d.severity is Severity.ERROR for d in diagnostics)
    warnings = len(diagnostics) - errors
    bad_files = len(
        {d.location.file for d in diagnostics if d.location and d.severity is Severity.ERROR}
    )
    if errors:
        text = f"{errors} error{'s' * (errors != 1)} in {bad_files} file{'s' * (bad_files != 1)}"
    else:
        text = f"valid: {resources} resource{'s' * (resources != 1)} in {files} file{'s' * (files != 1)}"
    if warnings:
        text += f", {warnings} warning{'s' * (warnings != 1)}"
    return errors, warnings, text


def validation_report_text(
    diagnostics: Sequence[Diagnostic], resources: int, files: int, colour: bool
) -> str:
    """Every problem, then one summary line."""
    lines = diagnostics_lines(diagnostics, colour)
    errors, _, summary = _summary(diagnostics, resources, files)
    lines.append(paint(summary, "red" if errors else "green", colour, bold=True))
    return "\n".join(lines)


def validation_report_json(
    diagnostics: Sequence[Diagnostic], resources: int, files: int, environment: str
) -> str:
    errors, warnings, _ = _summary(diagnostics, resources, files)
    return json.dumps(
        {
            "formatVersion": 1,
            "environment": environment,
            "valid": errors == 0,
            "resources": resources,
            "files": files,
            "errors": errors,
            "warnings": warnings,
            "diagnostics": [d.to_dict() for d in diagnostics],
        },
        indent=2,
    )
