"""The environment's `drift.ignore` rules: differences that are expected, with the reason why."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from fnmatch import fnmatchcase
from functools import cache
from typing import Any

from crmctl.drift.model import IgnoreRule
from crmctl.errors import SourceLocation
from crmctl.plan.diff import FieldDiff

__all__ = ["ignore_rules", "resource_rule", "path_rule", "path_matches"]


def ignore_rules(
    drift_section: dict[str, Any],
    locate: Callable[[int], SourceLocation | None] | None = None,
) -> list[IgnoreRule]:
    """The rules of an environment's `drift:` section; `locate(i)` gives rule i's source line."""
    return [
        IgnoreRule(
            entry["target"], entry.get("path"), entry["reason"], locate(i) if locate else None
        )
        for i, entry in enumerate(drift_section.get("ignore", []))
    ]


def _target_matches(address: str, pattern: str) -> bool:
    return fnmatchcase(address, pattern) or address == pattern


@cache
def _path_regex(pattern: str) -> re.Pattern[str]:
    # `*` and `?` are the wildcards; brackets are literal, as in `values[*].label`.
    body = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.compile(rf"{body}(?:[.\[ ].*)?", re.DOTALL)


def path_matches(path: str, pattern: str) -> bool:
    """Whether a diff path (`values[Paid].label`, `objects.Account`) is covered by a path glob.

    A pattern covers its own path and everything below it: `objects` covers
    `objects.Account`, `values` covers `values[Paid].label` and `values order`.
    """
    return _path_regex(pattern).fullmatch(path) is not None


def resource_rule(address: str, rules: Iterable[IgnoreRule]) -> IgnoreRule | None:
    """The first whole-resource rule (no `path`) that covers an address."""
    for rule in rules:
        if rule.path is None and _target_matches(address, rule.target):
            return rule
    return None


def path_rule(address: str, diff: FieldDiff, rules: Iterable[IgnoreRule]) -> IgnoreRule | None:
    """The first rule with a `path` that covers one field-level difference of a resource."""
    for rule in rules:
        if (
            rule.path is not None
            and _target_matches(address, rule.target)
            and path_matches(diff.path, rule.path)
        ):
            return rule
    return None
