"""Settling a Dataverse write whose answer was lost (the provider's `ResolvesWrites`).

Dataverse gives a write no id it remembers and cannot cancel a request, so
crmctl settles a write in two ways:

- **Checkable creates.** A new row (security role, business unit, user,
  duplicate rule…) gets its primary key from crmctl, derived from the write id
  and the row's name (uuid5): the Web API lets a client set a row's primary
  key on create ("Set the primary key value",
  https://learn.microsoft.com/power-apps/developer/data-platform/webapi/create-entity-web-api).
  The ids go to the journal (`note_ref`) before the request is sent, so
  `resolve_write` can ask for each by a GET, and the same create sent again
  answers "duplicate key" instead of making a second row. Tables, columns and
  choices are created by name, which Dataverse already refuses to repeat.
- **A fence in time.** Dataverse ends a message operation that runs longer than
  2 minutes, rolling it back
  (https://learn.microsoft.com/power-apps/developer/data-platform/analyze-performance),
  and cuts a synchronous HTTP call at about 4 minutes (docs/dynamics.md, Limits).
  Before its requests go out, a write journals until when it may send them
  (`until<epoch seconds>`); `resolve_write` waits until the longer of those
  cuts has passed since then, so no request of the write can still land after
  it returns. The environment file's `provider: inFlightCutSeconds` shortens
  the cut for an emulator that documents a shorter one: never for real Dataverse.
- **Nothing to wait for.** A write whose every request was answered (it ended
  well, or with an error the CRM sent back) journals `settled` once it is over:
  no request of it can still be running, so `resolve_write` does not wait. A
  request that got no answer (a dropped connection, a timeout), even one a
  retry then got an answer for, a gateway's 502/504, or an asynchronous
  operation crmctl stopped waiting for, leaves the write unsettled.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from crmctl.errors import EnvironmentFileError, ProviderError, TransportError
from crmctl.providers.dataverse.webapi import BatchAnswer, BatchPart, StillRunning, WebApi
from crmctl.providers.http import retry_notice

__all__ = [
    "TrackedApi",
    "Fence",
    "DEFAULT_CUT",
    "SETTLED",
    "cut_from_config",
    "landed",
    "wait_out",
]

#: Seconds after which no request sent to Dataverse can still be running (the ~4-minute cut).
DEFAULT_CUT = 240.0
#: Seconds of sending one journal line covers at most (fewer journal lines, a slightly longer wait).
_WINDOW = 30.0
_UNTIL = "until"
#: Noted once a write sends a request whose effect no GET by id can show (an update, a delete).
UNCHECKED = "unchecked"
#: Noted when a write is over and every request it sent was answered.
SETTLED = "settled"
_NAMESPACE = uuid.UUID("6f1c2a4e-3b7d-5e8f-9a0b-1c2d3e4f5a6b")
#: Entity sets whose rows crmctl creates, with their primary key column.
PRIMARY_KEYS: dict[str, str] = {
    "roles": "roleid",
    "businessunits": "businessunitid",
    "systemusers": "systemuserid",
    "fieldsecurityprofiles": "fieldsecurityprofileid",
    "retentionconfigs": "retentionconfigid",
}
_NAME_KEYS = ("name", "domainname", "uniquename", "attributelogicalname", "baseattributename")


def cut_from_config(config: dict[str, Any]) -> float:
    """The in-flight cut in seconds: `inFlightCutSeconds` (for emulators), else the platform's."""
    value = config.get("inFlightCutSeconds")
    if value is None:
        return DEFAULT_CUT
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise EnvironmentFileError(
            f"provider.inFlightCutSeconds must be a number of seconds, 0 or more (got {value!r})"
        )
    return float(value)


class Fence:
    """Journals, ahead of the requests, until when a write may send them."""

    def __init__(self, note_ref: Callable[[str], None] | None, window: float) -> None:
        self.note_ref = note_ref
        self.window = window
        self.until = -math.inf
        self.unchecked = False

    def before_unchecked(self) -> None:
        if self.note_ref is not None and not self.unchecked:
            self.unchecked = True
            self.note_ref(UNCHECKED)
        self.before_request()

    def before_request(self) -> None:
        if self.note_ref is None:
            return
        now = time.time()
        if now <= self.until:
            return
        self.until = float(math.ceil(now + self.window))
        self.note_ref(f"{_UNTIL}{int(self.until)}")


