"""external-pii-access: permission sets for external users cannot read personal data.

A permission set is external when `metadata.labels.audience` is `external`;
it must not grant read (or edit) on a field classified PII or Sensitive.
"""

from __future__ import annotations

from collections.abc import Iterator

from crmctl.errors import Diagnostic
from crmctl.governance.lint.base import PERSONAL, LintContext, finding

ID = "external-pii-access"
SUMMARY = "permission sets marked external (metadata.labels.audience: external) cannot read PII or Sensitive fields"


def check(context: LintContext) -> Iterator[Diagnostic]:
    classes = {f.name.lower(): f.spec.get("classification") for f in context.of_kind("CustomField")}
    for perm_set in context.of_kind("PermissionSet"):
        labels = perm_set.metadata.get("labels") or {}
        if labels.get("audience") != "external":
            continue
        for qualified, perms in (perm_set.spec.get("fields") or {}).items():
            classification = classes.get(qualified.lower())
            if classification in PERSONAL and perms:
                yield finding(
                    ID,
                    perm_set,
                    f"is for external users but can read {qualified}, classified {classification}",
                    perm_set.location("fields", qualified),
                    hint=f"remove {qualified} from this permission set",
                )
