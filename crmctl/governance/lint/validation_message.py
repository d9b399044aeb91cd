"""validation-message: a validation rule's error message tells users what to fix, not the formula."""

from __future__ import annotations

import re
from collections.abc import Iterator

from crmctl.errors import Diagnostic
from crmctl.governance.lint.base import LintContext, finding

ID = "validation-message"
SUMMARY = "a validation rule's error message is not just its formula"


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def check(context: LintContext) -> Iterator[Diagnostic]:
    for rule in context.of_kind("ValidationRule"):
        message = str(rule.spec.get("errorMessage") or "")
        condition = str(rule.spec.get("condition") or "")
        if not message.strip():
            yield finding(ID, rule, "has no error message", rule.location("errorMessage"))
        elif _squash(message) == _squash(condition):
            yield finding(
                ID,
                rule,
                "its error message is just the formula",
                rule.location("errorMessage"),
                hint="say in words what the user must change, e.g. 'The end date must be after the start date.'",
            )
