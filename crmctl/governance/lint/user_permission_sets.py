"""user-permission-sets: no user holds more permission sets than the environment allows.

The limit is `lint.maxPermissionSetsPerUser` (default 5): many permission
sets on one person usually means access that was never taken away.
"""

from __future__ import annotations

from collections.abc import Iterator

from crmctl.errors import Diagnostic
from crmctl.governance.lint.base import LintContext, finding

ID = "user-permission-sets"
SUMMARY = "no user holds more than lint.maxPermissionSetsPerUser permission sets (default 5)"


def check(context: LintContext) -> Iterator[Diagnostic]:
    limit = context.settings.max_permission_sets_per_user
    for user in context.of_kind("User"):
        held = len(set(user.spec.get("permissionSets") or []))
        if held > limit:
            yield finding(
                ID,
                user,
                f"holds {held} permission sets; at most {limit} are allowed",
                user.location("permissionSets"),
                hint="remove the ones no longer needed, or raise lint.maxPermissionSetsPerUser",
            )
