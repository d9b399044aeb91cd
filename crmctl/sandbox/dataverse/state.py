"""What the Dataverse-compatible API keeps in the sandbox database (the `dv_*` tables).

Table and column definitions (one JSON document per table, as Dataverse's
EntityMetadata with its Attributes), global choices, the rows of every table
(system tables such as `role` and `systemuser` included), role privileges with
their depth, N:N associations, application users and their access tokens.

The tables are made on first use (`ensure`), in the transaction that needs
them, so a sandbox database that never speaks Dataverse carries none of them.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from crmctl.sandbox.db import iso_time

__all__ = [
    "ensure",
    "new_id",
    "next_seq",
    "get_meta",
    "set_meta",
    "Entity",
    "load_entity",
    "load_entity_by_id",
    "load_entity_by_set",
    "all_entities",
    "save_entity",
    "delete_entity",
    "get_row",
    "put_row",
    "delete_row",
    "rows",
    "link",
    "unlink",
    "linked",
    "App",
    "save_app",
    "app_by_client_id",
    "issue_token",
    "token_owner",
]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dv_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dv_entities (
    logical_name TEXT PRIMARY KEY, metadata_id TEXT NOT NULL UNIQUE,
    entity_set TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dv_optionsets (
    name TEXT PRIMARY KEY, metadata_id TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dv_rows (
    entity TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (entity, id));
CREATE INDEX IF NOT EXISTS dv_rows_by_seq ON dv_rows (entity, seq);
CREATE TABLE IF NOT EXISTS dv_role_privileges (
    role_id TEXT NOT NULL, privilege_id TEXT NOT NULL, depth INTEGER NOT NULL,
    PRIMARY KEY (role_id, privilege_id));
CREATE TABLE IF NOT EXISTS dv_links (
    relationship TEXT NOT NULL, a TEXT NOT NULL, b TEXT NOT NULL,
    PRIMARY KEY (relationship, a, b));
CREATE TABLE IF NOT EXISTS dv_apps (
    client_id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL, user_id TEXT NOT NULL,
    tenant TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dv_tokens (
    token_hash TEXT PRIMARY KEY, client_id TEXT NOT NULL, audience TEXT NOT NULL,
    expires_at TEXT NOT NULL)
"""


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def ensure(conn: sqlite3.Connection) -> None:
    """Make the dv_* tables when missing (cheap when they exist)."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'dv_tokens'").fetchone():
        return
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)


def new_id() -> str:
    return str(uuid.uuid4())


def get_meta(conn: sqlite3.Connection, key: str, default: Any = None) -> Any:
    row = conn.execute("SELECT value FROM dv_meta WHERE key = ?", (key,)).fetchone()
    return json.loads(row[0]) if row else default


def set_meta(conn: sqlite3.Connection, key: str, value: Any) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO dv_meta (key, value) VALUES (?, ?)", (key, json.dumps(value))
    )


def next_seq(conn: sqlite3.Connection, name: str = "seq") -> int:
    value = int(get_meta(conn, name, 0)) + 1
    set_meta(conn, name, value)
    return value


# Table definitions.


@dataclass
class Entity:
    """One table's EntityMetadata document (its Attributes inside)."""

    doc: dict[str, Any]

    @property
    def logical_name(self) -> str:
        return str(self.doc["LogicalName"])

    @property
    def entity_set(self) -> str:
        return str(self.doc["EntitySetName"])

    @property
    def metadata_id(self) -> str:
        return str(self.doc["MetadataId"])

    @property
    def primary_id(self) -> str:
        return str(self.doc["PrimaryIdAttribute"])

    @property
    def attributes(self) -> list[dict[str, Any]]:
        return list(self.doc.get("Attributes", []))

    def attribute(self, logical_name: str) -> dict[str, Any] | None:
        for attr in self.doc.get("Attributes", []):
            if attr["LogicalName"] == logical_name.lower():
                return dict(attr)
        return None

    def attribute_by_id(self, metadata_id: str) -> dict[str, Any] | None:
        for attr in self.doc.get("Attributes", []):
            if attr["MetadataId"].lower() == metadata_id.lower():
                return dict(attr)
        return None


def _entity(row: tuple[str] | None) -> Entity | None:
    return Entity(json.loads(row[0])) if row else None


def load_entity(conn: sqlite3.Connection, logical_name: str) -> Entity | None:
    row = conn.execute(
        "SELECT doc FROM dv_entities WHERE logical_name = ?", (logical_name.lower(),)
    ).fetchone()
    return _entity(row)


