"""pii-description: a field classified PII or Sensitive says in its description why it exists."""

from __future__ import annotations

from collections.abc import Iterator

from crmctl.errors import Diagnostic
from crmctl.governance.lint.base import PERSONAL, LintContext, description_of, finding

ID = "pii-description"
SUMMARY = "every PII or Sensitive field has a description"


def check(context: LintContext) -> Iterator[Diagnostic]:
    for field in context.of_kind("CustomField"):
        classification = field.spec.get("classification")
        if classification in PERSONAL and not description_of(field):
            yield finding(
                ID,
                field,
                f"is classified {classification} but has no description",
                field.location("classification"),
                hint="add spec.description saying what the personal data is needed for",
            )
