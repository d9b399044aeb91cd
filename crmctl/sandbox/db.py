"""The sandbox's SQLite database: connections, versioned migrations, and its error type.

Every database records the migrations applied to it in `schema_version`; a
database made by an older crmctl is brought up to date when it is opened,
and one made by a newer crmctl is refused rather than misread.

To change the schema, append a step to `MIGRATIONS`; never edit a step that
has shipped (databases in the wild have already run it).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crmctl.errors import CrmctlError

__all__ = [
    "SandboxError",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "connect",
    "migrate",
    "schema_version",
    "iso_time",
]

#: How long a connection waits for another writer before giving up (milliseconds).
BUSY_TIMEOUT_MS = 10_000


@dataclass
class SandboxError(CrmctlError):
    """A request the sandbox CRM refuses; `status` is the HTTP status it answers with."""

    status: int = 400
    code: str = "BAD_REQUEST"
    details: dict[str, Any] = field(default_factory=dict)

    def to_body(self) -> dict[str, Any]:
        """The JSON error body every endpoint answers with."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


def iso_time(moment: datetime) -> str:
    """`2025-01-31T12:00:00.000000Z`: fixed width, so text order is time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _script(conn: sqlite3.Connection, script: str) -> None:
    # Not executescript(): it commits first, and a migration must be all or nothing.
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _v1_configuration(conn: sqlite3.Connection) -> None:
    """Configuration items and their audit trail (crmctl 0.1)."""
    _script(
        conn,
        """
        CREATE TABLE config (
            kind        TEXT NOT NULL,
            name        TEXT NOT NULL,
            spec        TEXT NOT NULL,          -- JSON, canonical form
            version     INTEGER NOT NULL,
            updated_at  TEXT NOT NULL,
            updated_by  TEXT NOT NULL,
            PRIMARY KEY (kind, name)
        );
        CREATE TABLE audit (
            seq     INTEGER PRIMARY KEY AUTOINCREMENT,
            at      TEXT NOT NULL,
            actor   TEXT NOT NULL,
            action  TEXT NOT NULL,
            kind    TEXT NOT NULL,
            name    TEXT NOT NULL,
            before  TEXT,
            after   TEXT
        );
        """,
    )


def _v2_auth(conn: sqlite3.Connection) -> None:
    """Principals and tokens, a configuration generation counter, audit by time."""
    _script(
        conn,
        """
        CREATE TABLE admins (
            username    TEXT PRIMARY KEY,
            created_at  TEXT NOT NULL
        );
        CREATE TABLE tokens (
            token_hash  TEXT PRIMARY KEY,       -- sha256 hex (the token itself is never stored)
            username    TEXT NOT NULL,
            created_at  TEXT NOT NULL
        );
        CREATE TABLE meta (
            key    TEXT PRIMARY KEY,
            value  INTEGER NOT NULL
        );
        INSERT INTO meta (key, value) VALUES ('config_generation', 0);
        CREATE INDEX audit_at ON audit (at);
        """,
    )


def _v3_records(conn: sqlite3.Connection) -> None:
    """Records (JSON documents, one table for every object), their archive, id and
    auto-number sequences, custom objects' id prefixes, and the records audit trail."""
    _script(
        conn,
        """
        CREATE TABLE records (
            seq       INTEGER PRIMARY KEY AUTOINCREMENT,   -- insertion order: the query cursor
            id        TEXT NOT NULL UNIQUE,
            object    TEXT NOT NULL,                       -- lower-case object API name
            owner_id  TEXT NOT NULL,
            fields    TEXT NOT NULL                        -- JSON: declared field name -> value
        );
        CREATE INDEX records_by_object ON records (object, seq);
        CREATE TABLE record_sequences (
            object  TEXT NOT NULL,
            kind    TEXT NOT NULL,                         -- 'id' or 'autonumber'
            next    INTEGER NOT NULL,
            PRIMARY KEY (object, kind)
        );
        CREATE TABLE object_prefixes (
            object  TEXT PRIMARY KEY,                      -- lower-case custom object name
            prefix  TEXT NOT NULL UNIQUE
        );
        CREATE TABLE archived_records (
            id           TEXT PRIMARY KEY,
            object       TEXT NOT NULL,
            owner_id     TEXT NOT NULL,
            fields       TEXT NOT NULL,
            archived_at  TEXT NOT NULL,
            policy       TEXT NOT NULL
        );
        CREATE INDEX archived_by_object ON archived_records (object, id);
        CREATE TABLE records_audit (
            seq      INTEGER PRIMARY KEY AUTOINCREMENT,
            at       TEXT NOT NULL,
            actor    TEXT NOT NULL,
            action   TEXT NOT NULL,                        -- e.g. 'retention.archive'
            object   TEXT NOT NULL,
            subject  TEXT NOT NULL,                        -- e.g. the retention policy's name
            details  TEXT NOT NULL                         -- JSON: counts and record ids
        );
        """,
    )


