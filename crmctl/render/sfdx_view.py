"""What `crmctl import --from sfdx` converted, and the report of what it left out."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from crmctl.config.environment import display_path
from crmctl.importer.sfdx import ImportResult
from crmctl.kinds import KINDS
from crmctl.render.style import paint

__all__ = ["sfdx_import_text"]


def sfdx_import_text(
    result: ImportResult, out_dir: Path, written: list[Path], colour: bool = False
) -> str:
    """Files written with their resource counts, then every report line, then a summary."""
    counts = result.counts()
    per_file = Counter(str(p.relative_to(out_dir)) for p in written for _ in range(_documents(p)))
    lines = [f"Wrote {len(written)} file(s) to {display_path(out_dir)}:"]
    lines += [
        f"  {name}  {count} resource{'s' * (count != 1)}"
        for name, count in sorted(per_file.items())
    ]
    left_out = [r for r in result.report if not r.partly]
    partly = [r for r in result.report if r.partly]
    if left_out:
        lines.append("")
        lines.append(paint(f"Not converted ({len(left_out)}):", "yellow", colour, bold=True))
        lines += [f"  {r.render()}" for r in left_out]
    if partly:
        lines.append("")
        lines.append(paint(f"Converted in part ({len(partly)}):", "yellow", colour, bold=True))
        lines += [f"  {r.render()}" for r in partly]
    summary = ", ".join(f"{counts[k]} {k}" for k in KINDS if counts.get(k))
    lines.append("")
    lines.append(
        paint(
            f"Imported {sum(counts.values())} resources ({summary}) from "
            f"{display_path(result.source)}; {len(left_out)} item(s) not converted, "
            f"{len(partly)} converted in part (listed above).",
            "green",
            colour,
            bold=True,
        )
    )
    return "\n".join(lines)


def _documents(path: Path) -> int:
    return path.read_text(encoding="utf-8").count("apiVersion: crmctl/v1")
