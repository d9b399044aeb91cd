"""What a client asks before anything else: versions, resources, who am I, limits.

    GET /services/data                       the API versions (no session needed)
    GET /services/data/vNN.0                 the resources of a version
    GET /services/data/vNN.0/limits          the org's limits, API requests counted
    GET /services/oauth2/userinfo            OpenID Connect user info of the session's user
    GET /id/{orgId}/{userId}                 the identity URL the token response names

Shapes as Salesforce documents them. Identity and user info answer a user's
own identity; another user's needs an admin or View Setup, and an unknown
org or user is 404.
"""

from __future__ import annotations

import re
from typing import Any

from crmctl.sandbox.salesforce.api import (
    Caller,
    SalesforceFault,
    authorise,
    base_url,
    bearer,
    rest,
)
from crmctl.sandbox.salesforce.ids import ORG_ID, ORG_ID_15, normal_id, sf_id
from crmctl.sandbox.salesforce.sobjects import OrgView
from crmctl.sandbox.server import Request, Route

__all__ = ["routes", "VERSIONS", "LATEST"]

Response = tuple[int, Any, dict[str, str]]

#: The API versions this org answers, oldest first: 31.0 (Summer '14) to 62.0 (Winter '25).
FIRST, LATEST = 31, 62
_SEASONS = ("Summer", "Winter", "Spring")  # 31.0 is Summer '14, then a release per season


def _label(version: int) -> str:
    step = version - FIRST
    season = _SEASONS[step % 3]
    year = 14 + (step + 2) // 3  # Winter '15 follows Summer '14
    return f"{season} '{year:02d}"


