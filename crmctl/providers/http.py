"""The one HTTP session every provider uses: timeouts, retries, backoff, redaction.

Retries use urllib3's Retry (exponential backoff with jitter on 429, 502, 503
and 504 and on connection errors, honouring Retry-After), extended with a cap
on the total time spent retrying. A request whose outcome is unknown (the
connection dropped after a POST was sent) is repeated only when the caller says
it is idempotent (a POST the CRM de-duplicates by its idempotency key, or one that
only asks); otherwise the caller must find out what happened by asking the CRM.

A server that refuses connections is retried only `connect_retries` times
(2 by default, about a second): it is down, not busy, and a user waiting
with no output for the full backoff would think crmctl hung. Every retry
prints one line on stderr (`GET /path: 503; retrying (2/5) in 4 s...`),
terminal or not: stdout stays clean for JSON and markdown, and a CI log shows
why a step is slow.

Secrets (tokens, passwords) are replaced by `***` in every message and log
line this module produces.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    ConnectTimeoutError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.util.retry import Retry

from crmctl import __version__
from crmctl.errors import AuthError, CrmctlError, ProviderError, RateLimitError, TransportError

__all__ = ["GATEWAY_TIMEOUTS", "HttpClient", "RetryPolicy", "redact", "retry_notice"]

log = logging.getLogger("crmctl.http")

_RETRY_STATUSES = (429, 502, 503, 504)
#: Statuses a gateway answers when it stops waiting for the server behind it.
GATEWAY_TIMEOUTS = frozenset({502, 504})
#: Seconds during which the same retry line is not repeated (parallel requests, one outage).
_NOTICE_WINDOW = 30.0
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret replaced by `***`."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


class RetryBudgetExhausted(Exception):
    """The next wait would pass the cap on total retry time."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"next retry would wait {wait:.1f}s, past the retry time budget")
        self.wait = wait


