"""Effective access: who can read or edit each object and field, and through what."""

from __future__ import annotations

from crmctl.access.effective import (
    FIELD_PERMISSIONS,
    OBJECT_PERMISSIONS,
    AccessReport,
    Grant,
    OrgAccess,
    Target,
    UserInfo,
)

__all__ = [
    "OBJECT_PERMISSIONS",
    "FIELD_PERMISSIONS",
    "AccessReport",
    "Grant",
    "OrgAccess",
    "Target",
    "UserInfo",
]
