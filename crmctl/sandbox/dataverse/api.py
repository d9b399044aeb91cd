"""The Web API's front door: bearer tokens, faults, the call context, dispatch and answers.

Every request under `/api/data/v9.2/` reaches `answer()`: the token must be
live, issued for this environment URL (its audience) and belong to an enabled
application user, else 401 with an empty body and `WWW-Authenticate`, as
Dataverse answers. The request then runs in one store transaction (a `$batch`
change set in a savepoint of it) through `dispatch()`, which `$batch` calls
again for each part.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from crmctl.sandbox.dataverse import state
from crmctl.sandbox.dataverse.identity import base_url
from crmctl.sandbox.dataverse.odata import (
    INVALID,
    QUERY,
    RATE_LIMIT,
    DataverseFault,
    Segment,
    bad,
    parse_path,
)
from crmctl.sandbox.faults import FaultDecision
from crmctl.sandbox.server import Request, Route
from crmctl.sandbox.store import SandboxStore

__all__ = ["Context", "answer", "dispatch", "routes", "PREFIX", "fault_answer", "Response"]

Response = tuple[int, Any, dict[str, str]]
PREFIX = "/api/data/v9.2"
NS = "Microsoft.Dynamics.CRM."

_ODATA_HEADERS = {"OData-Version": "4.0"}


@dataclass
class Context:
    """One call: the transaction, who calls, the environment URL, the request's headers."""

    conn: sqlite3.Connection
    store: SandboxStore
    env_url: str
    user_id: str
    headers: Message | dict[str, str]
    query: dict[str, str] = field(default_factory=dict)
    content_ids: dict[str, str] = field(default_factory=dict)  # $batch: $1 → URL

    @property
    def api(self) -> str:
        return f"{self.env_url}{PREFIX}"

    @property
    def now(self) -> datetime:
        return self.store.now()

    def header(self, name: str) -> str | None:
        value = self.headers.get(name)
        return None if value is None else str(value)

    @property
    def solution(self) -> str | None:
        return self.header("MSCRM.SolutionUniqueName") or None

    @property
    def merge_labels(self) -> bool:
        return (self.header("MSCRM.MergeLabels") or "").strip().lower() == "true"

    def max_page_size(self) -> int | None:
        for part in (self.header("Prefer") or "").split(","):
            name, _, value = part.strip().partition("=")
            if name.strip().lower() == "odata.maxpagesize":
                if not value.strip().isdigit() or int(value) < 1:
                    raise bad(f"Invalid odata.maxpagesize '{value}'.", QUERY)
                return min(int(value), 5000)
        return None

    def aliases(self) -> dict[str, str]:
        return {k: v for k, v in self.query.items() if k.startswith("@")}


Handler = Callable[[Context, str, list[Segment], Any], Response]

#: First path segment → handler; filled by the modules (metadata, security, records …).
RESOURCES: dict[str, Handler] = {}
#: Unbound actions (POST) and functions (GET) by name.
OPERATIONS: dict[str, Handler] = {}
#: Entity-set fallback (records): set by crmctl.sandbox.dataverse.records.
FALLBACK: list[Handler] = []


def dispatch(ctx: Context, method: str, path: str, body: Any) -> Response:
    """Answer one Web API request (path relative to /api/data/v9.2/)."""
    segments = parse_path(path)
    if "$skip" in ctx.query:
        raise bad("The query parameter $skip is not supported", QUERY)
    if not segments:
        sets = [{"name": e.entity_set, "kind": "EntitySet", "url": e.entity_set}
                for e in state.all_entities(ctx.conn)]  # fmt: skip
        return 200, {"@odata.context": f"{ctx.api}/$metadata", "value": sets}, {}
    head = segments[0].name
    handler = RESOURCES.get(head)
    if handler is None:
        name = head.removeprefix(NS)
        handler = OPERATIONS.get(name)
    if handler is None:
        if not FALLBACK:
            raise bad(f"Resource not found for the segment '{head}'.", QUERY, 404)
        handler = FALLBACK[0]
    return handler(ctx, method, segments, body)