class TrackedApi(WebApi):
    """The Web API as one write sees it: creates get crmctl's ids, sends pass the fence."""

    def __init__(
        self, api: WebApi, write_id: str, note_ref: Callable[[str], None] | None, cut: float
    ) -> None:
        super().__init__(api.http, api.solution)
        self.write_id = write_id
        self.note_ref = note_ref
        self.fence = Fence(note_ref, min(_WINDOW, cut / 8))
        self._seen: dict[str, int] = {}
        #: A request of this write got no answer: it may still be running.
        self.unanswered = False
        self._unsure = api.http.unsure  # the client's count of requests that may still run

    def _answered(self, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except (TransportError, StillRunning):
            self.unanswered = True
            raise

    def wait_async(self, operation_id: str, what: str) -> None:
        self._answered(lambda: super(TrackedApi, self).wait_async(operation_id, what))

    def send(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        self.fence.before_unchecked()
        return self._answered(lambda: super(TrackedApi, self).send(method, path, body, **kw))

    def create(self, path: str, body: Any, *, solution: bool = True) -> str:
        key = PRIMARY_KEYS.get(path)
        if key and isinstance(body, dict) and not body.get(key):
            row_id = self.row_id(path, body)
            body = {**body, key: row_id}
            if self.note_ref is not None:
                self.note_ref(f"{path}{uuid.UUID(row_id).hex}")
            self.fence.before_request()
            sent = self._answered(
                lambda: super(TrackedApi, self).create(path, body, solution=solution)
            )
            return sent or row_id
        self.fence.before_unchecked()
        return self._answered(lambda: super(TrackedApi, self).create(path, body, solution=solution))

    def _batch(self, parts: list[BatchPart], atomic: bool) -> list[BatchAnswer]:
        self.fence.before_unchecked()
        return self._answered(lambda: super(TrackedApi, self)._batch(parts, atomic))

    def settled(self) -> None:
        """The write is over: journal that nothing of it can still be running, if so."""
        # A request retried after a timeout, or cut off by a gateway, may still run even
        # though a later attempt was answered (HttpClient.unsure).
        if self.note_ref is not None and not self.unanswered and self.http.unsure == self._unsure:
            self.note_ref(SETTLED)

    def row_id(self, path: str, body: dict[str, Any]) -> str:
        """The id of a new row: the same for the same write, table and name."""
        name = next((str(body[k]) for k in _NAME_KEYS if body.get(k)), "")
        what = f"{path}/{name}"
        n = self._seen.get(what, 0)
        self._seen[what] = n + 1
        return str(uuid.uuid5(_NAMESPACE, f"{self.write_id}/{what}/{n}"))


def parse_refs(refs: Sequence[str]) -> tuple[float | None, list[tuple[str, str]]]:
    """(the latest `until` journaled, [(entity set, row id)]) from a write's refs."""
    until: float | None = None
    rows: list[tuple[str, str]] = []
    for ref in refs:
        if ref.startswith(_UNTIL) and ref[len(_UNTIL) :].isdigit():
            value = float(ref[len(_UNTIL) :])
            until = value if until is None else max(until, value)
        elif len(ref) > 32 and ref[:-32] in PRIMARY_KEYS:
            try:
                rows.append((ref[:-32], str(uuid.UUID(hex=ref[-32:]))))
            except ValueError:
                continue
    return until, rows


def wait_out(write_id: str, until: float, cut: float) -> None:
    """Sleep until no request of the write, sent by `until`, can still be running."""
    deadline = until + cut
    remaining = deadline - time.time()
    if remaining <= 0:
        return
    retry_notice(
        f"write {write_id}: its answer never came, and Dataverse cannot cancel a request: "
        f"waiting {math.ceil(remaining)} s, until the platform's {cut:g}-second cut has passed "
        "since the write's last request, before reading what landed"
    )
    while remaining > 0:
        time.sleep(min(remaining, 5.0))
        remaining = deadline - time.time()


def landed(api: WebApi, rows: list[tuple[str, str]]) -> bool:
    """Whether any of the rows crmctl chose ids for exists."""
    for entity_set, row_id in rows:
        key = PRIMARY_KEYS[entity_set]
        answer = api.http.request(
            "GET",
            api._url(f"{entity_set}({row_id})", {"$select": key}),
            headers=api._headers(),
            accept=(404,),
        )
        if answer.status_code < 300:
            return True
        if answer.status_code != 404:
            raise ProviderError(f"GET {entity_set}({row_id}): {answer.status_code}")
    return False
