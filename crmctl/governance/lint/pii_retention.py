"""pii-retention: a field classified PII or Sensitive is covered by a retention policy.

Covered means: some RetentionPolicy applies to the field's object (any
action; the policy's legal basis and filter are the reviewers' business).
"""

from __future__ import annotations

from collections.abc import Iterator

from crmctl.errors import Diagnostic
from crmctl.governance.lint.base import PERSONAL, LintContext, finding

ID = "pii-retention"
SUMMARY = "every PII or Sensitive field is covered by a retention policy on its object"


def check(context: LintContext) -> Iterator[Diagnostic]:
    covered = {str(p.spec.get("object", "")).lower() for p in context.of_kind("RetentionPolicy")}
    for field in context.of_kind("CustomField"):
        classification = field.spec.get("classification")
        obj = field.name.partition(".")[0]
        if classification in PERSONAL and obj.lower() not in covered:
            yield finding(
                ID,
                field,
                f"is classified {classification} but no RetentionPolicy covers {obj}",
                field.location("classification"),
                hint=f"add a RetentionPolicy with object: {obj} saying how long its records are kept",
            )
