"""One logged-in connection to an org: REST and SOAP calls, token refresh, limits, backoff.

Every call goes through `Connection.call`, which

- logs in on first use and once more when Salesforce answers
  INVALID_SESSION_ID (an expired or revoked token), then repeats the call;
- backs off on REQUEST_LIMIT_EXCEEDED (403, or the SOAP fault) with
  exponential waits honouring Retry-After, within the HTTP retry policy's
  attempts and time budget, then raises `RateLimitError`;
- reads the org's API usage (`Sforce-Limit-Info: api-usage=USED/MAX`, or a
  SOAP `LimitInfoHeader`) and records one warning once usage passes 80 %.

Errors: REST bodies `[{"message", "errorCode", "fields"}]` and SOAP faults
become `ProviderError` (`AuthError` for 401/403) with Salesforce's code and
message; secrets never appear in them (the HTTP client redacts tokens).
"""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import requests

from crmctl.errors import AuthError, ProviderError, RateLimitError
from crmctl.providers.http import HttpClient, redact
from crmctl.providers.salesforce import auth
from crmctl.providers.salesforce import metadata_xml as mx

__all__ = ["Connection", "WARN_AT"]

#: Usage share of the daily API limit above which a warning is recorded.
WARN_AT = 0.8
_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")
_SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"