def retry_notice(text: str) -> None:
    """Where retry lines go: stderr, one line each."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _when(wait: float) -> str:
    if wait < 0.05:
        return "now"
    return f"in {wait:.1f} s" if wait < 1 else f"in {wait:.0f} s"


class _BudgetRetry(Retry):
    """urllib3 Retry that gives up once the time spent retrying would pass a budget,
    and says so (through `notify`) before each wait."""

    budget: float = 60.0
    deadline: float | None = None
    limits: dict[str, int] = {}
    notify: Callable[[str, str], None] | None = None
    origin: str = ""
    #: Told of each attempt whose outcome leaves the request possibly still running on the
    #: server: no answer after it was sent (a read timeout, a dropped connection), or a
    #: gateway's 502/504 (the gateway gave up; the backend may not have).
    on_unsure: Callable[[], None] | None = None

    def new(self, **kw: Any) -> _BudgetRetry:
        new = super().new(**kw)
        new.budget, new.deadline = self.budget, self.deadline
        new.limits, new.notify, new.origin = self.limits, self.notify, self.origin
        new.on_unsure = self.on_unsure
        return new

    def _notice(self, wait: float) -> None:
        if self.notify is None or not self.history:
            return
        last = self.history[-1]
        request = f"{last.method} {last.url}"
        if last.status is not None:
            kind, why = "status", f"{request}: the CRM answered {last.status}"
        elif isinstance(last.error, ConnectTimeoutError | NewConnectionError):
            # The same for every request in flight: said once, naming the server.
            kind, why = "connect", f"cannot reach the CRM at {self.origin} ({_reason(last.error)})"
        else:
            kind, why = (
                "read",
                f"{request}: no answer ({_reason(last.error) if last.error else 'unknown'})",
            )
        done = sum(
            1
            for h in self.history
            if (h.status is not None) == (kind == "status")
            and (kind != "connect" or isinstance(h.error, ConnectTimeoutError | NewConnectionError))
        )
        limit = self.limits.get(kind, self.limits.get("total", done))
        attempt = f"{why}; retrying ({done}/{limit})"
        self.notify(attempt, f"{attempt} {_when(wait)}...")

    def increment(
        self, method: str | None = None, url: str | None = None, *args: Any, **kwargs: Any
    ) -> _BudgetRetry:
        error = kwargs.get("error")
        response = kwargs.get("response")
        if self.on_unsure is not None and (
            isinstance(error, ReadTimeoutError | ProtocolError)
            or getattr(response, "status", None) in GATEWAY_TIMEOUTS
        ):
            self.on_unsure()
        if (
            isinstance(error, ReadTimeoutError | ProtocolError)
            and (method or "").upper() not in _IDEMPOTENT
        ):
            raise error  # the request may have been carried out: repeating it is not safe
        pool = kwargs.get("_pool")
        new = super().increment(method, url, *args, **kwargs)
        if pool is not None:
            new.origin = f"{pool.scheme}://{pool.host}:{pool.port}"
        new.deadline = (
            self.deadline if self.deadline is not None else time.monotonic() + self.budget
        )
        return new

    def sleep(self, response: Any = None) -> None:
        wait = None
        if response is not None and self.respect_retry_after_header:
            wait = self.get_retry_after(response)
        if wait is None:
            wait = self.get_backoff_time()
        if self.deadline is not None and time.monotonic() + wait > self.deadline:
            raise RetryBudgetExhausted(wait)
        self._notice(wait)
        super().sleep(response)


class RetryPolicy:
    """How persistent a client is: attempts, backoff, and the cap on total retry time."""

    def __init__(
        self,
        retries: int = 5,
        backoff: float = 0.5,
        backoff_max: float = 10.0,
        budget: float = 60.0,
        connect_retries: int = 2,
        notify: Callable[[str], None] | None = retry_notice,
    ) -> None:
        self.retries, self.backoff, self.backoff_max, self.budget = (
            retries,
            backoff,
            backoff_max,
            budget,
        )
        self.connect_retries = connect_retries
        self.notify = notify

    @classmethod
    def from_env(cls) -> RetryPolicy:
        """The default policy, tuned by $CRMCTL_HTTP_RETRIES and $CRMCTL_HTTP_RETRY_BUDGET (seconds)."""
        policy = cls()
        for variable, attribute, kind in (
            ("CRMCTL_HTTP_RETRIES", "retries", int),
            ("CRMCTL_HTTP_RETRY_BUDGET", "budget", float),
            ("CRMCTL_HTTP_CONNECT_RETRIES", "connect_retries", int),
        ):
            value = os.environ.get(variable)
            if value:
                try:
                    setattr(policy, attribute, kind(value))
                except ValueError:
                    raise CrmctlError(f"{variable}={value!r} is not a number") from None
        return policy

    def backoff_wait(self, attempt: int) -> float:
        """Seconds to wait before retry number `attempt` (0-based), for retries done by hand."""
        return min(self.backoff * 2**attempt, self.backoff_max)

    def urllib3_retry(
        self,
        notify: Callable[[str, str], None] | None = None,
        on_unsure: Callable[[], None] | None = None,
    ) -> Retry:
        """The urllib3 Retry for this policy; `notify(key, line)` is told of each retry
        (default: the policy's notify gets the line); `on_unsure()` of each attempt that
        may still be running on the server (`_BudgetRetry.on_unsure`)."""
        connect = min(self.connect_retries, self.retries)
        retry = _BudgetRetry(
            total=self.retries,
            connect=connect,
            read=self.retries,
            status=self.retries,
            other=0,
            allowed_methods=None,  # POST too for 429/5xx: the server did not carry those out
            status_forcelist=_RETRY_STATUSES,
            backoff_factor=self.backoff,
            backoff_max=self.backoff_max,
            backoff_jitter=self.backoff / 2,
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        retry.budget = self.budget
        retry.on_unsure = on_unsure
        retry.limits = {"total": self.retries, "connect": connect}
        retry.limits.update(read=self.retries, status=self.retries)
        policy_notify = self.notify
        retry.notify = notify or (
            (lambda key, line: policy_notify(line)) if policy_notify is not None else None
        )
        return retry


def _error_message(response: requests.Response) -> tuple[str, str | None]:
    """(message, code) from the CRM's error body, whatever its dialect."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return (text[:300] or response.reason or f"HTTP {response.status_code}"), None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):  # sandbox, Dataverse
        err = body["error"]
        return str(err.get("message") or err.get("code")), err.get("code")
    if isinstance(body, dict) and "error_description" in body:  # OAuth
        return str(body["error_description"]), body.get("error")
    if isinstance(body, list) and body and isinstance(body[0], dict):  # Salesforce REST
        return "; ".join(str(e.get("message")) for e in body), body[0].get("errorCode")
    if isinstance(body, dict) and "message" in body:  # HubSpot
        return str(body["message"]), body.get("category")
    return f"HTTP {response.status_code}", None


class HttpClient:
    """A base URL, credentials and a retrying session; turns failures into crmctl errors."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float | tuple[float, float] = (5.0, 30.0),
        retry: RetryPolicy | None = None,
        secrets: Iterable[str] = (),
        session: requests.Session | None = None,
        pool_size: int = 10,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.secrets = [s for s in (token, *secrets) if s]
        self.session = session or requests.Session()
        self.retry = retry or RetryPolicy.from_env()
        self._noticed: dict[str, float] = {}
        adapter = HTTPAdapter(
            max_retries=self.retry.urllib3_retry(self._notice, self._unsure),
            pool_connections=pool_size,
            pool_maxsize=pool_size,
        )
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = f"crmctl/{__version__}"
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        self.requests_made = 0  # for benchmarks and tests
        #: Requests that may still be running on the server although crmctl moved on: sent
        #: and never answered (then retried, or given up on), or cut off by a gateway
        #: (502/504). A caller that must know nothing of a write is in flight compares it.
        self.unsure = 0

    def _unsure(self) -> None:
        self.unsure += 1

    def _notice(self, key: str, line: str) -> None:
        """Pass a retry line on once: parallel requests failing alike share one line."""
        notify = self.retry.notify
        now = time.monotonic()
        if notify is None or now - self._noticed.get(key, -_NOTICE_WINDOW) < _NOTICE_WINDOW:
            return
        self._noticed[key] = now
        notify(self._safe(line))

    def url(self, path: str) -> str:
        return (
            path
            if path.startswith(("http://", "https://"))
            else f"{self.base_url}/{path.lstrip('/')}"
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        accept: tuple[int, ...] = (),
        idempotent: bool = False,
        **kwargs: Any,
    ) -> requests.Response:
        """Send a request; return the response of a 2xx (or of a status in `accept`), raise otherwise.

        `idempotent`: the request may be repeated when its answer is lost (a POST
        that only asks, or one the CRM de-duplicates); GET, PUT and DELETE always may.
        """
        url = self.url(path)
        kwargs.setdefault("timeout", self.timeout)
        try:
            response = self._send(method, url, idempotent, **kwargs)
        except requests.exceptions.ChunkedEncodingError:
            raise TransportError(
                f"{method} {self._safe(url)}: the connection dropped while the CRM was answering; "
                "the request may or may not have been carried out",
                hint="run crmctl plan to see the CRM's state now",
            ) from None
        except RetryBudgetExhausted as exc:
            raise RateLimitError(
                f"{method} {self._safe(url)}: the CRM kept refusing; gave up ({exc})",
                hint="try again later, or raise the retry budget",
            ) from None
        except requests.exceptions.Timeout:
            raise TransportError(
                f"{method} {self._safe(url)}: the CRM did not answer in time",
                hint="check the CRM's status, or raise the provider's timeout",
            ) from None
        except requests.exceptions.ConnectionError as exc:
            raise TransportError(
                f"{method} {self._safe(url)}: cannot reach the CRM ({self._safe(_reason(exc))})",
                hint="check the URL and that the server is running",
            ) from None
        except requests.exceptions.RequestException as exc:
            raise TransportError(f"{method} {self._safe(url)}: {self._safe(str(exc))}") from None
        log.debug("%s %s -> %s", method, self._safe(url), response.status_code)
        if response.status_code in GATEWAY_TIMEOUTS:
            self.unsure += 1  # the gateway gave up waiting; the CRM behind it may not have
        if response.status_code < 400 or response.status_code in accept:
            return response
        message, code = _error_message(response)
        text = f"{method} {self._safe(url)}: {response.status_code} {self._safe(message)}"
        if response.status_code in (401, 403):
            raise AuthError(text, hint="check the credentials and that the user may do this")
        if response.status_code == 429:
            raise RateLimitError(text, hint="the CRM's rate limit was hit; try again later")
        raise ProviderError(text) from None

    def _send(self, method: str, url: str, idempotent: bool, **kwargs: Any) -> requests.Response:
        """One request; an answer cut off mid-body is asked again when that is safe (idempotent)."""
        safe = idempotent or method.upper() in _IDEMPOTENT
        attempts = 1 + (self.retry.retries if safe else 0)
        for attempt in range(attempts):
            self.requests_made += 1
            try:
                return self.session.request(method, url, **kwargs)
            except requests.exceptions.ChunkedEncodingError:
                self.unsure += 1
                if attempt + 1 == attempts:
                    raise
                wait = self.retry.backoff_wait(attempt)
                path = "/" + url.split("://", 1)[-1].partition("/")[2]
                key = f"{method} {path}: the answer was cut off; retrying ({attempt + 1}/{attempts - 1})"
                self._notice(key, f"{key} {_when(wait)}...")
                time.sleep(wait)
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """`request` and decode a JSON body (None for an empty body)."""
        response = self.request(method, path, **kwargs)
        if not response.content:
            return None
        import orjson  # imported when first needed: off the --help / --version path

        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            pass  # not UTF-8 JSON (another charset, a NaN): the json module's more lenient reading
        try:
            return response.json()
        except ValueError:
            raise ProviderError(
                f"{method} {self._safe(self.url(path))}: the CRM answered with invalid JSON"
            ) from None

    def _safe(self, text: str) -> str:
        return redact(text, self.secrets)

    def close(self) -> None:
        self.session.close()


def _reason(exc: Exception) -> str:
    """The innermost cause of a connection error, without urllib3's object reprs."""
    text = str(exc)
    for marker in (
        "Connection refused",
        "Name or service not known",
        "Connection reset",
        "Connection aborted",
        "Remote end closed connection",
        "timed out",
        "IncompleteRead",
    ):
        if marker in text:
            return marker.lower()
    return text[:200]