def _v4_salesforce(conn: sqlite3.Connection) -> None:
    """The Salesforce-compatible API (crmctl.sandbox.salesforce): connected apps, OAuth
    sessions, the daily API usage counter, its settings, and asynchronous Metadata API jobs."""
    _script(
        conn,
        """
        CREATE TABLE sf_connected_apps (
            name         TEXT PRIMARY KEY,
            client_id    TEXT NOT NULL UNIQUE,
            certificate  TEXT,                  -- PEM certificate or public key (JWT flow)
            secret_hash  TEXT,                  -- sha256 hex of the consumer secret
            run_as       TEXT,                  -- the client-credentials flow's user
            created_at   TEXT NOT NULL
        );
        CREATE TABLE sf_sessions (
            token_hash  TEXT PRIMARY KEY,       -- sha256 hex (the token itself is never stored)
            username    TEXT NOT NULL,
            client_id   TEXT NOT NULL,
            issued_at   TEXT NOT NULL,
            expires_at  TEXT NOT NULL
        );
        CREATE TABLE sf_api_usage (
            day   TEXT PRIMARY KEY,             -- UTC date
            used  INTEGER NOT NULL
        );
        CREATE TABLE sf_settings (
            key    TEXT PRIMARY KEY,
            value  TEXT NOT NULL                -- JSON
        );
        CREATE TABLE sf_async_jobs (
            id          TEXT PRIMARY KEY,
            operation   TEXT NOT NULL,          -- retrieve | deploy
            created_at  TEXT NOT NULL,
            polls       INTEGER NOT NULL,       -- status checks left before it reports done
            result      TEXT NOT NULL           -- JSON
        );
        """,
    )


def _v5_write_keys(conn: sqlite3.Connection) -> None:
    """Idempotency keys of configuration writes, and the write ids a client has fenced off.

    A key is `<write id>:<n>`. A write whose key was seen answers with its stored
    result instead of running again; once a client resolves a write id (after a
    crash, before it reads the CRM), later requests under that id are refused, so
    a request still in flight can no longer land behind the client's back."""
    _script(
        conn,
        """
        CREATE TABLE write_keys (
            key       TEXT PRIMARY KEY,
            write_id  TEXT NOT NULL,
            results   TEXT NOT NULL,            -- JSON: what the write answered
            at        TEXT NOT NULL
        );
        CREATE INDEX write_keys_by_write ON write_keys (write_id);
        CREATE TABLE write_fences (
            write_id  TEXT PRIMARY KEY,
            at        TEXT NOT NULL
        );
        """,
    )


def _v6_salesforce_components(conn: sqlite3.Connection) -> None:
    """The Salesforce-compatible API keeps every deployed component's XML, as an org does."""
    _script(
        conn,
        """
        CREATE TABLE sf_components (
            type           TEXT NOT NULL,       -- Metadata API type (CustomField, ListView …)
            name_key       TEXT NOT NULL,       -- lower-case fullName (names are case-insensitive)
            full_name      TEXT NOT NULL,
            xml            TEXT NOT NULL,       -- the component's element as deployed
            store_mark     TEXT,                -- 'version|updatedAt' of the config item it
                                                --   mirrors when deployed, or NULL (XML only)
            updated_at     TEXT NOT NULL,
            updated_by     TEXT NOT NULL,
            PRIMARY KEY (type, name_key)
        );
        """,
    )


#: The schema's history: step i (0-based) brings a database to version i + 1.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _v1_configuration,
    _v2_auth,
    _v3_records,
    _v4_salesforce,
    _v5_write_keys,
    _v6_salesforce_components,
]

SCHEMA_VERSION = len(MIGRATIONS)


def connect(path: str | Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL and a busy timeout."""
    conn = sqlite3.connect(
        str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    # WAL with synchronous=NORMAL survives a killed process; only power loss can lose
    # the last commits, which is fine for a sandbox.
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def schema_version(conn: sqlite3.Connection) -> int:
    """The version a database is at: 0 for an empty one."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if not exists:
        return 0
    return conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Bring the database to `target` (default: current) in one transaction; the version reached."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        version = schema_version(conn)
        if version > SCHEMA_VERSION:
            raise SandboxError(
                f"the sandbox database is at schema version {version}; "
                f"this crmctl knows versions up to {SCHEMA_VERSION}",
                hint="upgrade crmctl, or use a database made by this version",
                status=500,
                code="SCHEMA_TOO_NEW",
            )
        for number in range(version + 1, target + 1):
            MIGRATIONS[number - 1](conn)
            conn.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                (number, iso_time(datetime.now(UTC))),
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return max(version, target)
