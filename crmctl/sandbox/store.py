"""`SandboxStore`: the sandbox CRM's configuration, tokens and audit trail in SQLite.

The HTTP server is a thin layer over this class, and the `local` environment
uses it in-process. It is safe to share between threads: reads use pooled
connections (WAL gives each a consistent snapshot); writes take a process
lock and `BEGIN IMMEDIATE`, so they are serialised with each other and with
other processes using the same file.

Every write is checked against the live configuration held in memory
(`rules.LiveConfig`). Its `generation` matches a counter in the database, so
a write made by another process is noticed and the memory rebuilt; a rolled
back transaction that touched the configuration discards it.

Extension points (records): `transaction()` for writes of your own,
`has_records` (records.has_records unless another is passed to `open`) so
type changes consider the data, `now()` for the store's clock. An allowed
type change converts the stored values (enforcement.convert_field_values).
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crmctl.config.schema_check import schema_diagnostics
from crmctl.config.yamlsource import SourceMap
from crmctl.kinds import HANDLERS, KINDS
from crmctl.model import Resource, address_of
from crmctl.sandbox import auth, records, rules
from crmctl.sandbox.auth import Principal
from crmctl.sandbox.db import SandboxError, connect, iso_time, migrate
from crmctl.sandbox.enforcement import convert_field_values

__all__ = ["SandboxStore", "MAX_PAGE", "MAX_AUDIT_PAGE"]

MAX_PAGE = 2000
MAX_AUDIT_PAGE = 10_000
_IDLE_CONNECTIONS = 16
_SELECT_ITEM = "SELECT kind, name, spec, version, updated_at, updated_by FROM config"


def _item(row: tuple) -> dict[str, Any]:
    kind, name, spec, version, updated_at, updated_by = row
    spec = json.loads(spec) if isinstance(spec, str) else spec
    return {
        "kind": kind,
        "name": name,
        "spec": spec,
        "version": version,
        "updatedAt": updated_at,
        "updatedBy": updated_by,
    }


def _require_kind(kind: str) -> None:
    if kind not in HANDLERS:
        raise SandboxError(
            f"unknown kind '{kind}'",
            hint=f"kinds: {', '.join(KINDS)}",
            status=404,
            code="NOT_FOUND",
            details={"kind": kind},
        )


def _check_if_match(kind: str, name: str, if_match: int | None, version: int | None) -> None:
    """Optimistic concurrency: `if_match` is the version the caller last saw (0: absent)."""
    if if_match is None or if_match == (version or 0):
        return
    state = f"is at version {version}" if version else "does not exist"
    expected = f"version {if_match}" if if_match else "it to be absent (version 0)"
    raise SandboxError(
        f"{address_of(kind, name)} {state}; the request expected {expected}",
        hint="read it again and retry with its current version",
        status=412,
        code="PRECONDITION_FAILED",
        details={"expected": if_match, "actual": version or 0},
    )


def _check_schema(kind: str, name: str, spec: Any) -> None:
    document = {"apiVersion": "crmctl/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}
    diagnostics = schema_diagnostics(kind, document, SourceMap("<request>", 0))
    if diagnostics:
        messages = [d.message for d in diagnostics]
        raise SandboxError(
            f"{address_of(kind, name)}: {'; '.join(messages)}",
            status=400,
            code="INVALID_SPEC",
            details={"errors": messages, "stage": "schema"},
        )


def _encode_cursor(kind: str, name: str) -> str:
    return f"{kind}:{name}"


def _decode_cursor(cursor: str) -> tuple[str, str]:
    """`Kind:name`, the last item of the previous page; the listing resumes after it."""
    kind, sep, name = cursor.partition(":")
    if not sep or kind not in KINDS:
        raise SandboxError(
            "invalid cursor: pass back a nextCursor from the same listing",
            status=400,
            code="BAD_REQUEST",
            details={"cursor": cursor},
        )
    return kind, name


def _check_limit(limit: int, maximum: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= maximum:
        raise SandboxError(
            f"limit must be between 1 and {maximum} (got {limit!r})",
            status=400,
            code="BAD_REQUEST",
            details={"limit": limit},
        )


class _Pool:
    """SQLite connections reused across threads, one thread at a time each."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self.closed = False

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        if self.closed:
            raise SandboxError("the sandbox store is closed", status=503, code="CLOSED")
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        conn = conn or connect(self.path)
        try:
            yield conn
        finally:
            if conn.in_transaction:  # interrupted mid-way: never hand on an open transaction
                conn.rollback()
            with self._lock:
                keep = not self.closed and len(self._idle) < _IDLE_CONNECTIONS
                if keep:
                    self._idle.append(conn)
            if not keep:
                conn.close()

    def close(self) -> None:
        with self._lock:
            self.closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class SandboxStore:
    """The sandbox CRM's state; open with `SandboxStore.open(path)`."""

    def __init__(
        self,
        path: Path,
        clock: Callable[[], datetime] | None = None,
        has_records: rules.HasRecords | None = None,
    ) -> None:
        self.path = path
        self.has_records: rules.HasRecords = has_records or records.has_records
        self._clock = clock or (lambda: datetime.now(UTC))
        self._pool = _Pool(path)
        self._write_lock = threading.RLock()
        self._local = threading.local()  # the transaction this thread is in, if any
        self._live: rules.LiveConfig | None = None

    @classmethod
    def open(
        cls,
        path: str | Path,
        create: bool = True,
        *,
        clock: Callable[[], datetime] | None = None,
        has_records: rules.HasRecords | None = None,
    ) -> SandboxStore:
        """Open (creating or migrating when needed) the database at `path`."""
        path = Path(path)
        if not create and not path.is_file():
            raise SandboxError(
                f"no sandbox database at {path}",
                hint=f"create one with: crmctl sandbox init --db {path}",
                status=404,
                code="NOT_FOUND",
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = connect(path)
            try:
                migrate(conn)
            finally:
                conn.close()
        except (sqlite3.Error, OSError) as exc:
            raise SandboxError(
                f"cannot open the sandbox database {path}: {exc}",
                hint="check the path and its permissions; is it really a crmctl sandbox database?",
                status=500,
                code="DATABASE_ERROR",
            ) from exc
        store = cls(path, clock=clock, has_records=has_records)
        with store.transaction():
            pass  # builds the live configuration now rather than on the first write
        return store

    def close(self) -> None:
        """Close every idle connection; the store cannot be used afterwards."""
        self._pool.close()

    def now(self) -> datetime:
        """The store's clock (tests and retention runs may pass their own to `open`)."""
        return self._clock()

    def _now_text(self) -> str:
        return iso_time(self._clock())

    # Transactions and the live configuration.

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A connection inside BEGIN IMMEDIATE … COMMIT (ROLLBACK on error); nests as savepoints."""
        local = self._local
        if getattr(local, "conn", None) is not None:
            yield from self._savepoint(local)
            return
        with self._write_lock, self._pool.connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            local.conn, local.depth, local.config_changed = conn, 0, False
            try:
                self._live_for(conn)
                yield conn
                generation = None
                if local.config_changed:
                    conn.execute(
                        "UPDATE meta SET value = value + 1 WHERE key = 'config_generation'"
                    )
                    generation = self._generation(conn)
                conn.execute("COMMIT")
                if generation is not None and self._live is not None:
                    self._live.generation = generation
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if local.config_changed:
                    self._live = None
                raise
            finally:
                local.conn = None

    def _savepoint(self, local: threading.local) -> Iterator[sqlite3.Connection]:
        conn = local.conn
        local.depth += 1
        name = f"nested_{local.depth}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield conn
        except BaseException:
            conn.execute(f"ROLLBACK TO {name}")
            conn.execute(f"RELEASE {name}")
            if local.config_changed:
                self._live = None  # rebuilt from this connection on next use
            raise
        else:
            conn.execute(f"RELEASE {name}")
        finally:
            local.depth -= 1

    @staticmethod
    def _generation(conn: sqlite3.Connection) -> int:
        row = conn.execute("SELECT value FROM meta WHERE key = 'config_generation'").fetchone()
        return row[0]

    def _live_for(self, conn: sqlite3.Connection) -> rules.LiveConfig:
        """The live configuration, rebuilt when missing or changed by another process."""
        generation = self._generation(conn)
        if self._live is None or self._live.generation != generation:
            resources = [
                Resource(kind, name, json.loads(spec))
                for kind, name, spec in conn.execute("SELECT kind, name, spec FROM config")
            ]
            self._live = rules.LiveConfig(resources, generation)
        return self._live

    # Principals and tokens.

    def initialise(self, admin_username: str = "admin@sandbox.local") -> str:
        """Create the built-in admin (once) and return a new token for it."""
        if not admin_username or not admin_username.strip():
            raise SandboxError("the admin username must not be empty", code="BAD_REQUEST")
        with self.transaction() as conn:
            auth.add_admin(conn, admin_username, self._now_text())
            return auth.issue_token(conn, admin_username, self._now_text())

    def issue_token(self, username: str) -> str:
        """A new token for the built-in admin or a User configuration item."""
        with self.transaction() as conn:
            return auth.issue_token(conn, username, self._now_text())

    def authenticate(self, token: str) -> Principal:
        """The principal behind a token (401 UNAUTHORIZED when there is none)."""
        with self._pool.connection() as conn:
            return auth.principal_for(conn, token)

    # Reading configuration.

    def get_config(self, kind: str, name: str) -> dict[str, Any] | None:
        """The item `kind/name` (exact name), or None."""
        _require_kind(kind)
        with self._pool.connection() as conn:
            row = conn.execute(
                f"{_SELECT_ITEM} WHERE kind = ? AND name = ?", (kind, name)
            ).fetchone()
        return _item(row) if row else None

    def list_config(
        self, kind: str, cursor: str | None = None, limit: int = MAX_PAGE
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a kind's items by name, and the cursor of the next page (None at the end)."""
        _require_kind(kind)
        return self.list_config_page([kind], cursor, limit)

    def list_config_page(
        self, kinds: Iterable[str] | None = None, cursor: str | None = None, limit: int = MAX_PAGE
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page across kinds (in `KINDS` order, then by name) and the next page's cursor."""
        wanted = list(KINDS) if kinds is None else [k for k in KINDS if k in set(kinds)]
        for kind in [] if kinds is None else kinds:
            _require_kind(kind)
        _check_limit(limit, MAX_PAGE)
        if not wanted:
            return [], None
        # Items are listed in KINDS order, then by name; a cursor names the last one seen.
        start_kind, after = _decode_cursor(cursor) if cursor else (wanted[0], None)
        start = KINDS.index(start_kind)
        rows: list[tuple] = []
        with self._pool.connection() as conn:
            conn.execute("BEGIN")  # one snapshot for the whole page
            try:
                for kind in [k for k in wanted if KINDS.index(k) >= start]:
                    query = f"{_SELECT_ITEM} WHERE kind = ?"
                    args: list[Any] = [kind]
                    if after is not None and kind == start_kind:
                        query += " AND name > ?"
                        args.append(after)
                    args.append(limit + 1 - len(rows))
                    rows += conn.execute(query + " ORDER BY name LIMIT ?", args).fetchall()
                    if len(rows) > limit:
                        break
            finally:
                conn.execute("COMMIT")
        more = len(rows) > limit
        rows = rows[:limit]
        return [_item(r) for r in rows], _encode_cursor(*rows[-1][:2]) if more else None

    def list_all_config(self, kinds: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Every item of the given kinds (all kinds by default), every page."""
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            page, cursor = self.list_config_page(kinds, cursor)
            items += page
            if cursor is None:
                return items

    # Writing configuration.

    def put_config(
        self, kind: str, name: str, spec: dict, actor: str, if_match: int | None = None
    ) -> dict[str, Any]:
        """Create or replace `kind/name`; the item as stored (spec in canonical form)."""
        return self.upsert_config(kind, name, spec, actor, if_match)[0]

    def upsert_config(
        self, kind: str, name: str, spec: dict, actor: str, if_match: int | None = None
    ) -> tuple[dict[str, Any], bool]:
        """Like `put_config`, and whether the item was created (the HTTP layer answers 201)."""
        with self.transaction() as conn:
            return self._put(conn, kind, name, spec, actor, if_match)

    def delete_config(self, kind: str, name: str, actor: str, if_match: int | None = None) -> None:
        """Delete `kind/name` (404 when absent, 409 IN_USE while other items refer to it)."""
        with self.transaction() as conn:
            self._delete(conn, kind, name, actor, if_match)

    def batch(
        self, operations: list[dict[str, Any]], actor: str, key: str | None = None
    ) -> list[dict[str, Any]]:
        """Apply put/delete operations in order in one transaction: all of them or none.

        With an idempotency `key` (`<write id>:<n>`), a key already committed answers
        its stored results without running again, and a key whose write id was
        resolved (fenced) is refused: see `resolve_write`.
        """
        for index, op in enumerate(operations):
            _check_operation(index, op)
        write_id = _check_key(key) if key is not None else None
        with self.transaction() as conn:
            if key is not None:
                done = conn.execute(
                    "SELECT results FROM write_keys WHERE key = ?", (key,)
                ).fetchone()
                if done is not None:
                    return json.loads(done[0])
                if conn.execute(
                    "SELECT 1 FROM write_fences WHERE write_id = ?", (write_id,)
                ).fetchone():
                    raise SandboxError(
                        f"write {write_id} was resolved as not landed; this request arrived "
                        "too late and was not carried out",
                        status=409,
                        code="WRITE_FENCED",
                        details={"writeId": write_id},
                    )
            results = self._run_operations(conn, operations, actor)
            if key is not None:
                conn.execute(
                    "INSERT INTO write_keys (key, write_id, results, at) VALUES (?, ?, ?, ?)",
                    (key, write_id, json.dumps(results), self._now_text()),
                )
        return results

    def resolve_write(self, write_id: str) -> dict[str, Any]:
        """Settle a write whose answer a client lost: which of its requests landed.

        Fences the write id first, in the same transaction that reads its keys, so a
        request of that write still in flight is refused when it arrives: after this
        call, reading the configuration shows everything the write will ever do.
        """
        _check_key(f"{write_id}:0")
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO write_fences (write_id, at) VALUES (?, ?)",
                (write_id, self._now_text()),
            )
            keys = [
                k
                for (k,) in conn.execute(
                    "SELECT key FROM write_keys WHERE write_id = ? ORDER BY key", (write_id,)
                )
            ]
        return {"writeId": write_id, "landed": bool(keys), "keys": keys}

    def _run_operations(
        self, conn: sqlite3.Connection, operations: list[dict[str, Any]], actor: str
    ) -> list[dict[str, Any]]:
        results = []
        for index, op in enumerate(operations):
            kind, name = op["kind"], op["name"]
            try:
                if op["op"] == "put":
                    item, _ = self._put(conn, kind, name, op["spec"], actor, op.get("ifMatch"))
                    results.append(item)
                else:
                    self._delete(conn, kind, name, actor, op.get("ifMatch"))
                    results.append({"kind": kind, "name": name, "deleted": True})
            except SandboxError as err:
                err.message = f"operations[{index}] ({op['op']} {kind}/{name}): {err.message}"
                err.args = (err.message,)
                err.details = {"index": index, "kind": kind, "name": name, **err.details}
                raise
        return results

    def _put(
        self,
        conn: sqlite3.Connection,
        kind: str,
        name: str,
        spec: Any,
        actor: str,
        if_match: int | None,
    ) -> tuple[dict[str, Any], bool]:
        _require_kind(kind)
        row = conn.execute(f"{_SELECT_ITEM} WHERE kind = ? AND name = ?", (kind, name)).fetchone()
        _check_if_match(kind, name, if_match, row[3] if row else None)
        _check_schema(kind, name, spec)
        # Through JSON: canonical() may share nested values with the caller's spec, and
        # what the store keeps must not change when the caller reuses its dicts.
        text = json.dumps(HANDLERS[kind].canonical(spec, name), separators=(",", ":"))
        canonical = json.loads(text)
        if row is not None and json.loads(row[2]) == canonical:
            return _item(row), False  # nothing changes: no new version, nothing to audit
        live = self._live_for(conn)
        conflict = rules.name_conflict(live, kind, name)
        if conflict:
            raise conflict
        new = Resource(kind, name, canonical)
        old = live.get(kind, name)
        if old is not None:
            obj, _, field = name.partition(".")
            refused = rules.type_change_refused(
                old, new, lambda: self.has_records(conn, obj, field or None)
            ) or convert_field_values(conn, old, new)  # stored values follow the new type
            if refused:
                raise refused
        self._local.config_changed = True
        live.put(new)
        problem = rules.reference_errors(live, new) or (
            rules.breaks_dependents(live, new) if old is not None else None
        )
        if problem:
            raise problem
        now = self._now_text()
        version = row[3] + 1 if row else 1
        conn.execute(
            "INSERT INTO config (kind, name, spec, version, updated_at, updated_by)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (kind, name) DO UPDATE SET"
            " spec = excluded.spec, version = excluded.version,"
            " updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            (kind, name, text, version, now, actor),
        )
        self._audit(conn, now, actor, "update" if row else "create", kind, name, row, text)
        return _item((kind, name, text, version, now, actor)), row is None

    def _delete(
        self, conn: sqlite3.Connection, kind: str, name: str, actor: str, if_match: int | None
    ) -> None:
        _require_kind(kind)
        row = conn.execute(f"{_SELECT_ITEM} WHERE kind = ? AND name = ?", (kind, name)).fetchone()
        if row is None:
            raise SandboxError(
                f"{address_of(kind, name)} does not exist",
                status=404,
                code="NOT_FOUND",
                details={"kind": kind, "name": name},
            )
        _check_if_match(kind, name, if_match, row[3])
        live = self._live_for(conn)
        refused = rules.delete_refused(live, kind, name)
        if refused:
            raise refused
        self._local.config_changed = True
        live.remove(kind, name)
        conn.execute("DELETE FROM config WHERE kind = ? AND name = ?", (kind, name))
        self._audit(conn, self._now_text(), actor, "delete", kind, name, row, None)

    @staticmethod
    def _audit(
        conn: sqlite3.Connection,
        at: str,
        actor: str,
        action: str,
        kind: str,
        name: str,
        before_row: tuple | None,
        after: str | None,
    ) -> None:
        conn.execute(
            "INSERT INTO audit (at, actor, action, kind, name, before, after)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (at, actor, action, kind, name, before_row[2] if before_row else None, after),
        )

    # The audit trail.

    def audit(self, since: str | int | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """Configuration changes in order: after sequence number `since`, or from ISO time `since`."""
        _check_limit(limit, MAX_AUDIT_PAGE)
        query = "SELECT seq, at, actor, action, kind, name, before, after FROM audit"
        args: list[Any] = []
        if since is not None and str(since).strip():
            text = str(since).strip()
            if text.isascii() and text.isdigit():
                if len(text) > 18:  # beyond SQLite's integers
                    raise SandboxError(
                        f"since must be a sequence number below 10^18 (got {text[:24]}…)",
                        status=400,
                        code="BAD_REQUEST",
                    )
                query += " WHERE seq > ?"
                args.append(int(text))
            else:
                query += " WHERE at >= ?"
                args.append(_normalise_time(text))
        query += " ORDER BY seq LIMIT ?"
        args.append(limit)
        with self._pool.connection() as conn:
            rows = conn.execute(query, args).fetchall()
        return [
            {
                "seq": seq,
                "at": at,
                "actor": actor,
                "action": action,
                "kind": kind,
                "name": name,
                "before": json.loads(before) if before else None,
                "after": json.loads(after) if after else None,
            }
            for seq, at, actor, action, kind, name, before, after in rows
        ]


def _normalise_time(text: str) -> str:
    try:
        moment = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError as exc:
        raise SandboxError(
            f"since must be a sequence number or an ISO-8601 time (got {text!r})",
            status=400,
            code="BAD_REQUEST",
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # the sandbox lives in UTC
    try:
        return iso_time(moment)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC, and so on
        return "" if moment.year == 1 else "~"  # before every entry's time / after every one


def _is_version(value: Any) -> bool:
    """A whole number >= 0; JSON's 3.0 counts (JSON Schema's integers include it)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return value.is_integer() and value >= 0
    return isinstance(value, int) and value >= 0


#: Idempotency keys: `<write id>:<n>`, the write id up to 100 safe characters.
_KEY = re.compile(r"^([A-Za-z0-9._-]{1,100}):([0-9]{1,6})$")


def _check_key(key: str) -> str:
    """The write id of a well-formed idempotency key; 400 otherwise."""
    found = _KEY.match(key)
    if found is None:
        raise SandboxError(
            "Idempotency-Key must look like <write id>:<n> (write id: up to 100 letters, digits, "
            "'.', '_' or '-'; n: a number)",
            code="BAD_REQUEST",
        )
    return found.group(1)


def _check_operation(index: int, op: Any) -> None:
    """Batch operations are checked for shape before anything is written."""
    problem = None
    if not isinstance(op, dict):
        problem = "must be an object"
    elif op.get("op") not in ("put", "delete"):
        problem = "op must be 'put' or 'delete'"
    elif not isinstance(op.get("kind"), str) or not isinstance(op.get("name"), str):
        problem = "kind and name must be strings"
    elif not op["name"]:
        problem = "name must not be empty"
    elif op["op"] == "put" and "spec" not in op:
        problem = "a put needs a spec"
    elif "ifMatch" in op and not _is_version(op["ifMatch"]):
        problem = "ifMatch must be a version number"
    elif "ifMatch" in op:
        op["ifMatch"] = int(op["ifMatch"])  # JSON's 3.0 is the integer 3
    if problem:
        details: dict[str, Any] = {"index": index}
        if isinstance(op, dict):
            details.update(kind=op.get("kind"), name=op.get("name"))
        raise SandboxError(
            f"operations[{index}]: {problem}", status=400, code="BAD_REQUEST", details=details
        )