def load_entity_by_id(conn: sqlite3.Connection, metadata_id: str) -> Entity | None:
    row = conn.execute(
        "SELECT doc FROM dv_entities WHERE metadata_id = ?", (metadata_id.lower(),)
    ).fetchone()
    return _entity(row)


def load_entity_by_set(conn: sqlite3.Connection, entity_set: str) -> Entity | None:
    row = conn.execute("SELECT doc FROM dv_entities WHERE entity_set = ?", (entity_set,)).fetchone()
    return _entity(row)


def all_entities(conn: sqlite3.Connection) -> list[Entity]:
    return [
        Entity(json.loads(doc))
        for (doc,) in conn.execute("SELECT doc FROM dv_entities ORDER BY logical_name")
    ]


#: Table definitions as decoded for reads: logical name -> (stored text, document). A read
#: whose stored text is unchanged gets the same document instead of decoding it again
#: (Dataverse, too, answers metadata reads from a cache of the definitions).
_READ_CACHE: dict[str, tuple[str, dict[str, Any]]] = {}


def _read_only(logical_name: str, text: str) -> Entity:
    cached = _READ_CACHE.get(logical_name)
    if cached is not None and cached[0] == text:
        return Entity(cached[1])
    doc = json.loads(text)
    _READ_CACHE[logical_name] = (text, doc)
    return Entity(doc)


def read_entity(conn: sqlite3.Connection, key: str, by_id: bool = False) -> Entity | None:
    """A table by logical name (or MetadataId) for showing only: its document is shared
    between reads, so the caller must never change it (load_entity is for writes)."""
    column = "metadata_id" if by_id else "logical_name"
    row = conn.execute(
        f"SELECT logical_name, doc FROM dv_entities WHERE {column} = ?", (key.lower(),)
    ).fetchone()
    return _read_only(row[0], row[1]) if row else None


def read_entities(conn: sqlite3.Connection) -> list[Entity]:
    """Every table, for showing only (see read_entity)."""
    rows = conn.execute("SELECT logical_name, doc FROM dv_entities ORDER BY logical_name")
    return [_read_only(name, text) for name, text in rows]


def save_entity(conn: sqlite3.Connection, entity: Entity) -> None:
    """Store a table's definition; its `_version` is the metadata version stamp it changed at."""
    entity.doc["_version"] = next_seq(conn, "metadata_version")
    conn.execute(
        "INSERT OR REPLACE INTO dv_entities (logical_name, metadata_id, entity_set, doc)"
        " VALUES (?, ?, ?, ?)",
        (
            entity.logical_name,
            entity.metadata_id.lower(),
            entity.entity_set,
            json.dumps(entity.doc),
        ),
    )


def delete_entity(conn: sqlite3.Connection, logical_name: str) -> None:
    entity = load_entity(conn, logical_name)
    if entity is not None:
        deleted = get_meta(conn, "deleted_entities", [])
        deleted.append([entity.metadata_id, next_seq(conn, "metadata_version")])
        set_meta(conn, "deleted_entities", deleted)
    conn.execute("DELETE FROM dv_entities WHERE logical_name = ?", (logical_name,))
    conn.execute("DELETE FROM dv_rows WHERE entity = ?", (logical_name,))


# Global choices.


def load_optionset(conn: sqlite3.Connection, key: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT doc FROM dv_optionsets WHERE name = ? OR metadata_id = ?", (key, key.lower())
    ).fetchone()
    return json.loads(row[0]) if row else None


def all_optionsets(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return [json.loads(d) for (d,) in conn.execute("SELECT doc FROM dv_optionsets ORDER BY name")]


def save_optionset(conn: sqlite3.Connection, doc: dict[str, Any]) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO dv_optionsets (name, metadata_id, doc) VALUES (?, ?, ?)",
        (doc["Name"], doc["MetadataId"].lower(), json.dumps(doc)),
    )


def delete_optionset(conn: sqlite3.Connection, name: str) -> None:
    conn.execute("DELETE FROM dv_optionsets WHERE name = ?", (name,))


# Rows.


def get_row(conn: sqlite3.Connection, entity: str, row_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT doc FROM dv_rows WHERE entity = ? AND id = ?", (entity, row_id.lower())
    ).fetchone()
    return json.loads(row[0]) if row else None