VERSIONS = [
    {"label": _label(v), "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
    for v in range(FIRST, LATEST + 1)
]


def _versions(request: Request) -> Response:
    return 200, VERSIONS, {}


def _resources(request: Request, caller: Caller) -> Response:
    version = request.params["version"]
    base = f"/services/data/{version}"
    names = ("sobjects", "query", "queryAll", "limits", "composite", "search", "recent", "tooling")
    body: dict[str, str] = {name: f"{base}/{name}" for name in names}
    body["identity"] = _identity_url(request, caller.principal.username)
    body["metadata"] = f"{base}/metadata"
    return 200, dict(sorted(body.items())), {}


def _limits(request: Request, caller: Caller) -> Response:
    def limit(maximum: int, remaining: int | None = None) -> dict[str, int]:
        return {"Max": maximum, "Remaining": maximum if remaining is None else remaining}

    with request.store.transaction() as conn:
        permission_sets = conn.execute(
            "SELECT COUNT(*) FROM config WHERE kind = 'PermissionSet'"
        ).fetchone()[0]
    body = {
        "ConcurrentAsyncGetReportInstances": limit(200),
        "ConcurrentSyncReportRuns": limit(20),
        "DailyApiRequests": limit(caller.limit, max(caller.limit - caller.used, 0)),
        "DailyAsyncApexExecutions": limit(250_000),
        "DailyBulkApiBatches": limit(15_000),
        "DailyBulkV2QueryFileStorageMB": limit(976_562),
        "DailyBulkV2QueryJobs": limit(10_000),
        "DailyDurableStreamingApiEvents": limit(10_000),
        "DailyStandardVolumePlatformEvents": limit(10_000),
        "DataStorageMB": limit(5),
        "FileStorageMB": limit(20),
        "HourlyTimeBasedWorkflow": limit(50),
        "MassEmail": limit(10),
        "PermissionSets": {
            **limit(1500, max(1500 - permission_sets, 0)),
            "CreateCustom": limit(1000, max(1000 - permission_sets, 0)),
        },
        "SingleEmail": limit(15),
    }
    return 200, body, {}


# --- identity ----------------------------------------------------------------------------


def _identity_url(request: Request, username: str) -> str:
    return f"{base_url(request)}/id/{ORG_ID}/{sf_id('User', username)}"


def _session_caller(request: Request) -> Caller:
    """The session's user; the identity service answers 403 Bad_OAuth_Token otherwise."""
    try:
        return authorise(request, bearer(request) or request.query.get("oauth_token"))
    except SalesforceFault as fault:
        if fault.code == "INVALID_SESSION_ID":
            raise SalesforceFault(403, "Bad_OAuth_Token", "Bad_OAuth_Token") from None
        raise


def _urls(request: Request, version: str | None) -> dict[str, str]:
    base = base_url(request)
    v = version or "{version}"
    rest_base = f"{base}/services/data/v{v}"
    return {
        "enterprise": f"{base}/services/Soap/c/{v}/{ORG_ID_15}",
        "metadata": f"{base}/services/Soap/m/{v}/{ORG_ID_15}",
        "partner": f"{base}/services/Soap/u/{v}/{ORG_ID_15}",
        "rest": f"{rest_base}/",
        "sobjects": f"{rest_base}/sobjects/",
        "search": f"{rest_base}/search/",
        "query": f"{rest_base}/query/",
        "recent": f"{rest_base}/recent/",
        "tooling_soap": f"{base}/services/Soap/T/{v}/{ORG_ID_15}",
        "tooling_rest": f"{rest_base}/tooling/",
        "profile": f"{base}/{{user_id}}",
        "custom_domain": base,
    }


def _user_row(request: Request, user_id: str) -> dict[str, Any] | None:
    return OrgView(request.store).get("User", user_id)


def _version_param(request: Request) -> str | None:
    value = request.query.get("version")
    if value == "latest":
        return f"{LATEST}.0"
    return value if value and re.fullmatch(r"\d{2,3}\.0", value) else None


def _identity_body(request: Request, row: dict[str, Any], caller: Caller) -> dict[str, Any]:
    urls = _urls(request, _version_param(request))
    urls["profile"] = f"{base_url(request)}/{row['Id']}"
    return {
        "id": f"{base_url(request)}/id/{ORG_ID}/{row['Id']}",
        "asserted_user": row["Username"] == caller.principal.username,
        "user_id": row["Id"],
        "organization_id": ORG_ID,
        "username": row["Username"],
        "nick_name": row["Alias"],
        "display_name": row["Name"],
        "email": row["Email"],
        "email_verified": True,
        "first_name": row["FirstName"],
        "last_name": row["LastName"],
        "timezone": row["TimeZoneSidKey"],
        "photos": {"picture": None, "thumbnail": None},
        "addr_street": None,
        "addr_city": None,
        "addr_state": None,
        "addr_country": None,
        "addr_zip": None,
        "mobile_phone": None,
        "mobile_phone_verified": False,
        "is_lightning_login_user": False,
        "status": {"created_date": None, "body": None},
        "urls": urls,
        "active": row["IsActive"],
        "user_type": row["UserType"].upper(),
        "language": row["LanguageLocaleKey"],
        "locale": row["LocaleSidKey"],
        "utcOffset": 0,
        "last_modified_date": None,
        "is_app_installed": True,
    }


def _may_see(caller: Caller, row: dict[str, Any]) -> None:
    if row["Username"] != caller.principal.username and not caller.principal.can_view_setup:
        raise SalesforceFault(403, "INSUFFICIENT_ACCESS", "You can only see your own identity")


def _answer(request: Request, produce: Any) -> Response:
    headers: dict[str, str] = {}
    try:
        caller = _session_caller(request)
        headers = caller.limit_headers
        return 200, produce(caller), headers
    except SalesforceFault as fault:
        if fault.code == "Bad_OAuth_Token":  # the identity service answers in plain text
            return 403, b"Bad_OAuth_Token", {"Content-Type": "text/plain"}
        return fault.status, fault.rest_body(), {**headers, **fault.headers}


def _identity(request: Request) -> Response:
    def produce(caller: Caller) -> dict[str, Any]:
        org, user = request.params["org"], normal_id(request.params["user"])
        row = _user_row(request, user or "")
        if normal_id(org) != ORG_ID or row is None:
            raise SalesforceFault(404, "NOT_FOUND", "The requested resource does not exist")
        _may_see(caller, row)
        return _identity_body(request, row, caller)

    return _answer(request, produce)


def _userinfo(request: Request) -> Response:
    def produce(caller: Caller) -> dict[str, Any]:
        row = _user_row(request, sf_id("User", caller.principal.username))
        if row is None:  # a principal is always a User row; kept for safety
            raise SalesforceFault(404, "NOT_FOUND", "The requested resource does not exist")
        identity = _identity_body(request, row, caller)
        return {
            "sub": identity["id"],
            "user_id": row["Id"],
            "organization_id": ORG_ID,
            "preferred_username": row["Username"],
            "nickname": row["Alias"],
            "name": row["Name"],
            "email": row["Email"],
            "email_verified": True,
            "given_name": row["FirstName"],
            "family_name": row["LastName"],
            "zoneinfo": row["TimeZoneSidKey"],
            "photos": identity["photos"],
            "profile": identity["urls"]["profile"],
            "picture": None,
            "address": {},
            "is_salesforce_integration_user": False,
            "urls": identity["urls"],
            "active": row["IsActive"],
            "user_type": identity["user_type"],
            "language": row["LanguageLocaleKey"],
            "locale": row["LocaleSidKey"],
            "utcOffset": 0,
            "updated_at": None,
            "is_app_installed": True,
        }

    return _answer(request, produce)


def routes() -> list[Route]:
    versions = Route("GET", "/services/data", _versions, auth=False, json_body=False)
    versions.regex = re.compile(r"^/services/data/?$")
    identity = Route("GET", "/id/{org}/{user}", _identity, auth=False, json_body=False)
    userinfo = Route("GET", "/services/oauth2/userinfo", _userinfo, auth=False, json_body=False)
    return [
        versions,
        identity,
        userinfo,
        rest("GET", "/services/data/{version}", _resources),
        rest("GET", "/services/data/{version}/limits", _limits),
    ]
