"""SOAP `login()`: `POST /services/Soap/u/{version}` (partner) and `/services/Soap/c/{version}`.

The answer is Salesforce's LoginResult: a session id, the user's id, and the
endpoints for what follows, `serverUrl` (`/services/Soap/u/{version}/{orgId}`)
and `metadataServerUrl` (`/services/Soap/m/{version}/{orgId}`), which the
Metadata API answers.

The sandbox keeps no passwords: the password is the user's sandbox API token
(the admin's from `crmctl sandbox init`, anyone's from `POST /api/v1/tokens`),
which plays the part of Salesforce's password and security token. Anything else is INVALID_LOGIN, as Salesforce answers it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any
from xml.sax.saxutils import escape

from crmctl.sandbox.db import SandboxError
from crmctl.sandbox.salesforce import state
from crmctl.sandbox.salesforce.api import base_url, check_version
from crmctl.sandbox.salesforce.ids import ORG_ID, ORG_ID_15, sf_id
from crmctl.sandbox.salesforce.sobjects import OrgView
from crmctl.sandbox.server import Request, Route

__all__ = ["routes"]

_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
_PARTNER = "urn:partner.soap.sforce.com"
_FAULT_NS = "urn:fault.partner.soap.sforce.com"
_INVALID = "Invalid username, password, security token; or user locked out."

Response = tuple[int, Any, dict[str, str]]


def _envelope(content: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{_SOAP}" xmlns="{_PARTNER}" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<soapenv:Body>{content}</soapenv:Body></soapenv:Envelope>"
    ).encode()


def _fault(code: str, message: str) -> Response:
    content = (
        f'<soapenv:Fault><faultcode xmlns:sf="{_FAULT_NS}">sf:{code}</faultcode>'
        f"<faultstring>{code}: {escape(message)}</faultstring></soapenv:Fault>"
    )
    return 500, _envelope(content), {"Content-Type": "text/xml; charset=utf-8"}


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _credentials(raw: bytes) -> tuple[str, str] | None:
    try:
        root = ET.fromstring(raw)
    except ET.ParseError:
        return None
    values: dict[str, str] = {}
    for element in root.iter():
        if _local(element.tag) in ("username", "password"):
            values[_local(element.tag)] = (element.text or "").strip()
    if not any(_local(e.tag) == "login" for e in root.iter()):
        return None
    return values.get("username", ""), values.get("password", "")


def _element(tag: str, value: Any) -> str:
    if value is None:
        return f'<{tag} xsi:nil="true"/>'
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{tag}>{escape(str(value))}</{tag}>"


def _login(request: Request) -> Response:
    version = request.params["version"]
    try:
        check_version("v" + version)
    except Exception:  # noqa: BLE001 - SalesforceFault: an unknown version
        return _fault("UNSUPPORTED_API_VERSION", f"Invalid Api version specified on URL: {version}")
    found = _credentials(request.raw)
    if found is None:
        return _fault("INVALID_OPERATION", "the request is not a login")
    username, password = found
    store = request.store
    try:
        principal = store.authenticate(password)
    except SandboxError:
        return _fault("INVALID_LOGIN", _INVALID)
    if principal.username.lower() != username.lower() or not principal.active:
        return _fault("INVALID_LOGIN", _INVALID)
    with store.transaction() as conn:
        seconds = state.settings_in(conn)["sessionSeconds"]
        session = state.issue_session(conn, principal.username, "soap-login", store.now(), seconds)
    row = OrgView(store).get("User", sf_id("User", principal.username)) or {}
    base = base_url(request)
    info = "".join(
        _element(tag, value)
        for tag, value in (
            ("accessibilityMode", False),
            ("currencySymbol", "$"),
            ("orgAttachmentFileSizeLimit", 5242880),
            ("orgDefaultCurrencyIsoCode", "USD"),
            ("orgDisallowHtmlAttachments", False),
            ("orgHasPersonAccounts", False),
            ("organizationId", ORG_ID),
            ("organizationMultiCurrency", False),
            ("organizationName", "crmctl sandbox"),
            ("profileId", row.get("ProfileId")),
            ("roleId", row.get("UserRoleId")),
            ("sessionSecondsValid", seconds),
            ("userDefaultCurrencyIsoCode", None),
            ("userEmail", row.get("Email")),
            ("userFullName", row.get("Name")),
            ("userId", row.get("Id")),
            ("userLanguage", "en_US"),
            ("userLocale", "en_US"),
            ("userName", principal.username),
            ("userTimeZone", "GMT"),
            ("userType", "Standard"),
            ("userUiSkin", "Theme3"),
        )
    )
    result = (
        "<loginResponse><result>"
        + _element("metadataServerUrl", f"{base}/services/Soap/m/{version}/{ORG_ID_15}")
        + _element("passwordExpired", False)
        + _element("sandbox", False)
        + _element("serverUrl", f"{base}/services/Soap/u/{version}/{ORG_ID_15}")
        + _element("sessionId", session)
        + _element("userId", row.get("Id"))
        + f"<userInfo>{info}</userInfo></result></loginResponse>"
    )
    return 200, _envelope(result), {"Content-Type": "text/xml; charset=utf-8"}


def routes() -> list[Route]:
    return [
        Route("POST", f"/services/Soap/{api}/{{version}}", _login, auth=False, json_body=False)
        for api in ("u", "c")
    ]