class _Refused(Exception):
    """A call Salesforce answered with an error code we react to."""

    def __init__(self, code: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.retry_after = code, message, retry_after


class Connection:
    """An HTTP client, credentials, and the session they give."""

    def __init__(
        self,
        http: HttpClient,
        credentials: auth.Credentials,
        instance_url: str,
        api_version: str,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = http
        self.credentials = credentials
        self.instance_url = instance_url.rstrip("/")
        self.api_version = api_version
        self.session: auth.Session | None = None
        self.logins = 0
        self.calls: dict[str, int] = {}  # call counts by API ("rest", "soap:retrieve" …)
        self.usage: tuple[int, int] | None = None
        self.warnings: list[str] = []
        self._sleep = sleep
        http.secrets.extend(credentials.secrets)

    # --- session ---------------------------------------------------------------------
    def login(self) -> auth.Session:
        """Log in (again) and use the new token from now on."""
        self.session = auth.login(self.http, self.credentials)
        self.logins += 1
        if self.session.instance_url:
            self.instance_url = self.session.instance_url.rstrip("/")
        self.http.session.headers["Authorization"] = f"Bearer {self.session.access_token}"
        return self.session

    @property
    def data_path(self) -> str:
        return f"/services/data/v{self.api_version}"

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        if not path.startswith("/services/"):
            path = f"{self.data_path}/{path.lstrip('/')}"
        return f"{self.instance_url}{path}"

    # --- calls -----------------------------------------------------------------------
    def rest(self, method: str, path: str, *, ok: tuple[int, ...] = (), **kwargs: Any) -> Any:
        """A REST call; its decoded JSON body (None when empty). `ok`: error statuses to return."""
        self.calls["rest"] = self.calls.get("rest", 0) + 1

        def send() -> requests.Response:
            response = self.http.request(
                method, self.url(path), accept=(400, 401, 403, 404, 409, 500), **kwargs
            )
            self._note_usage(response.headers.get("Sforce-Limit-Info", ""))
            if response.status_code < 400 or response.status_code in ok:
                return response
            code, message = _rest_error(response)
            if code in ("INVALID_SESSION_ID", "REQUEST_LIMIT_EXCEEDED"):
                raise _Refused(code, message, _retry_after(response))
            error = AuthError if response.status_code in (401, 403) else ProviderError
            raise error(f"{method} {self._safe(path)}: {response.status_code} {code}: {message}")

        response = self._with_retries(send, f"{method} {self._safe(path)}")
        return response.json() if response.content else None

    def soap(self, operation: str, body: Callable[[], str]) -> ET.Element:
        """A Metadata API call: `body()` gives the operation's XML; returns its response element."""
        self.calls[f"soap:{operation}"] = self.calls.get(f"soap:{operation}", 0) + 1

        def send() -> requests.Response:
            assert self.session is not None
            envelope = _envelope(self.session.access_token, body())
            response = self.http.request(
                "POST",
                self.url(f"/services/Soap/m/{self.api_version}"),
                data=envelope.encode("utf-8"),
                headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'},
                accept=(400, 401, 403, 404, 500),
                idempotent=operation in _ASKING,  # a lost answer to a question is asked again
            )
            self._note_usage(response.headers.get("Sforce-Limit-Info", ""))
            if response.status_code < 400:
                return response
            code, message = _soap_fault(response)
            if code in ("INVALID_SESSION_ID", "REQUEST_LIMIT_EXCEEDED"):
                raise _Refused(code, message, _retry_after(response))
            raise ProviderError(f"Metadata API {operation}: {code}: {message}")

        response = self._with_retries(send, f"Metadata API {operation}")
        try:
            root = mx.parse(response.content)
        except ET.ParseError:
            raise ProviderError(f"Metadata API {operation}: the answer is not XML") from None
        limit = root.find(".//LimitInfoHeader/limitInfo")
        if limit is not None:
            self._note_usage(f"api-usage={mx.text(limit, 'current')}/{mx.text(limit, 'limit')}")
        found = root.find(f".//{operation}Response")
        if found is None:
            raise ProviderError(f"Metadata API {operation}: no {operation}Response in the answer")
        return found

    def _with_retries(self, send: Callable[[], requests.Response], what: str) -> requests.Response:
        if self.session is None:
            self.login()
        refreshed = False
        policy = self.http.retry
        deadline = time.monotonic() + policy.budget
        attempt = 0
        while True:
            try:
                return send()
            except _Refused as refused:
                if refused.code == "INVALID_SESSION_ID":
                    if refreshed:
                        raise AuthError(
                            f"{what}: the session was refused again right after logging in "
                            f"({refused.message})",
                            hint="check that the user may use the API",
                        ) from None
                    refreshed = True
                    self.login()
                    continue
                wait = refused.retry_after
                if wait is None:
                    wait = policy.backoff_wait(attempt)
                attempt += 1
                if attempt > policy.retries or time.monotonic() + wait > deadline:
                    usage = f" (API usage {self.usage[0]}/{self.usage[1]})" if self.usage else ""
                    raise RateLimitError(
                        f"{what}: Salesforce kept answering REQUEST_LIMIT_EXCEEDED{usage}; "
                        f"gave up after {attempt} attempt(s): {refused.message}",
                        hint="the org's API limit is spent; try again later, or raise the limit",
                    ) from None
                self._sleep(wait)

    def _note_usage(self, header: str) -> None:
        found = _USAGE.search(header or "")
        if not found:
            return
        used, limit = int(found.group(1)), int(found.group(2))
        self.usage = (used, limit)
        if limit and used / limit > WARN_AT and not self.warnings:
            self.warnings.append(
                f"the org has used {used} of its {limit} daily API calls "
                f"({100 * used // limit} %); crmctl stops when the limit is reached"
            )

    def _safe(self, text: str) -> str:
        return redact(text, self.http.secrets)


def _retry_after(response: requests.Response) -> float | None:
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None


def _rest_error(response: requests.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}", response.text.strip()[:300]
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return str(body[0].get("errorCode")), "; ".join(str(e.get("message")) for e in body)
    if isinstance(body, dict):
        return str(body.get("errorCode") or body.get("error") or response.status_code), str(
            body.get("message") or body.get("error_description") or body
        )
    return f"HTTP {response.status_code}", str(body)[:300]


def _soap_fault(response: requests.Response) -> tuple[str, str]:
    try:
        root = mx.parse(response.content)
    except ET.ParseError:
        return f"HTTP {response.status_code}", response.text.strip()[:300]
    fault = root.find(".//Fault")
    if fault is None:
        return f"HTTP {response.status_code}", "an error without a SOAP fault"
    code = (mx.text(fault, "faultcode") or "").rpartition(":")[2]
    return code or f"HTTP {response.status_code}", mx.text(fault, "faultstring") or ""


#: Metadata API operations that only ask: repeating one changes nothing.
_ASKING = frozenset(
    {"checkDeployStatus", "checkRetrieveStatus", "listMetadata", "describeMetadata", "readMetadata"}
)


def _envelope(session_id: str, body: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{_SOAP_ENV}" xmlns:met="{mx.NS}">'
        "<soapenv:Header><met:SessionHeader>"
        f"<met:sessionId>{_escape(session_id)}</met:sessionId>"
        "</met:SessionHeader></soapenv:Header>"
        f"<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    )


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
