"""What `crmctl import` wrote, for a terminal."""

from __future__ import annotations

from collections import Counter

from crmctl.config.environment import display_path
from crmctl.importer.result import ImportResult
from crmctl.render.diagnostics import diagnostic_lines
from crmctl.render.style import paint

__all__ = ["import_text"]

_SYMBOLS = {"written": "+", "added": "+", "updated": "~", "removed": "-"}


def import_text(result: ImportResult, whole_org: bool, colour: bool = False) -> str:
    """Per file, what was imported into it; then warnings, problems and the summary line."""
    out: list[str] = []
    created = set(result.created_files)
    deleted = set(result.deleted_files)
    if whole_org:
        per_file = Counter(i.file for i in result.imported)
        for path, count in per_file.items():
            out.append(f"  {display_path(path)}  {count} resource{'s' * (count != 1)}")
    else:
        for item in result.imported:
            note = " (new file)" if item.file in created else ""
            note = " (file removed: it held nothing else)" if item.file in deleted else note
            out.append(
                f"  {_SYMBOLS[item.what]} {item.address}  {item.what} in {display_path(item.file)}{note}"
            )
    if result.without_owner:
        n = len(result.without_owner)
        out.append(
            f"note: {n} resource{'s' * (n != 1)} {'has' if n == 1 else 'have'} no owner: "
            "fill in the `# owner: TODO` lines (or import again with --owner TEAM); "
            "the owner-required lint rule holds the plan back until then"
        )
    for warning in result.warnings:
        out.append(paint(f"warning: {warning}", "yellow", colour))
    for diagnostic in result.diagnostics:
        out.extend(diagnostic_lines(diagnostic, colour))
    n, files = len(result.imported), len(result.files)
    summary = f"Imported {n} resource{'s' * (n != 1)} into {files} file{'s' * (files != 1)}."
    if result.diagnostics:
        out.append(
            paint(
                summary + " The written files have problems (above): fix them before planning.",
                "red",
                colour,
                bold=True,
            )
        )
    else:
        out.append(
            paint(
                summary + " Review the diff, then crmctl plan should show no changes for them.",
                "green",
                colour,
                bold=True,
            )
        )
    return "\n".join(out)
