"""What every Salesforce-compatible endpoint shares: sessions, API limits, error shapes.

A REST handler is wrapped by `rest()`, a Metadata API operation by the SOAP
dispatcher (`metadata.soap_endpoint`); both call `authorise()`, which finds
the session, counts the call against the daily API limit and answers
Salesforce's errors: INVALID_SESSION_ID (401, or the SOAP fault) and
REQUEST_LIMIT_EXCEEDED (403). Every answer carries
`Sforce-Limit-Info: api-usage=USED/MAX`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crmctl.sandbox import auth
from crmctl.sandbox.auth import Principal
from crmctl.sandbox.db import SandboxError
from crmctl.sandbox.jsonbody import parse_json_body
from crmctl.sandbox.salesforce import state
from crmctl.sandbox.server import Request, Route

__all__ = [
    "SalesforceFault",
    "Caller",
    "authorise",
    "rest",
    "limit_header",
    "check_version",
    "base_url",
]

Response = tuple[int, Any, dict[str, str]]
_VERSION = re.compile(r"^v\d{2,3}\.0$")


@dataclass
class SalesforceFault(Exception):
    """An error answered the Salesforce way: REST `[{message, errorCode, fields}]` or a SOAP fault."""

    status: int
    code: str
    message: str
    fields: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def rest_body(self) -> list[dict[str, Any]]:
        return [{"message": self.message, "errorCode": self.code, "fields": self.fields}]


@dataclass(frozen=True)
class Caller:
    """Who is calling and the API usage after counting this call."""

    principal: Principal
    used: int
    limit: int

    @property
    def limit_headers(self) -> dict[str, str]:
        return {"Sforce-Limit-Info": limit_header(self.used, self.limit)}

    def require_admin(self, what: str) -> None:
        if not self.principal.is_admin:
            raise SalesforceFault(
                403,
                "INSUFFICIENT_ACCESS",
                f"{what} needs a user with the ModifyAllData or CustomizeApplication permission",
            )

    def require_view_setup(self, what: str) -> None:
        if not self.principal.can_view_setup:
            raise SalesforceFault(
                403,
                "INSUFFICIENT_ACCESS",
                f"{what} needs a user with the ViewSetup (View Setup and Configuration) permission",
            )


def base_url(request: Request) -> str:
    """This server as the client reached it: its scheme (https when serving TLS) and Host."""
    host = request.headers.get("Host") or "127.0.0.1"
    return f"{'https' if request.secure else 'http'}://{host}"


def limit_header(used: int, limit: int) -> str:
    return f"api-usage={used}/{limit}"


def check_version(version: str) -> None:
    if not _VERSION.match(version):
        raise SalesforceFault(404, "NOT_FOUND", "The requested resource does not exist")


def authorise(request: Request, token: str | None) -> Caller:
    """The caller of a session token; counts the call; raises the Salesforce errors."""
    store = request.store
    with store.transaction() as conn:
        now = store.now()
        username = state.session_user(conn, token, now) if token else None
        principal = auth.principal_of(conn, username) if username else None
        if principal is None or not principal.active:
            raise SalesforceFault(401, "INVALID_SESSION_ID", "Session expired or invalid")
        used, limit, refused = state.count_call(conn, now)
    if refused:
        raise SalesforceFault(
            403,
            "REQUEST_LIMIT_EXCEEDED",
            f"TotalRequests Limit exceeded. ({used}/{limit} API requests used today)",
            headers={"Sforce-Limit-Info": limit_header(used, limit)},
        )
    return Caller(principal, used, limit)


def bearer(request: Request) -> str | None:
    scheme, _, token = (request.headers.get("Authorization") or "").strip().partition(" ")
    return token.strip() or None if scheme.lower() in ("bearer", "oauth") else None


RestHandler = Callable[[Request, Caller], Response]


def _session_before_body(request: Request) -> Response | None:
    """Refuse a request with a body and no valid session before the body is read.

    The call is counted later, by `authorise`, once the body has been read.
    """
    token = bearer(request)
    store = request.store
    with store.transaction() as conn:
        username = state.session_user(conn, token, store.now()) if token else None
        principal = auth.principal_of(conn, username) if username else None
    if principal is None or not principal.active:
        return (
            401,
            SalesforceFault(401, "INVALID_SESSION_ID", "Session expired or invalid").rest_body(),
            {},
        )
    return None


def rest(method: str, pattern: str, handler: RestHandler) -> Route:
    """A REST route: session, limits and Salesforce's error shape around `handler`."""

    def answer(request: Request) -> Response:
        headers: dict[str, str] = {}
        try:
            check_version(request.params.get("version", "v61.0"))
            caller = authorise(request, bearer(request))
            headers = caller.limit_headers
            if request.raw:  # parsed here, so a bad body is answered in Salesforce's shape
                request.body = parse_json_body(request.raw)
            status, body, extra = handler(request, caller)
            return status, body, {**headers, **extra}
        except SalesforceFault as fault:
            return fault.status, fault.rest_body(), {**headers, **fault.headers}
        except SandboxError as err:
            code = "JSON_PARSER_ERROR" if err.code == "BAD_REQUEST" else err.code
            return err.status, [{"message": err.message, "errorCode": code, "fields": []}], headers

    route = Route(
        method, pattern, answer, auth=False, json_body=False, pre_body=_session_before_body
    )
    # Salesforce accepts a trailing slash (…/query/?q=, …/sobjects/User/), and clients send it.
    route.regex = re.compile(route.regex.pattern.removesuffix("$") + "/?$")
    return route
