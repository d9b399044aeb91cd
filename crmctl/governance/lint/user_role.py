"""user-role: every active user has a role (the role hierarchy decides what records they see)."""

from __future__ import annotations

from collections.abc import Iterator

from crmctl.errors import Diagnostic
from crmctl.governance.lint.base import LintContext, finding

ID = "user-role"
SUMMARY = "every active user has a role"


def check(context: LintContext) -> Iterator[Diagnostic]:
    for user in context.of_kind("User"):
        if user.spec.get("active", True) and not user.spec.get("role"):
            yield finding(
                ID,
                user,
                "is active but has no role",
                user.location("role"),
                hint="give the user a role, or set active: false",
            )
