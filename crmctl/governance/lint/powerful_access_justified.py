"""powerful-access-justified: a permission set granting org-wide access says why.

Powerful access is any system permission of the documented list
(crmctl.kinds.system_permissions.POWERFUL: ViewAllData, ModifyAllData,
CustomizeApplication, ManageUsers, AuthorApex, ...), or modifyAll on any object. Its description (spec or metadata) must be at least 20
characters: a reason, not a label.
"""

from __future__ import annotations

from collections.abc import Iterator

from crmctl.errors import Diagnostic
from crmctl.governance.lint.base import LintContext, description_of, finding
from crmctl.kinds.system_permissions import POWERFUL

ID = "powerful-access-justified"
SUMMARY = (
    "a permission set granting a powerful system permission (ViewAllData, ModifyAllData, "
    "CustomizeApplication, ManageUsers, AuthorApex…) or modifyAll has a description "
    "(>= 20 characters) saying why"
)

MIN_LENGTH = 20


def check(context: LintContext) -> Iterator[Diagnostic]:
    for perm_set in context.of_kind("PermissionSet"):
        grants = [p for p in POWERFUL if p in (perm_set.spec.get("system") or [])]
        grants += [
            f"modifyAll on {obj}"
            for obj, perms in (perm_set.spec.get("objects") or {}).items()
            if "modifyAll" in (perms or [])
        ]
        if grants and len(description_of(perm_set)) < MIN_LENGTH:
            yield finding(
                ID,
                perm_set,
                f"grants {', '.join(grants)} but its description does not say why "
                f"(at least {MIN_LENGTH} characters)",
                perm_set.location("description"),
                hint="write in spec.description why this access is needed and who gets it",
            )
