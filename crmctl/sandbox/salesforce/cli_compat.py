"""The REST answers the Salesforce CLI and jsforce need before they reach the Metadata API.

    GET /services/oauth2/userinfo                  who the session is (OpenID Connect claims)
    GET /services/data                             the API versions this org speaks
    GET /services/data/vNN.0                       the resources of one version
    GET /services/data/vNN.0/sobjects/User/{id}    the built-in admin as a User row too
    GET /services/data/vNN.0/query?q=…             the Organization row; `columns=true`
    GET /services/data/vNN.0/tooling/sobjects/X/describe   NOT_FOUND: no source tracking

`sf org login access-token` asks userinfo for the user's id, then reads that
User row for its Username; every later command asks `/services/data` for the
newest version and queries the Organization. `sf data query` asks for a
query's column metadata (`columns=true`) before it prints rows.

The last two routes answer first and hand everything else to `sobjects`
(users, roles, permission sets as the store holds them). Kept minimal, for
the real-client tests (tests/clients); the REST parity work may fold it into
`sobjects`.
"""

from __future__ import annotations

from typing import Any

from crmctl.sandbox.salesforce import sobjects, soql
from crmctl.sandbox.salesforce.api import Caller, SalesforceFault, rest
from crmctl.sandbox.salesforce.oauth import ORG_ID
from crmctl.sandbox.salesforce.sobjects import sf_id
from crmctl.sandbox.server import Request, Route

__all__ = ["routes", "LATEST_VERSION", "ORGANIZATION"]

Response = tuple[int, Any, dict[str, str]]

#: The newest API version this org answers (`/services/data` lists 20.0 up to it).
LATEST_VERSION = 61
_SEASONS = ("Winter", "Spring", "Summer")
#: The org's Organization row (SOQL `FROM Organization`).
ORGANIZATION: dict[str, Any] = {
    "Id": ORG_ID[:18],
    "Name": "crmctl sandbox",
    "InstanceName": "SANDBOX",
    "IsSandbox": False,
    "TrialExpirationDate": None,
    "NamespacePrefix": None,
    "OrganizationType": "Developer Edition",
    "LanguageLocaleKey": "en_US",
    "DefaultLocaleSidKey": "en_US",
    "TimeZoneSidKey": "GMT",
}
_ORGANIZATION_SCHEMA: dict[str, dict[str, str | None]] = {
    "Organization": dict.fromkeys(ORGANIZATION)
}
_ADMIN_PROFILE = "System Administrator"


def _base(request: Request) -> str:
    scheme = "https" if getattr(request, "secure", False) else "http"
    return f"{scheme}://{request.headers.get('Host') or '127.0.0.1'}"


def _release(version: int) -> str:
    """Salesforce's release name of an API version (20.0 was Winter '11)."""
    return f"{_SEASONS[(version - 20) % 3]} '{11 + (version - 20) // 3:02d}"


