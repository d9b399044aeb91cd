"""Fault injection: make the sandbox misbehave exactly and repeatably, for resilience tests.

Everything is counted, never random, so a test knows which request fails.
Settings (the body of `POST /api/v1/admin/faults`, which replaces them all)::

    {
      "latencyMs": 200,                      # added to every request until cleared
      "unavailable": {"count": 2, "retryAfter": 1},    # next 2 requests: 503 (+ Retry-After)
      "rateLimit": {"count": 3, "retryAfter": 2},      # next 3 requests: 429 + Retry-After
      "failNthWrite": {"n": 3, "status": 500, "repeat": false, "when": "before"},
      "dropConnection": {"count": 1, "writesOnly": false}   # next request: response cut off mid-body
    }

`count`-only objects may be written as a bare integer (`"rateLimit": 3`), and
`failNthWrite` as its `n`. `retryAfter` (seconds) defaults to 1 for
rateLimit and to none for unavailable.

How a request meets the faults, in this order (a request suffers at most one,
and counts only towards the first that applies):

1. `latencyMs` delays it (this alone never consumes anything).
2. `unavailable`: while its counter is above zero, answer 503 and count down.
3. `rateLimit`: likewise with 429 and a `Retry-After` header.
4. `failNthWrite`: write requests (POST, PUT, PATCH, DELETE; a batch is one)
   count down from `n`; the nth fails with `status` (default 500). `when`
   "before" fails it without doing anything; "after" carries the write out
   (committed) and then answers the error, as a server that crashes while
   replying would; "drop" carries it out and cuts the answer off, as
   `dropConnection` does. With `repeat`, every nth write fails; without, only one.
5. `dropConnection`: the request is carried out, then the status line and
   headers (with the full Content-Length) and half the body are sent and the
   connection is closed. A response without a body is cut before its status.
   With `writesOnly`, only write requests are cut (reads pass untouched):
   the way to test a write whose outcome the client cannot know.

The fault endpoints themselves (`/api/v1/admin/faults`) are never faulted.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from crmctl.sandbox.db import SandboxError

__all__ = ["FaultInjector", "FaultDecision", "WRITE_METHODS", "parse_settings"]

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_SETTINGS = ("latencyMs", "unavailable", "rateLimit", "failNthWrite", "dropConnection")
_NAMES = {
    "unavailable": "unavailable",
    "rate_limit": "rateLimit",
    "drop_connection": "dropConnection",
}


@dataclass
class FaultDecision:
    """What to do to one request."""

    latency_ms: int = 0
    status: int | None = None  # answer with this instead of handling the request
    code: str = ""
    message: str = ""
    retry_after: int | None = None
    fail_after: bool = False  # handle the request, then answer `status` instead
    drop: bool = False  # handle it, then cut the response off


def _bad(message: str) -> SandboxError:
    return SandboxError(f"fault settings: {message}", status=400, code="BAD_REQUEST")


def _integer(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _bad(f"{name} must be a whole number from {low} to {high} (got {value!r})")
    return value


def _object(value: Any, name: str, shorthand: str, allowed: set[str]) -> dict[str, Any]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = {shorthand: value}
    if not isinstance(value, dict):
        raise _bad(f"{name} must be an object or a whole number (got {value!r})")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise _bad(f"{name}: unknown key '{unknown[0]}' (allowed: {', '.join(sorted(allowed))})")
    return value


@dataclass
class _Counter:
    remaining: int
    retry_after: int | None
    writes_only: bool = False

    def state(self) -> dict[str, Any]:
        return {"remaining": self.remaining, "retryAfter": self.retry_after}


@dataclass
class _FailNthWrite:
    n: int
    status: int
    repeat: bool
    when: str
    until: int  # writes until the next failure, this one included

    def state(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "status": self.status,
            "repeat": self.repeat,
            "when": self.when,
            "writesUntilFailure": self.until,
        }


@dataclass
class _Settings:
    latency_ms: int = 0
    unavailable: _Counter | None = None
    rate_limit: _Counter | None = None
    fail_nth_write: _FailNthWrite | None = None
    drop_connection: _Counter | None = None
    injected: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_SETTINGS[1:], 0))


def _counter(value: Any, name: str, default_retry: int | None) -> _Counter | None:
    if value is None:
        return None
    spec = _object(value, name, "count", {"count", "retryAfter"})
    count = _integer(spec.get("count", 1), f"{name}.count", 0, 1_000_000)
    retry = spec.get("retryAfter", default_retry)
    if retry is not None:
        retry = _integer(retry, f"{name}.retryAfter", 0, 3600)
    return _Counter(count, retry) if count else None


def _drop_connection(value: Any) -> _Counter | None:
    if value is None:
        return None
    spec = _object(value, "dropConnection", "count", {"count", "retryAfter", "writesOnly"})
    count = _integer(spec.get("count", 1), "dropConnection.count", 0, 1_000_000)
    writes_only = spec.get("writesOnly", False)
    if not isinstance(writes_only, bool):
        raise _bad(f"dropConnection.writesOnly must be true or false (got {writes_only!r})")
    return _Counter(count, None, writes_only) if count else None


def _fail_nth_write(value: Any) -> _FailNthWrite | None:
    if value is None:
        return None
    spec = _object(value, "failNthWrite", "n", {"n", "status", "repeat", "when"})
    n = _integer(spec.get("n", 1), "failNthWrite.n", 1, 1_000_000)
    status = _integer(spec.get("status", 500), "failNthWrite.status", 400, 599)
    repeat = spec.get("repeat", False)
    when = spec.get("when", "before")
    if not isinstance(repeat, bool):
        raise _bad(f"failNthWrite.repeat must be true or false (got {repeat!r})")
    if when not in ("before", "after", "drop"):
        raise _bad(f"failNthWrite.when must be 'before', 'after' or 'drop' (got {when!r})")
    return _FailNthWrite(n, status, repeat, when, n)


def parse_settings(data: Any) -> _Settings:
    """Validated settings from their JSON form (400 BAD_REQUEST when invalid)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _bad("the body must be a JSON object")
    unknown = sorted(set(data) - set(_SETTINGS))
    if unknown:
        raise _bad(f"unknown setting '{unknown[0]}' (settings: {', '.join(_SETTINGS)})")
    return _Settings(
        latency_ms=_integer(data.get("latencyMs", 0), "latencyMs", 0, 60_000),
        unavailable=_counter(data.get("unavailable"), "unavailable", None),
        rate_limit=_counter(data.get("rateLimit"), "rateLimit", 1),
        fail_nth_write=_fail_nth_write(data.get("failNthWrite")),
        drop_connection=_drop_connection(data.get("dropConnection")),
    )