def put_row(conn: sqlite3.Connection, entity: str, row_id: str, doc: dict[str, Any]) -> None:
    existing = conn.execute(
        "SELECT seq FROM dv_rows WHERE entity = ? AND id = ?", (entity, row_id.lower())
    ).fetchone()
    seq = existing[0] if existing else next_seq(conn, "row_seq")
    conn.execute(
        "INSERT OR REPLACE INTO dv_rows (entity, id, seq, doc) VALUES (?, ?, ?, ?)",
        (entity, row_id.lower(), seq, json.dumps(doc)),
    )


def delete_row(conn: sqlite3.Connection, entity: str, row_id: str) -> None:
    conn.execute("DELETE FROM dv_rows WHERE entity = ? AND id = ?", (entity, row_id.lower()))


def rows(conn: sqlite3.Connection, entity: str) -> list[dict[str, Any]]:
    """Every row of a table, in creation order."""
    return [
        json.loads(doc)
        for (doc,) in conn.execute(
            "SELECT doc FROM dv_rows WHERE entity = ? ORDER BY seq", (entity,)
        )
    ]


# N:N associations (systemuserroles_association, systemuserprofiles_association …).


def link(conn: sqlite3.Connection, relationship: str, a: str, b: str) -> bool:
    """Associate; False when the two were associated already."""
    cursor = conn.execute(
        "INSERT OR IGNORE INTO dv_links (relationship, a, b) VALUES (?, ?, ?)",
        (relationship, a.lower(), b.lower()),
    )
    return cursor.rowcount > 0


def unlink(conn: sqlite3.Connection, relationship: str, a: str, b: str) -> bool:
    cursor = conn.execute(
        "DELETE FROM dv_links WHERE relationship = ? AND a = ? AND b = ?",
        (relationship, a.lower(), b.lower()),
    )
    return cursor.rowcount > 0


def linked(conn: sqlite3.Connection, relationship: str, a: str) -> list[str]:
    return [
        b
        for (b,) in conn.execute(
            "SELECT b FROM dv_links WHERE relationship = ? AND a = ? ORDER BY b",
            (relationship, a.lower()),
        )
    ]


def linked_from(conn: sqlite3.Connection, relationship: str, b: str) -> list[str]:
    """The other side of an N:N association (e.g. the users that hold a role)."""
    return [
        a
        for (a,) in conn.execute(
            "SELECT a FROM dv_links WHERE relationship = ? AND b = ? ORDER BY a",
            (relationship, b.lower()),
        )
    ]


# Application users (Entra app registrations) and their tokens.


@dataclass(frozen=True)
class App:
    client_id: str
    secret_hash: str
    user_id: str
    tenant: str

    def secret_matches(self, secret: str) -> bool:
        return secrets.compare_digest(self.secret_hash, _hash(secret))


def save_app(
    conn: sqlite3.Connection, client_id: str, secret: str, user_id: str, tenant: str
) -> App:
    app = App(client_id.lower(), _hash(secret), user_id, tenant)
    conn.execute(
        "INSERT OR REPLACE INTO dv_apps (client_id, secret_hash, user_id, tenant)"
        " VALUES (?, ?, ?, ?)",
        (app.client_id, app.secret_hash, app.user_id, app.tenant),
    )
    return app


def app_by_client_id(conn: sqlite3.Connection, client_id: str) -> App | None:
    row = conn.execute(
        "SELECT client_id, secret_hash, user_id, tenant FROM dv_apps WHERE client_id = ?",
        (client_id.lower(),),
    ).fetchone()
    return App(*row) if row else None


def issue_token(
    conn: sqlite3.Connection, client_id: str, audience: str, now: datetime, seconds: int
) -> str:
    token = "dvsbx_" + secrets.token_urlsafe(32)
    conn.execute(
        "INSERT INTO dv_tokens (token_hash, client_id, audience, expires_at) VALUES (?, ?, ?, ?)",
        (_hash(token), client_id.lower(), audience, iso_time(now + timedelta(seconds=seconds))),
    )
    return token


def token_owner(conn: sqlite3.Connection, token: str, now: datetime) -> tuple[App, str] | None:
    """(the app, the token's audience) of a live token, or None."""
    row = conn.execute(
        "SELECT client_id, audience, expires_at FROM dv_tokens WHERE token_hash = ?",
        (_hash(token),),
    ).fetchone()
    if row is None or row[2] <= iso_time(now):
        return None
    app = app_by_client_id(conn, row[0])
    return (app, row[1]) if app else None
