"""The Dataverse Web API (`{url}/api/data/v9.2/`): OData requests, paging, `$batch`, actions.

Paging follows `@odata.nextLink` as given, with `Prefer: odata.maxpagesize`
(Dataverse has no `$skip`); metadata queries are not paged. `$batch` bodies
are multipart/mixed; a change set inside one is atomic (Dataverse saves all
of its requests or none). Every request goes through the shared HTTP client
(crmctl.providers.http): 429 is retried after its Retry-After, within the
retry budget. No request is held open past the platform's ~4-minute cut:
the read timeout is capped below it, and long operations are polled.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from crmctl.errors import ProviderError
from crmctl.providers.http import GATEWAY_TIMEOUTS, HttpClient

__all__ = ["WebApi", "BatchPart", "BatchAnswer", "API_PATH", "odata_error", "literal"]

API_PATH = "/api/data/v9.2/"
#: Rows per page (Dataverse's default and maximum is 5,000).
PAGE_SIZE = 5000
#: Requests per $batch (Dataverse accepts at most 1,000).
BATCH_LIMIT = 1000
#: The longest crmctl waits for an asynchronous operation, polling.
ASYNC_WAIT = 600.0
_HEADERS = {
    "OData-MaxVersion": "4.0",
    "OData-Version": "4.0",
    "Accept": "application/json",
    "If-None-Match": "null",
}


def literal(text: str) -> str:
    """An OData string literal: quotes doubled."""
    return "'" + text.replace("'", "''") + "'"


def odata_error(body: bytes | str) -> str:
    """The message of a Dataverse error body (`{"error": {"code", "message"}}`)."""
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        return text.strip()[:300] or "no details"
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or error.get("code") or "no details")
    return "no details"


@dataclass
class BatchPart:
    """One request inside a $batch."""

    method: str
    path: str  # relative to the API root, e.g. EntityDefinitions(LogicalName='x')
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class BatchAnswer:
    """One response inside a $batch answer."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body.strip() else None

    @property
    def ok(self) -> bool:
        return self.status < 400


class StillRunning(ProviderError):
    """An asynchronous operation crmctl stopped waiting for: it may still change the CRM."""


