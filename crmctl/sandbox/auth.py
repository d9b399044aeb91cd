"""Who is calling: bearer tokens (stored as sha256 hashes) and the principals they stand for.

Principals are the built-in admin (kept in `admins`, never a configuration
item) and every User configuration item (username = the item's name). A
principal is an admin when it is the built-in admin or holds, through its
User's permission sets, a system permission that lets it change the
configuration. It may read the configuration, the users and the audit trail
("view setup") when it is an admin or holds ViewSetup, Salesforce's "View
Setup and Configuration", or ViewAllData or ManageUsers (an auditor and a
user manager cannot work without seeing the setup; Salesforce makes Manage
Users depend on View Setup). Other users see records, as their permission
sets allow, and themselves (GET /api/v1/whoami).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
from dataclasses import dataclass

from crmctl.kinds.system_permissions import ADMIN
from crmctl.sandbox.db import SandboxError

__all__ = [
    "Principal",
    "ADMIN_PERMISSIONS",
    "TOKEN_PREFIX",
    "token_hash",
    "add_admin",
    "issue_token",
    "principal_for",
    "principal_of",
    "require_active",
    "require_admin",
    "require_view_setup",
    "VIEW_SETUP_PERMISSIONS",
]

#: System permissions that make a user a configuration admin: canonical names, compared
#: exactly (the schema refuses any other spelling, so governance sees what the sandbox sees).
ADMIN_PERMISSIONS = ADMIN

#: System permissions that let a user read the configuration, the users and the audit
#: trail: ViewSetup ("View Setup and Configuration" in Salesforce), ViewAllData and
#: ManageUsers. The admin permissions imply it too.
VIEW_SETUP_PERMISSIONS = frozenset({"ViewSetup", "ViewAllData", "ManageUsers"})

#: Makes a leaked token recognisable to people and secret scanners.
TOKEN_PREFIX = "crmsbx_"


@dataclass(frozen=True)
class Principal:
    """The caller of a request: who, whether they may change configuration, whether active."""

    username: str
    is_admin: bool
    active: bool
    view_setup: bool = False  # may read configuration, users and audit (admins always may)

    @property
    def can_view_setup(self) -> bool:
        return self.is_admin or self.view_setup

    def to_dict(self) -> dict[str, object]:
        return {
            "username": self.username,
            "isAdmin": self.is_admin,
            "viewSetup": self.can_view_setup,
            "active": self.active,
        }


def token_hash(token: str) -> str:
    """The sha256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_admin(conn: sqlite3.Connection, username: str, now: str) -> None:
    """Make `username` the (or another) built-in admin; nothing happens when it already is."""
    conn.execute(
        "INSERT OR IGNORE INTO admins (username, created_at) VALUES (?, ?)", (username, now)
    )


def _is_admin_row(conn: sqlite3.Connection, username: str) -> bool:
    return (
        conn.execute("SELECT 1 FROM admins WHERE username = ?", (username,)).fetchone() is not None
    )


def _user_spec(conn: sqlite3.Connection, username: str) -> dict | None:
    row = conn.execute(
        "SELECT spec FROM config WHERE kind = 'User' AND name = ?", (username,)
    ).fetchone()
    return json.loads(row[0]) if row else None


def issue_token(conn: sqlite3.Connection, username: str, now: str) -> str:
    """A new token for an existing principal; only its hash is kept."""
    if not _is_admin_row(conn, username) and _user_spec(conn, username) is None:
        raise SandboxError(
            f"no sandbox user named '{username}'",
            hint="create a User configuration item first, or use the built-in admin",
            status=404,
            code="NOT_FOUND",
            details={"username": username},
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        "INSERT INTO tokens (token_hash, username, created_at) VALUES (?, ?, ?)",
        (token_hash(token), username, now),
    )
    return token


def _system_permissions(conn: sqlite3.Connection, permission_sets: list[str]) -> set[str]:
    """The system permissions (lower case) the named permission sets grant together."""
    wanted = sorted({p.lower() for p in permission_sets if isinstance(p, str)})
    if not wanted:
        return set()
    marks = ",".join("?" * len(wanted))
    rows = conn.execute(
        f"SELECT spec FROM config WHERE kind = 'PermissionSet' AND lower(name) IN ({marks})",
        wanted,
    )
    held: set[str] = set()
    for (spec,) in rows:
        held |= {p for p in json.loads(spec).get("system", []) if isinstance(p, str)}
    return held


def principal_for(conn: sqlite3.Connection, token: str) -> Principal:
    """The principal a token stands for; 401 UNAUTHORIZED when it stands for no one."""
    row = conn.execute(
        "SELECT username FROM tokens WHERE token_hash = ?", (token_hash(token),)
    ).fetchone()
    if row is None:
        raise SandboxError("unknown or revoked token", status=401, code="UNAUTHORIZED")
    principal = principal_of(conn, row[0])
    if principal is None:
        raise SandboxError(
            f"the user of this token ('{row[0]}') no longer exists",
            status=401,
            code="UNAUTHORIZED",
        )
    return principal


def principal_of(conn: sqlite3.Connection, username: str) -> Principal | None:
    """The principal named `username` (the built-in admin or a User item), or None."""
    if _is_admin_row(conn, username):
        return Principal(username, is_admin=True, active=True, view_setup=True)
    spec = _user_spec(conn, username)
    if spec is None:
        return None
    held = _system_permissions(conn, spec.get("permissionSets", []))
    return Principal(
        username,
        is_admin=bool(ADMIN_PERMISSIONS & held),
        active=bool(spec.get("active", True)),
        view_setup=bool(VIEW_SETUP_PERMISSIONS & held),
    )


def require_active(principal: Principal) -> None:
    """Deactivated users keep their tokens but may not use them."""
    if not principal.active:
        raise SandboxError(
            f"user '{principal.username}' is inactive",
            status=403,
            code="USER_INACTIVE",
            details={"username": principal.username},
        )


def require_admin(principal: Principal) -> None:
    """Configuration writes, tokens and fault injection need an admin."""
    require_active(principal)
    if not principal.is_admin:
        raise SandboxError(
            f"user '{principal.username}' may not do this: it needs an admin "
            "(a permission set with ModifyAllData or CustomizeApplication)",
            status=403,
            code="FORBIDDEN",
            details={"username": principal.username},
        )


def require_view_setup(principal: Principal) -> None:
    """Reading the configuration, the users and the audit trail needs admin or ViewSetup."""
    require_active(principal)
    if not principal.can_view_setup:
        raise SandboxError(
            f"user '{principal.username}' may not read the configuration, users or audit "
            "trail: it needs the ViewSetup system permission (View Setup and Configuration) "
            "or an admin permission",
            status=403,
            code="FORBIDDEN",
            details={"username": principal.username, "permission": "ViewSetup"},
        )
