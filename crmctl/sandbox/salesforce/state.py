"""What the Salesforce-compatible API keeps in the sandbox database (the `sf_*` tables).

Connected apps (the JWT certificate or a hashed consumer secret, and the
client-credentials run-as user), OAuth sessions (hashed, with an expiry),
the daily API usage counter, settings, and asynchronous Metadata API jobs.
Library functions over a `SandboxStore`: the CLI and tests call them, the
routes call the `conn` variants inside their own transaction.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from crmctl.sandbox.db import SandboxError, iso_time
from crmctl.sandbox.salesforce.ids import ORG_ID_15, to18
from crmctl.sandbox.store import SandboxStore

__all__ = [
    "ConnectedApp",
    "DEFAULT_SETTINGS",
    "add_connected_app",
    "connected_apps",
    "app_by_client_id",
    "issue_session",
    "session_user",
    "expire_sessions",
    "settings",
    "settings_in",
    "configure",
    "count_call",
    "set_usage",
    "usage_today",
    "save_job",
    "finish_job",
    "take_job",
]

#: Settings and their defaults (`configure(store, dailyApiLimit=…)` changes them).
DEFAULT_SETTINGS: dict[str, Any] = {
    "dailyApiLimit": 15_000,  # a Developer Edition org's daily API requests
    "sessionSeconds": 7200,  # how long an access token lives
    "asyncPolls": 1,  # status checks that answer "not done yet" before a job is done
    "limitExceeded": 0,  # the next N API calls answer REQUEST_LIMIT_EXCEEDED
}


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ConnectedApp:
    """A connected app as the sandbox knows it (secrets only as hashes)."""

    name: str
    client_id: str
    certificate: str | None
    secret_hash: str | None
    run_as: str | None

    def secret_matches(self, secret: str) -> bool:
        return self.secret_hash is not None and secrets.compare_digest(
            self.secret_hash, _hash(secret)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "clientId": self.client_id,
            "jwt": self.certificate is not None,
            "clientCredentials": self.secret_hash is not None,
            "runAs": self.run_as,
        }


def add_connected_app(
    store: SandboxStore,
    name: str,
    client_id: str,
    certificate: str | None = None,
    client_secret: str | None = None,
    run_as: str | None = None,
) -> ConnectedApp:
    """Register (or replace) a connected app: a certificate for JWT, a secret and user for
    client credentials."""
    if not name or not client_id:
        raise SandboxError("a connected app needs a name and a client id", code="BAD_REQUEST")
    if certificate is None and client_secret is None:
        raise SandboxError(
            "a connected app needs a certificate (JWT flow) or a client secret "
            "(client-credentials flow)",
            code="BAD_REQUEST",
        )
    if certificate is not None:
        _check_certificate(certificate)
    if client_secret is not None and not run_as:
        raise SandboxError(
            "the client-credentials flow runs as a user: give run_as", code="BAD_REQUEST"
        )
    app = ConnectedApp(
        name, client_id, certificate, _hash(client_secret) if client_secret else None, run_as
    )
    with store.transaction() as conn:
        conn.execute(
            "INSERT OR REPLACE INTO sf_connected_apps"
            " (name, client_id, certificate, secret_hash, run_as, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (name, client_id, certificate, app.secret_hash, run_as, iso_time(store.now())),
        )
    return app


def _check_certificate(pem: str) -> None:
    from crmctl.sandbox.salesforce.oauth import public_key

    try:
        public_key(pem)
    except ValueError as exc:
        raise SandboxError(f"the certificate is not usable: {exc}", code="BAD_REQUEST") from None


def _app(row: tuple) -> ConnectedApp:
    return ConnectedApp(*row)


_APP_COLUMNS = "name, client_id, certificate, secret_hash, run_as"


def connected_apps(store: SandboxStore) -> list[ConnectedApp]:
    with store.transaction() as conn:
        rows = conn.execute(f"SELECT {_APP_COLUMNS} FROM sf_connected_apps ORDER BY name")
        return [_app(r) for r in rows.fetchall()]


def app_by_client_id(conn: sqlite3.Connection, client_id: str) -> ConnectedApp | None:
    row = conn.execute(
        f"SELECT {_APP_COLUMNS} FROM sf_connected_apps WHERE client_id = ?", (client_id,)
    ).fetchone()
    return _app(row) if row else None


# --- sessions ------------------------------------------------------------------------


def issue_session(
    conn: sqlite3.Connection, username: str, client_id: str, now: datetime, seconds: int
) -> str:
    """A new access token for `username` (only its hash is kept)."""
    token = ORG_ID_15 + "!" + secrets.token_urlsafe(48)  # as Salesforce: the org id, "!"
    conn.execute(
        "INSERT INTO sf_sessions (token_hash, username, client_id, issued_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (
            _hash(token),
            username,
            client_id,
            iso_time(now),
            iso_time(now + timedelta(seconds=seconds)),
        ),
    )
    return token


def session_user(conn: sqlite3.Connection, token: str, now: datetime) -> str | None:
    """The user of a valid (unexpired) token, or None."""
    row = conn.execute(
        "SELECT username, expires_at FROM sf_sessions WHERE token_hash = ?", (_hash(token),)
    ).fetchone()
    if row is None or row[1] <= iso_time(now):
        return None
    return row[0]


def expire_sessions(store: SandboxStore) -> int:
    """End every session now (as if their tokens had timed out); how many there were."""
    with store.transaction() as conn:
        return conn.execute(
            "UPDATE sf_sessions SET expires_at = ?", (iso_time(store.now()),)
        ).rowcount


# --- settings and the API usage counter ------------------------------------------------


def settings_in(conn: sqlite3.Connection) -> dict[str, Any]:
    """The settings, read inside an open transaction."""
    out = dict(DEFAULT_SETTINGS)
    for key, value in conn.execute("SELECT key, value FROM sf_settings"):
        out[key] = json.loads(value)
    return out


def settings(store: SandboxStore) -> dict[str, Any]:
    with store.transaction() as conn:
        return settings_in(conn)


def configure(store: SandboxStore, **values: Any) -> dict[str, Any]:
    """Change settings (see DEFAULT_SETTINGS); the settings afterwards."""
    unknown = set(values) - set(DEFAULT_SETTINGS)
    if unknown:
        raise SandboxError(f"unknown setting(s): {', '.join(sorted(unknown))}", code="BAD_REQUEST")
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise SandboxError(f"{key} must be a whole number >= 0", code="BAD_REQUEST")
    with store.transaction() as conn:
        for key, value in values.items():
            conn.execute(
                "INSERT OR REPLACE INTO sf_settings (key, value) VALUES (?, ?)",
                (key, json.dumps(value)),
            )
        return settings_in(conn)


def count_call(conn: sqlite3.Connection, now: datetime) -> tuple[int, int, bool]:
    """Count one API call: (used today, daily limit, whether the call is refused)."""
    config = settings_in(conn)
    if config["limitExceeded"] > 0:
        conn.execute(
            "INSERT OR REPLACE INTO sf_settings (key, value) VALUES ('limitExceeded', ?)",
            (json.dumps(config["limitExceeded"] - 1),),
        )
        used = usage_today(conn, now)
        return used, config["dailyApiLimit"], True
    day = now.date().isoformat()
    used = usage_today(conn, now)
    limit = config["dailyApiLimit"]
    if used >= limit:
        return used, limit, True
    conn.execute(
        "INSERT INTO sf_api_usage (day, used) VALUES (?, 1)"
        " ON CONFLICT (day) DO UPDATE SET used = used + 1",
        (day,),
    )
    return used + 1, limit, False


def usage_today(conn: sqlite3.Connection, now: datetime) -> int:
    """API calls counted today (UTC)."""
    row = conn.execute(
        "SELECT used FROM sf_api_usage WHERE day = ?", (now.date().isoformat(),)
    ).fetchone()
    return row[0] if row else 0


def set_usage(store: SandboxStore, used: int) -> None:
    """Set today's API usage counter (to test what happens near the limit)."""
    with store.transaction() as conn:
        conn.execute(
            "INSERT OR REPLACE INTO sf_api_usage (day, used) VALUES (?, ?)",
            (store.now().date().isoformat(), used),
        )