def fault_answer(decision: FaultDecision) -> Response:
    """An injected fault as Dataverse answers it: 429 is the service-protection limit."""
    headers: dict[str, str] = dict(_ODATA_HEADERS)
    if decision.retry_after is not None:
        headers["Retry-After"] = str(decision.retry_after)
    if decision.status == 429:
        message = "Number of requests exceeded the limit of 6000 over time window of 300 seconds."
        return 429, DataverseFault(429, RATE_LIMIT, message).body(), headers
    status = decision.status or 500
    body = DataverseFault(status, "0x80040216", f"{decision.message}").body()
    return status, body, headers


def _unauthorised(request: Request, env_url: str) -> Response:
    challenge = (
        f"Bearer authorization_uri={env_url}/common/oauth2/authorize, resource_id={env_url}/"
    )
    return 401, None, {"WWW-Authenticate": challenge, **_ODATA_HEADERS}


def _caller(request: Request, conn: sqlite3.Connection, env_url: str) -> str | None:
    """The systemuserid behind the bearer token, or None."""
    scheme, _, token = (request.headers.get("Authorization") or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    found = state.token_owner(conn, token.strip(), request.store.now())
    if found is None:
        return None
    app, audience = found
    if audience.rstrip("/") != env_url.lower():
        return None
    user = state.get_row(conn, "systemuser", app.user_id)
    if user is None or user.get("isdisabled"):
        return None
    return app.user_id


def _before_body(request: Request) -> Response | None:
    env_url = base_url(request)
    with request.store.transaction() as conn:
        state.ensure(conn)
        if _caller(request, conn, env_url) is None:
            return _unauthorised(request, env_url)
    return None


def parse_body(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise bad(f"Error identified in Payload provided by the user for Entity: {exc}") from None


def answer(request: Request) -> Response:
    """The HTTP entry point of every /api/data/v9.2 route."""
    from crmctl.sandbox.dataverse import seed

    env_url = base_url(request)
    path = unquote(request.path)[len(PREFIX) :]
    store = request.store
    try:
        with store.transaction() as conn:
            state.ensure(conn)
            seed.ensure_org(conn, store.now())
            user_id = _caller(request, conn, env_url)
            if user_id is None:
                return _unauthorised(request, env_url)
            ctx = Context(conn, store, env_url, user_id, request.headers, dict(request.query))
            if path.strip("/") == "$batch":
                from crmctl.sandbox.dataverse import batch

                status, body, headers = batch.run(ctx, request)
            else:
                status, body, headers = dispatch(ctx, request.method, path, parse_body(request.raw))
    except DataverseFault as fault:
        return fault.status, fault.body(), {**_ODATA_HEADERS, **fault.headers}
    return status, body, {**_ODATA_HEADERS, **headers}


def relative(ctx: Context, url: str) -> str:
    """A URL of this API (absolute, `/api/data/v9.2/…`, or relative) → the path below it."""
    parts = urlsplit(url)
    path = parts.path
    if path.startswith(PREFIX):
        path = path[len(PREFIX) :]
    if parts.query:
        ctx.query.update(dict(parse_qsl(parts.query, keep_blank_values=True)))
    return path


def check_keys(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad(f"The request body of {what} must be a JSON object.", INVALID)
    return body


def routes() -> list[Route]:
    """One route per method for everything below /api/data/v9.2/ ($batch included)."""
    table = []
    for method in ("GET", "POST", "PATCH", "PUT", "DELETE"):
        route = Route(
            method,
            PREFIX + "/{rest}",
            answer,
            auth=False,
            json_body=False,
            pre_body=_before_body,
            fault_answer=fault_answer,
        )
        route.regex = re.compile("^" + re.escape(PREFIX) + r"(?P<rest>/.*|)$")
        table.append(route)
    return table
