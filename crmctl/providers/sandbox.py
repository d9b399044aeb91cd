"""The sandbox provider: crmctl's embedded CRM, in-process (`path:`) or over HTTP (`url:`)."""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from crmctl.errors import AuthError, CrmctlError, ProviderError
from crmctl.kinds import KINDS
from crmctl.model import Resource
from crmctl.plan.action import Action
from crmctl.plan.model import Change
from crmctl.providers.base import ApplyResult, ChangeFailure, ChangeLogEntry
from crmctl.providers.http import HttpClient

__all__ = ["SandboxProvider", "batch_operations", "actor_name"]

#: Operations per batch request: large enough to be fast, small enough to report failures precisely.
BATCH_SIZE = 500
_PAGE = 2000
_AUDIT_PAGE = 10_000
_RELATIONSHIP = ("Lookup", "MasterDetail")


def actor_name() -> str:
    """Who is making changes: $CRMCTL_ACTOR, else the OS user."""
    return os.environ.get("CRMCTL_ACTOR") or getpass.getuser()


def batch_operations(change: Change) -> list[dict[str, Any]]:
    """The sandbox batch operations that carry out one change."""
    put = {"op": "put", "kind": change.kind, "name": change.name, "spec": change.after}
    delete = {"op": "delete", "kind": change.kind, "name": change.name}
    if change.action is Action.DELETE:
        return [delete]
    if change.action is Action.REPLACE:
        return [delete, put]
    return [put]


def _live(item: dict[str, Any]) -> Resource:
    meta: dict[str, Any] = {k: item[k] for k in ("version", "updatedAt", "updatedBy") if k in item}
    return Resource(item["kind"], item["name"], item["spec"], meta)


_BATCH_PREFIX = re.compile(r"^operations\[\d+\] \([^)]*\): ")


class _Failed(Exception):
    def __init__(self, index: int | None, message: str) -> None:
        message = _BATCH_PREFIX.sub(
            "", message
        )  # which operation failed is reported per change already
        super().__init__(message)
        self.index, self.message = index, message


