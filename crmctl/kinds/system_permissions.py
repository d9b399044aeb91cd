"""System permissions by their canonical names, and the ones that amount to power over the org.

Names are the CRM's API names (Salesforce's `userPermissions` names):
exact and case-sensitive. The schema (`schemas/common.json`,
`$defs/systemPermission`) holds every known name, so `modifyAllData` in a
manifest is an error with a did-you-mean hint, never a silent no-op.

`POWERFUL` is the documented list (docs/governance.md, "Exact names") that
the powerful-access lint rule and the `powerful` group of approval rules
cover. `ADMIN` is what makes a sandbox user a configuration admin; it is a
subset of `POWERFUL`.
"""

from __future__ import annotations

from functools import cache

from crmctl.schemas import common_definition

__all__ = ["ADMIN", "POWERFUL", "POWERFUL_GROUP", "known", "expand"]

#: Grant org-wide data access, change the configuration or code, or control users,
#: permissions, authentication and data export.
POWERFUL: tuple[str, ...] = (
    # every record
    "ViewAllData",
    "ModifyAllData",
    "ViewAllUsers",
    "QueryAllFiles",
    "ViewEncryptedData",
    "PrivacyDataAccess",
    "DataExport",
    "BulkApiHardDelete",
    "TransferAnyEntity",
    # the configuration and code
    "CustomizeApplication",
    "ModifyMetadata",
    "AuthorApex",
    "ManageSharing",
    "InstallPackaging",
    "ManageDataIntegrations",
    # users, permissions and authentication
    "ManageUsers",
    "ManageInternalUsers",
    "ManageProfilesPermissionsets",
    "AssignPermissionSets",
    "ManageRoles",
    "ResetPasswords",
    "ManagePasswordPolicies",
    "ManageLoginAccessPolicies",
    "ManageIpAddresses",
    "ManageAuthProviders",
    "ManageRemoteAccess",
    "ManageTwoFactor",
    "DelegatedTwoFactor",
    "ManageEncryptionKeys",
    "ManageCertificates",
    "UseAnyApiClient",
    "ViewClientSecret",
    "CanApproveUninstalledApps",
)

#: The system permissions that make a sandbox user a configuration admin.
ADMIN: frozenset[str] = frozenset({"ModifyAllData", "CustomizeApplication"})

#: In an approval rule's `systemPermissions`, stands for every name of POWERFUL.
POWERFUL_GROUP = "powerful"


@cache
def known() -> frozenset[str]:
    """Every canonical system permission name the schema accepts."""
    return frozenset(common_definition("systemPermission")["enum"])


def expand(names: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """An approval rule's names with `powerful` replaced by the POWERFUL list (order kept)."""
    out: list[str] = []
    for name in names:
        out.extend(POWERFUL if name == POWERFUL_GROUP else (name,))
    return tuple(dict.fromkeys(out))
