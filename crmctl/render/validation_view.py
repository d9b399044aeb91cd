"""The result of `crmctl plan --validate`: the CRM's check of each change, nothing saved."""

from __future__ import annotations

from crmctl.providers.base import ChangeFailure
from crmctl.render.style import paint

__all__ = ["validation_text"]


def validation_text(failures: list[ChangeFailure], total: int, colour: bool = False) -> str:
    """One line per refused change with the CRM's reason, then a summary line."""
    if not failures:
        return paint(
            f"Validation: the CRM accepted all {total} change(s) (checked only, nothing saved).",
            "green",
            colour,
            bold=True,
        )
    lines = [
        paint(
            "Validation: the CRM would refuse (checked only, nothing saved):",
            "red",
            colour,
            bold=True,
        )
    ]
    lines += [paint(f"  {f.address}: {f.message}", "red", colour) for f in failures]
    refused = len({f.address for f in failures})
    lines.append(
        paint(
            f"{refused} of {total} change(s) would fail; fix them before applying.",
            "red",
            colour,
            bold=True,
        )
    )
    return "\n".join(lines)