class FaultInjector:
    """The faults a server injects; thread-safe, every decision taken under one lock."""

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        self._lock = threading.Lock()
        self._settings = parse_settings(settings)

    def configure(self, settings: dict[str, Any] | None) -> dict[str, Any]:
        """Replace every setting (and reset the counters); the new state."""
        parsed = parse_settings(settings)
        with self._lock:
            self._settings = parsed
            return self._state()

    def clear(self) -> dict[str, Any]:
        """No faults any more."""
        return self.configure(None)

    def state(self) -> dict[str, Any]:
        """The settings with their remaining counters, and how many faults were injected."""
        with self._lock:
            return self._state()

    def _state(self) -> dict[str, Any]:
        s = self._settings
        return {
            "latencyMs": s.latency_ms,
            "unavailable": s.unavailable.state() if s.unavailable else None,
            "rateLimit": s.rate_limit.state() if s.rate_limit else None,
            "failNthWrite": s.fail_nth_write.state() if s.fail_nth_write else None,
            "dropConnection": (
                {
                    "remaining": s.drop_connection.remaining,
                    "writesOnly": s.drop_connection.writes_only,
                }
                if s.drop_connection
                else None
            ),
            "injected": dict(s.injected),
        }

    def decide(self, method: str) -> FaultDecision:
        """What happens to the next request, whose HTTP method is `method`."""
        with self._lock:
            s = self._settings
            decision = FaultDecision(latency_ms=s.latency_ms)
            if s.unavailable:
                retry = self._take(s, "unavailable")
                decision.status, decision.code, decision.retry_after = 503, "UNAVAILABLE", retry
                decision.message = "the sandbox is unavailable (injected fault)"
            elif s.rate_limit:
                retry = self._take(s, "rate_limit")
                decision.status, decision.code, decision.retry_after = 429, "RATE_LIMITED", retry
                decision.message = "too many requests (injected fault)"
            elif s.fail_nth_write and method.upper() in WRITE_METHODS:
                rule = self._count_write(s)
                if rule is not None and rule.when == "drop":
                    decision.drop = True
                elif rule is not None:
                    decision.status, decision.code = rule.status, "INJECTED_FAILURE"
                    decision.message = f"write request failed (injected fault, {rule.when})"
                    decision.fail_after = rule.when == "after"
            elif s.drop_connection and (
                not s.drop_connection.writes_only or method.upper() in WRITE_METHODS
            ):
                self._take(s, "drop_connection")
                decision.drop = True
            return decision

    @staticmethod
    def _take(s: _Settings, attr: str) -> int | None:
        """Count one use of a counter; its Retry-After."""
        counter: _Counter = getattr(s, attr)
        counter.remaining -= 1
        s.injected[_NAMES[attr]] += 1
        if counter.remaining <= 0:
            setattr(s, attr, None)
        return counter.retry_after

    @staticmethod
    def _count_write(s: _Settings) -> _FailNthWrite | None:
        """Count one write; the rule when this write is the one that fails."""
        rule = s.fail_nth_write
        assert rule is not None
        rule.until -= 1
        if rule.until > 0:
            return None
        s.injected["failNthWrite"] += 1
        if rule.repeat:
            rule.until = rule.n
        else:
            s.fail_nth_write = None
        return rule