# --- asynchronous Metadata API jobs ----------------------------------------------------


def save_job(
    conn: sqlite3.Connection,
    prefix: str,
    operation: str,
    result: dict[str, Any] | None,
    now: datetime,
) -> str:
    """Keep a job; its id (status checks see it after `asyncPolls` checks and once it has a
    result: None while it is still running, see `finish_job`)."""
    job_id = to18((prefix + secrets.token_hex(6).upper())[:15])
    conn.execute(
        "INSERT INTO sf_async_jobs (id, operation, created_at, polls, result) VALUES (?, ?, ?, ?, ?)",
        (job_id, operation, iso_time(now), settings_in(conn)["asyncPolls"], json.dumps(result)),
    )
    return job_id


def finish_job(conn: sqlite3.Connection, job_id: str, result: dict[str, Any]) -> None:
    """Record a running job's result."""
    conn.execute("UPDATE sf_async_jobs SET result = ? WHERE id = ?", (json.dumps(result), job_id))


def take_job(conn: sqlite3.Connection, job_id: str, operation: str) -> dict[str, Any] | None:
    """A job's result once it is done, {} while it is still running, None when unknown."""
    row = conn.execute(
        "SELECT polls, result FROM sf_async_jobs WHERE id = ? AND operation = ?",
        (job_id, operation),
    ).fetchone()
    if row is None:
        return None
    if row[0] > 0:
        conn.execute("UPDATE sf_async_jobs SET polls = polls - 1 WHERE id = ?", (job_id,))
        return {}
    return json.loads(row[1]) or {}