class WebApi:
    """One Dataverse environment's Web API over the shared HTTP client."""

    def __init__(self, http: HttpClient, solution: str | None = None) -> None:
        self.http = http
        self.solution = solution
        self.root = http.base_url + API_PATH

    def _headers(
        self, extra: dict[str, str] | None = None, solution: bool = False
    ) -> dict[str, str]:
        headers = dict(_HEADERS)
        if solution and self.solution:
            headers["MSCRM.SolutionUniqueName"] = self.solution
        headers.update(extra or {})
        return headers

    # --- reading ---------------------------------------------------------------------
    def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        return self.http.json("GET", self._url(path, params), headers=self._headers())

    def get_all(self, path: str, params: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Every row of a query, page by page (`@odata.nextLink`, never `$skip`)."""
        headers = self._headers(
            {"Prefer": f'odata.maxpagesize={PAGE_SIZE},odata.include-annotations="*"'}
        )
        url: str | None = self._url(path, params)
        rows: list[dict[str, Any]] = []
        while url:
            body = self.http.json("GET", url, headers=headers) or {}
            rows.extend(body.get("value", []))
            url = body.get("@odata.nextLink")
        return rows

    # --- writing ---------------------------------------------------------------------
    def send(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        solution: bool = False,
        merge_labels: bool = False,
        accept: tuple[int, ...] = (),
    ) -> Any:
        """A write (or an action); the decoded JSON answer, or None for 204."""
        extra = {"MSCRM.MergeLabels": "true"} if merge_labels else {}
        if body is not None:
            extra["Content-Type"] = "application/json"
        response = self.http.request(
            method,
            self._url(path),
            headers=self._headers(extra, solution),
            data=json.dumps(body) if body is not None else None,
            accept=accept,
        )
        if response.status_code >= 400:
            raise ProviderError(
                f"{method} {path}: {response.status_code} {odata_error(response.content)}"
            )
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return None

    def create(self, path: str, body: Any, *, solution: bool = True) -> str:
        """POST a new row or component; its id from the OData-EntityId header ("" if none)."""
        response = self.http.request(
            "POST",
            self._url(path),
            headers=self._headers({"Content-Type": "application/json"}, solution),
            data=json.dumps(body),
        )
        entity = response.headers.get("OData-EntityId", "")
        return entity.rpartition("(")[2].rstrip(")") if "(" in entity else ""

    def batch(self, parts: list[BatchPart], atomic: bool = False) -> list[BatchAnswer]:
        """Send `parts` as $batch requests (in groups of 1,000); one answer per part.

        With `atomic`, each group is one change set: Dataverse saves all of it or nothing,
        and a refused change set answers with the one error for the whole set.
        """
        answers: list[BatchAnswer] = []
        for start in range(0, len(parts), BATCH_LIMIT):
            group = parts[start : start + BATCH_LIMIT]
            answers.extend(self._batch(group, atomic))
        return answers

    def _batch(self, parts: list[BatchPart], atomic: bool) -> list[BatchAnswer]:
        boundary = f"batch_{uuid.uuid4().hex}"
        if atomic:
            changeset = f"changeset_{uuid.uuid4().hex}"
            inner = "".join(
                f"--{changeset}\r\n" + self._part(p, str(i + 1)) for i, p in enumerate(parts)
            )
            body = (
                f"--{boundary}\r\nContent-Type: multipart/mixed; boundary={changeset}\r\n\r\n"
                f"{inner}--{changeset}--\r\n--{boundary}--\r\n"
            )
        else:
            body = (
                "".join(f"--{boundary}\r\n" + self._part(p) for p in parts) + f"--{boundary}--\r\n"
            )
        response = self.http.request(
            "POST",
            self.root + "$batch",
            headers=self._headers({"Content-Type": f"multipart/mixed; boundary={boundary}"}),
            data=body.encode("utf-8"),
            idempotent=not atomic and all(p.method == "GET" for p in parts),
            accept=(400, 404, 409, 412, 500),
        )
        content_type = response.headers.get("Content-Type", "")
        if "multipart/mixed" not in content_type:
            raise ProviderError(
                f"POST {self.root}$batch: {response.status_code} {odata_error(response.content)}"
            )
        answers = parse_multipart(response.content, content_type)
        # A part a gateway inside gave up on may still run, as a whole request would.
        self.http.unsure += sum(a.status in GATEWAY_TIMEOUTS for a in answers)
        if atomic and len(answers) == 1 and not answers[0].ok and len(parts) > 1:
            return answers * len(parts)  # the change set failed as a whole
        if len(answers) != len(parts):
            raise ProviderError(
                f"POST {self.root}$batch: {len(parts)} requests sent, {len(answers)} answers"
            )
        return answers

    def _part(self, part: BatchPart, content_id: str | None = None) -> str:
        head = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
        if content_id:
            head += f"Content-ID: {content_id}\r\n"
        lines = [f"{part.method} {self.root}{part.path} HTTP/1.1", "Accept: application/json"]
        if part.method != "GET" and self.solution:
            lines.append(f"MSCRM.SolutionUniqueName: {self.solution}")
        lines.extend(f"{k}: {v}" for k, v in part.headers.items())
        payload = ""
        if part.body is not None:
            lines.append("Content-Type: application/json; type=entry")
            payload = json.dumps(part.body)
        return head + "\r\n" + "\r\n".join(lines) + "\r\n\r\n" + payload + "\r\n"

    # --- long operations -------------------------------------------------------------
    def wait_async(self, operation_id: str, what: str) -> None:
        """Poll an asynchronous operation until it ends (never one long request)."""
        deadline = time.monotonic() + ASYNC_WAIT
        delay = 0.2
        while True:
            row = self.get(
                f"asyncoperations({operation_id})",
                {"$select": "statecode,statuscode,message,friendlymessage"},
            )
            state = (row or {}).get("statecode")
            if state == 3:  # Completed: statuscode 30 Succeeded, 31 Failed, 32 Canceled
                status = row.get("statuscode")
                if status == 30:
                    return
                reason = row.get("friendlymessage") or row.get("message") or f"status {status}"
                raise ProviderError(f"{what}: the asynchronous operation ended: {reason}")
            if time.monotonic() > deadline:
                raise StillRunning(
                    f"{what}: still running after {ASYNC_WAIT:.0f} s (asynchronous operation "
                    f"{operation_id}); it was not cancelled",
                    hint="run crmctl plan later to see whether it finished",
                )
            time.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _url(self, path: str, params: dict[str, str] | None = None) -> str:
        url = path if path.startswith("http") else self.root + path
        if params:
            query = "&".join(
                f"{k}={quote(v, safe=chr(39) + '(),=/$*@.;:')}" for k, v in params.items()
            )
            url += ("&" if "?" in url else "?") + query
        return url


def parse_multipart(content: bytes, content_type: str) -> list[BatchAnswer]:
    """The HTTP responses inside a multipart/mixed $batch answer, nested change sets flattened."""
    boundary = _boundary(content_type)
    answers: list[BatchAnswer] = []
    for chunk in _split(content, boundary):
        head, _, rest = chunk.partition(b"\r\n\r\n")
        headers = _headers(head)
        kind = headers.get("content-type", "")
        if kind.startswith("multipart/mixed"):
            answers.extend(parse_multipart(rest, kind))
            continue
        status_head, _, body = rest.partition(b"\r\n\r\n")
        lines = status_head.split(b"\r\n")
        status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 500
        answers.append(BatchAnswer(status, _headers(b"\r\n".join(lines[1:])), body.rstrip(b"\r\n")))
    return answers


def _boundary(content_type: str) -> str:
    for piece in content_type.split(";"):
        key, _, value = piece.strip().partition("=")
        if key.lower() == "boundary":
            return value.strip('"')
    raise ProviderError(f"a $batch answer without a boundary ({content_type})")


def _split(content: bytes, boundary: str) -> Iterable[bytes]:
    marker = b"--" + boundary.encode()
    for piece in content.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n").split(marker)[1:]:
        if piece.startswith(b"--"):
            break
        yield piece.strip(b"\r\n") + b"\r\n"


def _headers(block: bytes) -> dict[str, str]:
    out = {}
    for line in block.decode("utf-8", "replace").split("\r\n"):
        key, sep, value = line.partition(":")
        if sep:
            out[key.strip().lower()] = value.strip()
    return out