def _versions(request: Request, caller: Caller) -> Response:
    return 200, [
        {"label": _release(v), "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
        for v in range(20, LATEST_VERSION + 1)
    ], {}  # fmt: skip


def _resources(request: Request, caller: Caller) -> Response:
    version = request.params["version"]
    base = f"/services/data/{version}"
    names = ("sobjects", "query", "queryAll", "composite", "limits", "tooling", "metadata")
    body: dict[str, str] = {name: f"{base}/{name}" for name in names}
    user = sf_id("User", caller.principal.username)
    body["identity"] = f"{_base(request)}/id/{ORG_ID}/{user}"
    return 200, body, {}


def _admin_row(version: str, username: str) -> dict[str, Any]:
    """The built-in admin as Salesforce shows a System Administrator user."""
    local = username.partition("@")[0]
    row_id = sf_id("User", username)
    return {
        "attributes": {"type": "User", "url": f"/services/data/{version}/sobjects/User/{row_id}"},
        "Id": row_id, "Username": username, "Email": username, "FirstName": None,
        "LastName": local.capitalize(), "Name": local.capitalize(), "IsActive": True,
        "UserRoleId": None, "ProfileId": sf_id("Profile", _ADMIN_PROFILE), "UserType": "Standard",
        "Alias": "".join(c for c in local if c.isalnum())[:8], "TimeZoneSidKey": "GMT",
        "LocaleSidKey": "en_US", "LanguageLocaleKey": "en_US", "EmailEncodingKey": "UTF-8",
    }  # fmt: skip


def _user_info(request: Request, caller: Caller) -> Response:
    username = caller.principal.username
    user = sf_id("User", username)
    base = _base(request)
    return 200, {
        "sub": f"{base}/id/{ORG_ID}/{user}", "user_id": user, "organization_id": ORG_ID,
        "preferred_username": username, "nickname": username.partition("@")[0],
        "name": username, "email": username, "email_verified": True, "zoneinfo": "GMT",
        "locale": "en_US", "language": "en_US", "active": caller.principal.active,
        "user_type": "STANDARD", "is_app_installed": True,
        "urls": {"rest": f"{base}/services/data/v{{version}}/",
                 "metadata": f"{base}/services/Soap/m/{{version}}/{ORG_ID}",
                 "custom_domain": base},
    }, {}  # fmt: skip


def _user(request: Request, caller: Caller) -> Response:
    record_id = sobjects.normal_id(request.params["id"])
    admin = caller.principal.username
    if record_id == sf_id("User", admin) and request.store.get_config("User", admin) is None:
        return 200, _admin_row(request.params["version"], admin), {}
    request.params["sobject"] = "User"
    return sobjects._get(request, caller)


def _columns(sobject: str, paths: list[list[str]], schema: dict) -> list[dict[str, Any]]:
    def column(current: str, path: list[str]) -> dict[str, Any]:
        name = path[0]
        parent = schema[current][name]
        joins = [column(parent, path[1:])] if parent is not None and len(path) > 1 else []
        return {
            "aggregate": False, "apexType": None if joins else "String", "booleanType": False,
            "columnName": name, "custom": name.endswith("__c"), "displayName": name,
            "foreignKeyName": None, "insertable": False, "joinColumns": joins,
            "numberType": False, "textType": not joins, "updatable": False,
        }  # fmt: skip

    return [column(sobject, path) for path in paths]


def _query(request: Request, caller: Caller) -> Response:
    text = request.query.get("q") or ""
    try:
        query = soql.parse(text) if text else None
    except soql.SoqlError:
        query = None  # `sobjects` answers the error
    organization = query is not None and query.sobject.lower() == "organization"
    if query is None or not (organization or request.query.get("columns") == "true"):
        return sobjects._query(request, caller)
    schema = _ORGANIZATION_SCHEMA if organization else sobjects.SCHEMA
    rows = [ORGANIZATION] if organization else []
    try:
        found, paths = soql.run(query, schema, rows)
    except soql.SoqlError as err:
        raise SalesforceFault(400, err.code, err.message) from None
    if request.query.get("columns") == "true":
        prefix = "00D" if organization else sf_id(query.sobject, "")[:3]
        return 200, {
            "columnMetadata": _columns(query.sobject, paths, schema), "entityName": query.sobject,
            "groupBy": False, "idSelected": ["Id"] in paths, "keyPrefix": prefix,
        }, {}  # fmt: skip
    version = request.params["version"]
    attributes = {"type": "Organization",
                  "url": f"/services/data/{version}/sobjects/Organization/{ORGANIZATION['Id']}"}  # fmt: skip
    if query.is_count:
        return 200, {"totalSize": len(found), "done": True, "records": []}, {}
    records = [
        {"attributes": attributes, **{path[0]: row[path[0]] for path in paths}} for row in found
    ]
    return 200, {"totalSize": len(records), "done": True, "records": records}, {}


def _tooling_describe(request: Request, caller: Caller) -> Response:
    """The Tooling API is not offered: an org without source tracking has no SourceMember,
    which is how the Salesforce CLI learns that it should not track source."""
    raise SalesforceFault(404, "NOT_FOUND", "The requested resource does not exist")


def routes() -> list[Route]:
    """These answer before `sobjects`' routes of the same paths."""
    base = "/services/data/{version}"
    return [
        rest("GET", "/services/oauth2/userinfo", _user_info),
        rest("GET", "/services/data", _versions),
        rest("GET", base, _resources),
        rest("GET", f"{base}/sobjects/User/{{id}}", _user),
        rest("GET", f"{base}/query", _query),
        rest("GET", f"{base}/tooling/sobjects/{{sobject}}/describe", _tooling_describe),
    ]
