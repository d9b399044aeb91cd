"""`--target` / `--exclude` patterns that match nothing: a typo must not read as "No changes"."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from fnmatch import fnmatchcase

from crmctl.errors import Diagnostic, Severity
from crmctl.kinds import KINDS

__all__ = ["matches_any", "closest_hint", "unmatched_selection"]

_GLOB = set("*?[")


def matches_any(address: str, patterns: Iterable[str]) -> str | None:
    """The first glob pattern (`CustomField/Account.*`) the address matches, or None."""
    for pattern in patterns:
        if (
            fnmatchcase(address, pattern)
            or fnmatchcase(address, f"{pattern}/*")
            or address == pattern
        ):
            return pattern
    return None


def closest_hint(pattern: str, addresses: list[str]) -> str:
    """A did-you-mean hint: the closest address (case-insensitive), else those of its kind."""
    kind = pattern.partition("/")[0]
    if not _GLOB & set(kind) and kind.lower() not in {k.lower() for k in KINDS}:
        close_kind = difflib.get_close_matches(kind, KINDS, n=1, cutoff=0.5)
        if close_kind:
            return f"{kind} is not a kind; did you mean {close_kind[0]}?"
        return f"{kind} is not a kind; kinds: {', '.join(KINDS)}"
    name = pattern.partition("/")[2].lower()
    same_kind = sorted(a for a in addresses if a.partition("/")[0].lower() == kind.lower())
    by_name = {a.partition("/")[2].lower(): a for a in same_kind}
    close = difflib.get_close_matches(name, list(by_name), n=1, cutoff=0.6)
    if close:
        return f"did you mean {by_name[close[0]]}?"
    if not same_kind:
        return f"there is no {kind} in the manifests or the CRM"
    shown = ", ".join(same_kind[:5]) + (
        f" and {len(same_kind) - 5} more" if len(same_kind) > 5 else ""
    )
    return f"{kind} resources: {shown}"


def unmatched_selection(
    targets: Iterable[str], excludes: Iterable[str], addresses: Iterable[str]
) -> list[Diagnostic]:
    """An error per `--target` and a warning per `--exclude` that matches no known address.

    `addresses` are those of the manifests and the live CRM together.
    """
    known = sorted(set(addresses))
    problems = []
    for option, patterns, severity in (
        ("--target", targets, Severity.ERROR),
        ("--exclude", excludes, Severity.WARNING),
    ):
        for pattern in patterns:
            if any(matches_any(a, [pattern]) for a in known):
                continue
            problems.append(
                Diagnostic(
                    f"{option} {pattern} matches no resource in the manifests or the CRM",
                    hint=closest_hint(pattern, known),
                    severity=severity,
                    code="selection",
                )
            )
    return problems
