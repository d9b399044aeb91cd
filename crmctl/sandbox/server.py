"""The sandbox CRM over HTTP: a thin JSON layer over `SandboxStore` under `/api/v1`.

Routing is a table, made explicitly for each server: every module named in
`API_MODULES` has a `routes()` function listing its endpoints, and a caller
may pass its own list instead::

    from crmctl.sandbox.server import Request, Route, default_routes, start_server

    def get_note(request: Request) -> tuple[int, object, dict[str, str]]:
        with request.store.transaction() as conn:      # BEGIN IMMEDIATE … COMMIT
            ...
        return 200, {"id": request.params["id"]}, {}

    server = start_server(store, routes=[*default_routes(),
                                         Route("GET", "/api/v1/notes/{id}", get_note)])

A handler receives a `Request` (principal, path params, query params, parsed
JSON body, the store) and returns `(status, body, headers)`; a body of None
sends no body, anything else is sent as JSON. Raise `SandboxError` to answer
an error; any other exception is logged and answered 500 INTERNAL without
details. Options: `auth=False` for public endpoints, `admin=True` for admin
only, `view_setup=True` for reads of the configuration, users and audit trail
(admins and holders of the ViewSetup system permission, see
`auth.VIEW_SETUP_PERMISSIONS`), `faults=False` for endpoints that fault
injection must never touch, `json_body=False` for bodies that are not JSON
(the handler reads `Request.raw`; a body of bytes is sent as it is).

Requests are checked in this order, and the body is read only after the
first three pass, so a caller without a token cannot make the server hold a
large body: route (404, 405), token (401, 403), body size (413, at most
`max_body` bytes, `DEFAULT_MAX_BODY_BYTES` unless the server is given another;
public routes take at most `PUBLIC_MAX_BODY_BYTES` unless they set
`public_body`), then the JSON body (400 on malformed JSON or a duplicate key).
Public routes that authenticate themselves (the Salesforce-compatible REST
API) pass a `pre_body` check that answers before the body is read.

Every error answer of the sandbox's own API (`/api/v1`) is
`{"error": {"code", "message", "details"}}`. The Salesforce-compatible API
under `/services` (crmctl.sandbox.salesforce) answers in Salesforce's shapes.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import re
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

from crmctl.sandbox import auth
from crmctl.sandbox.auth import Principal
from crmctl.sandbox.db import SandboxError
from crmctl.sandbox.faults import FaultDecision, FaultInjector
from crmctl.sandbox.jsonbody import parse_json_body
from crmctl.sandbox.store import SandboxStore

__all__ = [
    "Request",
    "Route",
    "RouteTable",
    "API_MODULES",
    "default_routes",
    "routes",
    "RunningServer",
    "start_server",
    "serve_forever",
    "make_server",
    "DEFAULT_MAX_BODY_BYTES",
    "PUBLIC_MAX_BODY_BYTES",
]

logger = logging.getLogger("crmctl.sandbox")

Response = tuple[int, Any, dict[str, str]]
Handler = Callable[["Request"], Response]

#: Request bodies larger than this are refused (413) without being read.
#: `crmctl sandbox serve --max-body-mb N` changes it for one server.
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
#: Routes without a token (health, the OAuth token endpoint …) take at most this much.
PUBLIC_MAX_BODY_BYTES = 64 * 1024
#: An unread body up to this size is read and dropped, so the connection stays usable;
#: a larger one closes the connection after the answer.
_DISCARD_BYTES = 64 * 1024
#: How long an answered connection keeps draining an unread body before it closes.
_LINGER_SECONDS = 2.0


@dataclass
class Request:
    """What a route handler gets: who is asking, for what, with which body."""

    method: str
    path: str
    params: dict[str, str]  # from the path pattern, URL-decoded
    query: dict[str, str]  # the last value of each query parameter
    headers: Message
    body: Any  # parsed JSON, or None when the request had no body
    principal: Principal | None  # None only on routes with auth=False
    store: SandboxStore
    faults: FaultInjector
    # Every value of each query parameter, for repeatable ones (?where=…&where=…).
    query_lists: dict[str, list[str]] = field(default_factory=dict)
    # The body as sent, for routes that read something other than JSON (json_body=False).
    raw: bytes = b""
    secure: bool = False  # it came over TLS (the server was started with a certificate)

    @property
    def actor(self) -> str:
        """The username recorded in the audit trail."""
        return self.principal.username if self.principal else "anonymous"

    def json_object(self) -> dict[str, Any]:
        """The body, which must be a JSON object (400 BAD_REQUEST otherwise)."""
        if not isinstance(self.body, dict):
            raise SandboxError("the request body must be a JSON object", code="BAD_REQUEST")
        return self.body

    def query_int(self, name: str, default: int) -> int:
        """An integer query parameter (400 BAD_REQUEST when it is not one)."""
        text = self.query.get(name)
        if text is None or text == "":
            return default
        try:
            return int(text)
        except ValueError:
            raise SandboxError(
                f"query parameter {name} must be a whole number (got {text!r})",
                code="BAD_REQUEST",
                details={"parameter": name},
            ) from None

    def if_match(self) -> int | None:
        """The version in an `If-Match: "3"` header, or None when there is none."""
        text = self.headers.get("If-Match")
        if text is None:
            return None
        value = text.strip().removeprefix("W/").strip('"')
        if not value.isdigit():
            raise SandboxError(
                f'If-Match must be a version in quotes, like "3" (got {text!r})',
                code="BAD_REQUEST",
            )
        return int(value)


@dataclass
class Route:
    """One endpoint: method, path pattern (`{name}` segments) and handler."""

    method: str
    pattern: str
    handler: Handler
    auth: bool = True
    admin: bool = False
    faults: bool = True
    json_body: bool = True  # False: the body is not JSON; the handler reads `Request.raw`
    view_setup: bool = False  # reads of configuration, users, audit: admin or ViewSetup
    # auth=False routes that authenticate themselves: a check of the headers before the
    # body is read (gets a Request without a body); a response it returns is the answer.
    pre_body: Callable[[Request], Response | None] | None = None
    public_body: bool = False  # auth=False, yet takes bodies up to the server's limit
    # An injected fault answered in the route's own API's shape (default: the sandbox's).
    fault_answer: Callable[[FaultDecision], Response] | None = None
    regex: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        source = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.pattern)
        self.regex = re.compile(f"^{source}$")


#: Salesforce's answer to a path it does not serve.
_SF_NOT_FOUND = "The requested resource does not exist"


#: The modules whose `routes()` make up the sandbox's API, in this order: its own
#: configuration API, records and retention, and the Salesforce-compatible API.
#: A table of names, resolved when a server is made: this module never imports the
#: API modules (they import it), so the packages form no import cycle.
API_MODULES: tuple[str, ...] = (
    "crmctl.sandbox.server",
    "crmctl.sandbox.records_api",
    "crmctl.sandbox.salesforce",
    "crmctl.sandbox.dataverse",
)


def default_routes() -> list[Route]:
    """Every endpoint of the modules in `API_MODULES`."""
    table: list[Route] = []
    for name in API_MODULES:
        table.extend(importlib.import_module(name).routes())
    return table


class RouteTable:
    """The endpoints one server answers.

    Made explicitly from a list of routes (`default_routes()` unless a caller
    passes its own); `add` and the `route` decorator extend one server's table,
    never a global one.
    """

    def __init__(self, routes: Iterable[Route]) -> None:
        self._routes = list(routes)

    def __iter__(self) -> Iterator[Route]:
        return iter(list(self._routes))

    def add(self, *routes: Route) -> None:
        self._routes.extend(routes)

    def route(
        self,
        method: str,
        pattern: str,
        *,
        auth: bool = True,
        admin: bool = False,
        faults: bool = True,
        view_setup: bool = False,
    ) -> Callable[[Handler], Handler]:
        """Decorator form of `add`."""

        def add(handler: Handler) -> Handler:
            self.add(
                Route(method.upper(), pattern, handler, auth, admin, faults, view_setup=view_setup)
            )
            return handler

        return add

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], list[str]]:
        """(route, path params, allowed methods of the path) for a request.

        A path that some route names literally (/api/v1/config/batch) is that route's only,
        not also a value of another route's parameter (/api/v1/config/{kind}).
        """
        matching = [(r, m) for r in self._routes if (m := r.regex.match(path))]
        if any("{" not in r.pattern for r, _ in matching):
            matching = [(r, m) for r, m in matching if "{" not in r.pattern]
        for candidate, found in matching:
            if candidate.method == method:
                return candidate, {k: unquote(v) for k, v in found.groupdict().items()}, []
        return None, {}, sorted({r.method for r, _ in matching})


def _error(status: int, code: str, message: str, details: dict | None = None) -> Response:
    return status, {"error": {"code": code, "message": message, "details": details or {}}}, {}


def _fault_answer(found: Route | None, decision: FaultDecision) -> Response:
    if found is not None and found.fault_answer is not None:
        return found.fault_answer(decision)
    status, body, headers = _error(decision.status or 500, decision.code, decision.message)
    if decision.retry_after is not None:
        headers["Retry-After"] = str(decision.retry_after)
    return status, body, headers


#: Error codes of what http.server refuses before routing (see `_Handler.send_error`).
_EARLY_REFUSALS = {400: "BAD_REQUEST", 414: "URI_TOO_LONG", 431: "HEADERS_TOO_LARGE"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a client session reuses its connection
    disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart
    timeout = 120  # seconds a kept-alive connection may sit idle before its thread lets go
    server: SandboxHTTPServer

    def do_GET(self) -> None:
        self._handle()

    do_PUT = do_POST = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = do_GET

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, CONNECT, QUERY …) reaches the route table too: 405 with
        # Allow on a known path, 404 elsewhere, never http.server's 501 HTML page.
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    _expect_continue = False  # the client sent Expect: 100-continue and waits for it

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals, before a request reaches the routes (a request line
        over 64 KiB, too many or too long headers, bad syntax): the API's JSON error, not
        http.server's HTML page; the connection is closed, as its state is unknown."""
        self.close_connection = True
        name = _EARLY_REFUSALS.get(code, "BAD_REQUEST")
        status, body, headers = _error(code, name, message or HTTPStatus(code).phrase)
        self._send(status, body, headers, drop=False)

    def log_message(self, format: str, *args: Any) -> None:
        logger.info("%s %s", self.address_string(), format % args)

    def handle_expect_100(self) -> bool:
        # http.server would say 100 Continue at once, inviting the body before the token
        # is checked; it is said in _read_body instead, once the body is wanted.
        self._expect_continue = True
        return True

    def _handle(self) -> None:
        decision = FaultDecision()
        self._unread = 0  # body bytes declared and not read yet
        try:
            self._unread = self._content_length()
            path, _, query_text = self.path.partition("?")
            found, params, allowed = self.server.routes.match(self.command, path)
            principal, early = None, None
            if found is not None:
                # Who is asking, and how much they may send, before a byte of the body is read.
                principal, early = self._authenticate(found, path, params, query_text)
                if early is None:
                    self._check_size(found)
            if early is not None:
                status, body, headers = early
            else:
                raw = self._read_body() if found is not None else b""
                if found is None or found.faults:
                    decision = self.server.faults.decide(self.command)
                if decision.latency_ms:
                    time.sleep(decision.latency_ms / 1000)
                if decision.status is not None and not decision.fail_after:
                    status, body, headers = _fault_answer(found, decision)
                elif found is None:
                    status, body, headers = self._no_route(path, allowed)
                else:
                    request = self._request(found, path, params, query_text, raw, principal)
                    status, body, headers = found.handler(request)
                    if decision.fail_after and decision.status is not None:
                        status, body, headers = _fault_answer(found, decision)
        except SandboxError as err:
            status, body, headers = err.status, err.to_body(), {}
        except Exception:
            logger.exception("internal error answering %s %s", self.command, self.path)
            status, body, headers = _error(500, "INTERNAL", "internal error; see the server log")
        self._settle_unread()
        self._expect_continue = False
        self._send(status, body, headers, drop=decision.drop)
        self._linger()

    def _content_length(self) -> int:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            raise SandboxError(
                "chunked request bodies are not supported", status=411, code="LENGTH_REQUIRED"
            )
        text = (self.headers.get("Content-Length") or "0").strip()
        if not text.isascii() or not text.isdigit() or len(text) > 18:
            self.close_connection = True
            raise SandboxError("invalid Content-Length", code="BAD_REQUEST")
        return int(text)

    def _authenticate(
        self, found: Route, path: str, params: dict[str, str], query_text: str
    ) -> tuple[Principal | None, Response | None]:
        """The caller (auth routes), or the answer of a route's own pre-body check."""
        if found.auth:
            principal = self._principal()
            auth.require_active(principal)
            if found.admin:
                auth.require_admin(principal)
            if found.view_setup:
                auth.require_view_setup(principal)
            return principal, None
        if found.pre_body is not None and self._unread:
            return None, found.pre_body(self._request(found, path, params, query_text, b"", None))
        return None, None

    def _body_limit(self, found: Route) -> int:
        limit = self.server.max_body
        if not found.auth and found.pre_body is None and not found.public_body:
            limit = min(limit, PUBLIC_MAX_BODY_BYTES)
        return limit

    def _check_size(self, found: Route) -> None:
        limit = self._body_limit(found)
        if self._unread > limit:
            raise SandboxError(
                f"request body too large: {self._unread} bytes, at most {limit}",
                status=413,
                code="PAYLOAD_TOO_LARGE",
                details={"limit": limit, "length": self._unread},
            )

    def _read_body(self) -> bytes:
        length, self._unread = self._unread, 0
        if length and self._expect_continue:
            self.send_response_only(100)
            self.end_headers()
        self._expect_continue = False
        return self.rfile.read(length) if length else b""

    def _settle_unread(self) -> None:
        """An answer without reading the body: drop a small one, else close after answering.

        A client waiting for 100 Continue may never send its body: close, do not wait.
        """
        if 0 < self._unread <= _DISCARD_BYTES and not self._expect_continue:
            with contextlib.suppress(OSError):
                self.rfile.read(self._unread)
            self._unread = 0
        elif self._unread:
            self.close_connection = True  # the body stays unread, so the connection is unusable

    def _linger(self) -> None:
        """After answering early, read and drop what the client still sends, for a moment.

        Closing a socket with unread data resets the connection, and a client still
        sending its body would see the reset instead of the answer. Nothing is kept.
        """
        if not self._unread:
            return
        with contextlib.suppress(OSError):
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + _LINGER_SECONDS
            while self._unread > 0 and (left := deadline - time.monotonic()) > 0:
                self.connection.settimeout(left)
                chunk = self.connection.recv(min(self._unread, 65536))
                if not chunk:
                    break
                self._unread -= len(chunk)

    def _no_route(self, path: str, allowed: list[str]) -> Response:
        if allowed and path.startswith(("/services/", "/id/")):
            message = f"HTTP Method '{self.command}' not allowed. Allowed are {','.join(allowed)}"
            body = [{"errorCode": "METHOD_NOT_ALLOWED", "message": message}]
            return 405, body, {"Allow": ", ".join(allowed)}
        if allowed:
            status, body, headers = _error(
                405,
                "METHOD_NOT_ALLOWED",
                f"{self.command} is not allowed on {path}",
                {"allowed": allowed},
            )
            headers["Allow"] = ", ".join(allowed)
            return status, body, headers
        if path.startswith(("/services/", "/id/")):  # the Salesforce API's own shape
            return 404, [{"errorCode": "NOT_FOUND", "message": _SF_NOT_FOUND}], {}
        return _error(404, "NOT_FOUND", f"no such endpoint: {path}")

    def _request(
        self,
        found: Route,
        path: str,
        params: dict[str, str],
        query_text: str,
        raw: bytes,
        principal: Principal | None,
    ) -> Request:
        body = parse_json_body(raw) if raw and found.json_body else None
        pairs = parse_qsl(query_text, keep_blank_values=True)
        query_lists: dict[str, list[str]] = {}
        for name, value in pairs:
            query_lists.setdefault(name, []).append(value)
        return Request(
            method=self.command,
            path=path,
            params=params,
            query=dict(pairs),
            query_lists=query_lists,
            headers=self.headers,
            body=body,
            principal=principal,
            store=self.server.store,
            secure=self.server.tls is not None,
            faults=self.server.faults,
            raw=raw,
        )

    def _principal(self) -> Principal:
        scheme, _, token = (self.headers.get("Authorization") or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise SandboxError(
                "missing bearer token: send Authorization: Bearer <token>",
                hint="crmctl sandbox init prints an admin token",
                status=401,
                code="UNAUTHORIZED",
            )
        return self.server.store.authenticate(token.strip())

    def _send(self, status: int, body: Any, headers: dict[str, str], drop: bool) -> None:
        headers = dict(headers)  # a handler may return a dict it keeps
        data = b""
        if body is not None and status != 204:
            if isinstance(body, bytes):
                data = body
            else:
                data = _encode(body)
                headers.setdefault("Content-Type", "application/json; charset=utf-8")
        if drop and len(data) < 2:
            self._cut()  # nothing to cut in half: close before the status line
            return
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data[: len(data) // 2] if drop else data)
        except OSError:  # the client went away; nothing left to tell it
            self.close_connection = True
            return
        if drop:
            self._cut()

    def _cut(self) -> None:
        self.wfile.flush()
        self.close_connection = True
        with contextlib.suppress(OSError):  # the client may have gone first
            self.connection.shutdown(socket.SHUT_RDWR)


class SandboxHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that knows its store and fault injector (https with `tls`)."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        store: SandboxStore,
        faults: FaultInjector,
        max_body: int = DEFAULT_MAX_BODY_BYTES,
        routes: Iterable[Route] | None = None,
        tls: ssl.SSLContext | None = None,
    ):
        self.store = store
        self.faults = faults
        self.max_body = max_body
        self.routes = RouteTable(default_routes() if routes is None else routes)
        self.tls = tls
        super().__init__(address, _Handler)
        if tls is not None:
            # The handshake runs in the request's thread (on first read), so a client that
            # never completes one holds up only itself, not accept().
            self.socket = tls.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )

    @property
    def scheme(self) -> str:
        return "https" if self.tls is not None else "http"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that fails the TLS handshake (it does not trust the CA) is one log line."""
        error = sys.exc_info()[1]
        if self.tls is not None and isinstance(error, ssl.SSLError | ConnectionResetError):
            logger.info("%s: TLS handshake failed: %s", client_address[0], error)
            return
        super().handle_error(request, client_address)


@dataclass
class RunningServer:
    """A server answering in a background thread; `stop()` it when done."""

    url: str  # http://host:port (the API is under /api/v1)
    port: int
    store: SandboxStore
    faults: FaultInjector
    _server: SandboxHTTPServer
    _thread: threading.Thread
    _owns_store: bool

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v1"

    @property
    def routes(self) -> RouteTable:
        """This server's endpoints (`routes.route(...)` adds one while it runs)."""
        return self._server.routes

    def stop(self) -> None:
        """Stop answering, release the port, and close the store if the server opened it."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        if self._owns_store:
            self.store.close()


def _faults(faults: FaultInjector | dict[str, Any] | None) -> FaultInjector:
    return faults if isinstance(faults, FaultInjector) else FaultInjector(faults)


def make_server(
    store_or_path: SandboxStore | str | Path,
    host: str = "127.0.0.1",
    port: int = 0,
    faults: FaultInjector | dict[str, Any] | None = None,
    max_body: int = DEFAULT_MAX_BODY_BYTES,
    routes: Iterable[Route] | None = None,
    tls: ssl.SSLContext | None = None,
) -> tuple[SandboxHTTPServer, bool]:
    """A bound (not yet serving) server, and whether it opened its store itself.

    `max_body`: the largest request body in bytes (larger ones are answered 413 unread).
    `routes`: the endpoints it answers (default: `default_routes()`).
    """
    if max_body < 0:
        raise ValueError("max_body must not be negative")
    owns = not isinstance(store_or_path, SandboxStore)
    store = (
        store_or_path
        if isinstance(store_or_path, SandboxStore)
        else SandboxStore.open(store_or_path)
    )
    try:
        return SandboxHTTPServer((host, port), store, _faults(faults), max_body, routes, tls), owns
    except BaseException:
        if owns:
            store.close()
        raise


def start_server(
    store_or_path: SandboxStore | str | Path,
    host: str = "127.0.0.1",
    port: int = 0,
    faults: FaultInjector | dict[str, Any] | None = None,
    max_body: int = DEFAULT_MAX_BODY_BYTES,
    routes: Iterable[Route] | None = None,
    tls: ssl.SSLContext | None = None,
) -> RunningServer:
    """Serve in a background thread (port 0: a free port); for tests and embedding.

    `tls`: a server-side SSL context (crmctl.sandbox.tls): https instead of http."""
    server, owns = make_server(store_or_path, host, port, faults, max_body, routes, tls)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},  # stop() waits up to one interval
        name="crmctl-sandbox",
        daemon=True,
    )
    thread.start()
    bound_host, bound_port = server.server_address[:2]
    return RunningServer(
        url=f"{server.scheme}://{bound_host!s}:{bound_port}",
        port=bound_port,
        store=server.store,
        faults=server.faults,
        _server=server,
        _thread=thread,
        _owns_store=owns,
    )


def serve_forever(
    store_or_path: SandboxStore | str | Path,
    host: str = "127.0.0.1",
    port: int = 8765,
    faults: FaultInjector | dict[str, Any] | None = None,
    ready: Callable[[str], None] | None = None,
    max_body: int = DEFAULT_MAX_BODY_BYTES,
    routes: Iterable[Route] | None = None,
    tls: ssl.SSLContext | None = None,
) -> None:
    """Serve in this thread until interrupted (Ctrl-C); `ready(url)` once listening."""
    server, owns = make_server(store_or_path, host, port, faults, max_body, routes, tls)
    try:
        if ready is not None:
            bound_host, bound_port = server.server_address[:2]
            ready(f"{server.scheme}://{bound_host!s}:{bound_port}")
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if owns:
            server.store.close()


# The built-in endpoints.


def openapi_document() -> bytes:
    """The OpenAPI document as served (crmctl.sandbox.apidoc: openapi.json and the kinds)."""
    from crmctl.sandbox.apidoc import document_bytes

    return document_bytes()


def _health(request: Request) -> Response:
    return 200, {"status": "ok"}, {}


def _openapi(request: Request) -> Response:
    return 200, openapi_document(), {"Content-Type": "application/json"}


def _whoami(request: Request) -> Response:
    assert request.principal is not None
    return 200, request.principal.to_dict(), {}


def _etag(item: dict[str, Any]) -> dict[str, str]:
    return {"ETag": f'"{item["version"]}"'}


def _page(request: Request, kinds: list[str] | None) -> Response:
    limit = request.query_int("limit", 500)
    cursor = request.query.get("cursor") or None
    items, next_cursor = request.store.list_config_page(kinds, cursor, limit)
    return 200, {"items": items, "nextCursor": next_cursor}, {}


def _list_all(request: Request) -> Response:
    kinds = request.query.get("kinds")
    return _page(request, [k for k in kinds.split(",") if k] if kinds else None)


def _list(request: Request) -> Response:
    return _page(request, [request.params["kind"]])


def _batch(request: Request) -> Response:
    operations = request.json_object().get("operations")
    if not isinstance(operations, list):
        raise SandboxError('the body must be {"operations": [...]}', code="BAD_REQUEST")
    key = request.headers.get("Idempotency-Key")
    return 200, {"results": request.store.batch(operations, request.actor, key)}, {}


def _resolve_write(request: Request) -> Response:
    """Which requests of a write landed; fences the write id so no later one can."""
    return 200, request.store.resolve_write(request.params["write_id"]), {}


def _get(request: Request) -> Response:
    kind, name = request.params["kind"], request.params["name"]
    item = request.store.get_config(kind, name)
    if item is None:
        raise SandboxError(
            f"{kind}/{name} does not exist",
            status=404,
            code="NOT_FOUND",
            details={"kind": kind, "name": name},
        )
    return 200, item, _etag(item)


def _put(request: Request) -> Response:
    body = request.json_object()
    if "spec" not in body:
        raise SandboxError('the body must be {"spec": {...}}', code="BAD_REQUEST")
    item, created = request.store.upsert_config(
        request.params["kind"],
        request.params["name"],
        body["spec"],
        request.actor,
        request.if_match(),
    )
    return (201 if created else 200), item, _etag(item)


def _delete(request: Request) -> Response:
    request.store.delete_config(
        request.params["kind"], request.params["name"], request.actor, request.if_match()
    )
    return 204, None, {}


def _audit(request: Request) -> Response:
    limit = request.query_int("limit", 1000)
    items = request.store.audit(request.query.get("since"), limit)
    return 200, {"items": items}, {}


def _tokens(request: Request) -> Response:
    username = request.json_object().get("username")
    if not isinstance(username, str) or not username:
        raise SandboxError('the body must be {"username": "..."}', code="BAD_REQUEST")
    return 201, {"username": username, "token": request.store.issue_token(username)}, {}


def _faults_state(request: Request) -> Response:
    return 200, request.faults.state(), {}


def _faults_set(request: Request) -> Response:
    return 200, request.faults.configure(request.json_object()), {}


def _faults_clear(request: Request) -> Response:
    return 200, request.faults.clear(), {}


def routes() -> list[Route]:
    """The built-in endpoints: health, the API document, configuration, audit, tokens, faults."""
    return [
        Route("GET", "/api/v1/health", _health, auth=False),
        Route("GET", "/api/v1/openapi.json", _openapi, auth=False),
        Route("GET", "/api/v1/whoami", _whoami),
        Route("GET", "/api/v1/config", _list_all, view_setup=True),
        Route("GET", "/api/v1/config/{kind}", _list, view_setup=True),
        Route("POST", "/api/v1/config/batch", _batch, admin=True),
        Route("POST", "/api/v1/writes/{write_id}/resolve", _resolve_write, admin=True),
        Route("GET", "/api/v1/config/{kind}/{name}", _get, view_setup=True),
        Route("PUT", "/api/v1/config/{kind}/{name}", _put, admin=True),
        Route("DELETE", "/api/v1/config/{kind}/{name}", _delete, admin=True),
        Route("GET", "/api/v1/audit", _audit, view_setup=True),
        Route("POST", "/api/v1/tokens", _tokens, admin=True),
        Route("GET", "/api/v1/admin/faults", _faults_state, admin=True, faults=False),
        Route("POST", "/api/v1/admin/faults", _faults_set, admin=True, faults=False),
        Route("DELETE", "/api/v1/admin/faults", _faults_clear, admin=True, faults=False),
    ]


def _encode(body: Any) -> bytes:
    """A JSON answer as compact UTF-8: orjson, or the json module for what orjson refuses
    (keys that are not strings, integers beyond 64 bits)."""
    import orjson

    try:
        return orjson.dumps(body)
    except TypeError:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