class SandboxProvider:
    """Talks to the sandbox store directly or to a sandbox server over HTTP."""

    type = "sandbox"

    def __init__(
        self, *, store: Any = None, client: HttpClient | None = None, where: str = ""
    ) -> None:
        if (store is None) == (client is None):
            raise ValueError("give a store or an HTTP client")
        self.store, self.client, self.where = store, client, where
        self.actor = actor_name()

    @classmethod
    def from_config(cls, config: dict[str, Any], project_dir: Path) -> SandboxProvider:
        """Build from an environment's `provider:` block."""
        if "path" in config:
            from crmctl.sandbox.store import SandboxStore

            path = project_dir / config["path"]
            path.parent.mkdir(parents=True, exist_ok=True)
            fresh = not path.exists()
            try:
                store = SandboxStore.open(path)
                if fresh:
                    store.initialise()
            except CrmctlError:
                raise
            except Exception as exc:  # sqlite errors: a corrupt or unreadable file
                raise ProviderError(f"cannot open the sandbox database {path}: {exc}") from None
            return cls(store=store, where=f"sandbox {config['path']} (in-process)")
        variable = config["tokenEnv"]
        token = os.environ.get(variable)
        if not token:
            raise AuthError(
                f"environment variable {variable} is not set",
                hint=f"export {variable}=<token> (crmctl sandbox init prints one)",
            )
        client = HttpClient(
            config["url"], token=token, timeout=(5.0, float(config.get("timeout", 30)))
        )
        return cls(client=client, where=f"sandbox {config['url']}")

    def describe(self) -> str:
        return self.where

    def supported_kinds(self) -> tuple[str, ...]:
        return KINDS

    def read(self, kinds: Iterable[str]) -> list[Resource]:
        kinds = list(kinds)
        if self.store is not None:
            return [_live(item) for item in self.store.list_all_config(kinds)]
        with ThreadPoolExecutor(max_workers=min(8, len(kinds) or 1)) as pool:
            pages = list(pool.map(self._read_kind, kinds))
        return [_live(item) for page in pages for item in page]

    def _read_kind(self, kind: str) -> list[dict[str, Any]]:
        assert self.client is not None
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            params = {"limit": _PAGE, **({"cursor": cursor} if cursor else {})}
            body = self.client.json("GET", f"/api/v1/config/{kind}", params=params)
            items.extend(body["items"])
            cursor = body.get("nextCursor")
            if not cursor:
                return items

    def requires_replace(
        self, kind: str, before: dict[str, Any], after: dict[str, Any]
    ) -> str | None:
        if kind != "CustomField":
            return None
        old, new = before.get("type"), after.get("type")
        if old != new:
            from crmctl.sandbox.rules import conversion_allowed

            if not conversion_allowed(str(old), str(new), True):
                return f"the CRM cannot convert a {old} field to {new} in place; it is deleted and re-created (its data is lost)"
        if old in _RELATIONSHIP and before.get("referenceTo") != after.get("referenceTo"):
            return (
                "a relationship field cannot point at another object; it is deleted and re-created"
            )
        return None

    def apply(self, changes: list[Change]) -> ApplyResult:
        return self.apply_write(changes, None)

    def apply_write(
        self,
        changes: list[Change],
        write_id: str | None,
        note_ref: Callable[[str], None] | None = None,
    ) -> ApplyResult:
        """Apply in all-or-nothing batches; with a write id, each batch carries an idempotency key."""
        keys = (f"{write_id}:{n}" for n in range(1_000_000)) if write_id else None
        result = ApplyResult()
        for start in range(0, len(changes), BATCH_SIZE):
            chunk = changes[start : start + BATCH_SIZE]
            ops, owner = [], []
            for i, change in enumerate(chunk):
                for op in batch_operations(change):
                    ops.append(op)
                    owner.append(i)
            try:
                self._batch(ops, next(keys) if keys else None)
            except _Failed as failure:
                bad = (
                    owner[failure.index]
                    if failure.index is not None and failure.index < len(owner)
                    else 0
                )
                # The batch was all-or-nothing: apply what came before the failing change again.
                if bad:
                    self._batch(
                        [op for op, i in zip(ops, owner, strict=True) if i < bad],
                        next(keys) if keys else None,
                    )
                    result.applied.extend(c.address for c in chunk[:bad])
                result.failed.append(ChangeFailure(chunk[bad].address, failure.message))
                return result
            result.applied.extend(c.address for c in chunk)
        return result

    def resolve_write(self, write_id: str, refs: Sequence[str] = ()) -> bool:
        """Whether write `write_id` landed; the sandbox fences it so nothing of it lands later."""
        if self.store is not None:
            return bool(self.store.resolve_write(write_id)["landed"])
        assert self.client is not None
        answer = self.client.json("POST", f"/api/v1/writes/{write_id}/resolve", idempotent=True)
        return bool(answer["landed"])

    def _batch(self, ops: list[dict[str, Any]], key: str | None = None) -> None:
        if self.store is not None:
            from crmctl.sandbox.store import SandboxError

            try:
                self.store.batch(ops, self.actor, key)
            except SandboxError as exc:
                raise _Failed((exc.details or {}).get("index"), exc.message) from None
            return
        assert self.client is not None
        response = self.client.request(
            "POST",
            "/api/v1/config/batch",
            json={"operations": ops},
            headers={"Idempotency-Key": key} if key else None,
            idempotent=key is not None,  # the sandbox answers a repeated key with the first outcome
            accept=(400, 404, 409, 412, 422),
        )
        if response.status_code < 400:
            return
        error = response.json().get("error", {})
        raise _Failed(
            (error.get("details") or {}).get("index"),
            error.get("message", f"HTTP {response.status_code}"),
        )

    def read_records(self, obj: str, fields: list[str], limit: int) -> list[dict[str, Any]]:
        """At most `limit` records of `obj`, oldest first, read-only (for `plan --impact-from-live`)."""
        if self.store is not None:
            import json
            import sqlite3

            conn = sqlite3.connect(f"{Path(self.store.path).resolve().as_uri()}?mode=ro", uri=True)
            try:
                rows = conn.execute(
                    "SELECT fields FROM records WHERE object = ? ORDER BY seq LIMIT ?",
                    (obj.lower(), limit),
                ).fetchall()
            finally:
                conn.close()
            return [json.loads(row[0]) for row in rows]
        assert self.client is not None
        records: list[dict[str, Any]] = []
        cursor = None
        while len(records) < limit:
            params: dict[str, Any] = {"limit": min(_PAGE, limit - len(records))}
            if cursor:
                params["cursor"] = cursor
            body = self.client.json("GET", f"/api/v1/records/{obj}", params=params)
            records.extend(r.get("fields", r) for r in body["records"])
            cursor = body.get("nextCursor")
            if not cursor:
                break
        return records[:limit]

    def change_log(self, since: str | None = None) -> list[ChangeLogEntry]:
        """The sandbox's audit trail of configuration changes, from ISO time `since`."""
        entries: list[dict[str, Any]] = []
        cursor: str | None = since
        while True:
            if self.store is not None:
                page = self.store.audit(cursor, _AUDIT_PAGE)
            else:
                assert self.client is not None
                params = {"limit": _AUDIT_PAGE, **({"since": cursor} if cursor else {})}
                page = self.client.json("GET", "/api/v1/audit", params=params)["items"]
            entries.extend(page)
            if len(page) < _AUDIT_PAGE:
                break
            cursor = str(page[-1]["seq"])  # the next page starts after the last sequence number
        return [
            ChangeLogEntry(f"{e['kind']}/{e['name']}", e["action"], e["actor"], e["at"], e["seq"])
            for e in entries
        ]

    def change_log_actor(self) -> str | None:
        """Whom the sandbox records crmctl's own changes under: the token's user, or the actor."""
        if self.store is not None:
            return self.actor
        assert self.client is not None
        return self.client.json("GET", "/api/v1/whoami").get("username")

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.store is not None:
            self.store.close()
