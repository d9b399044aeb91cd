"""`POST $batch`: multipart/mixed requests, change sets applied all or nothing.

Each part is an `application/http` request (`GET /api/data/v9.2/… HTTP/1.1`,
headers, body) or a `multipart/mixed` change set of write requests (no GET
inside one). A change set runs in a savepoint: when one of its requests fails
the whole set is rolled back and answered with that one error. Processing
stops at the first failure unless the batch sends `Prefer:
odata.continue-on-error`. `Content-ID: n` in a change set lets a later
request's URL or `@odata.bind` say `$n`. At most 1,000 requests; no nesting.
The answer is 200 with a `multipart/mixed` body (`batchresponse_…`,
`changesetresponse_…`), each part an HTTP response.
"""

from __future__ import annotations

import json
import re
import uuid
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from crmctl.sandbox.dataverse import api
from crmctl.sandbox.dataverse.api import PREFIX, Context, Response
from crmctl.sandbox.dataverse.odata import DataverseFault, bad
from crmctl.sandbox.server import Request

__all__ = ["run", "MAX_REQUESTS"]

MAX_REQUESTS = 1000
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.I)


class _Part:
    def __init__(self, headers: dict[str, str], body: bytes) -> None:
        self.headers = headers
        self.body = body


def _split(body: bytes, boundary: str) -> list[_Part]:
    marker = b"--" + boundary.encode()
    chunks = body.split(marker)
    if len(chunks) < 2:
        raise bad(f"The batch body has no part delimited by --{boundary}.")
    parts = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk.lstrip(b"\r\n") if chunk.startswith((b"\r\n", b"\n")) else chunk
        head, body_part = _head_body(chunk)
        parts.append(_Part(_headers(head), body_part))
    return parts


def _head_body(chunk: bytes) -> tuple[bytes, bytes]:
    for sep in (b"\r\n\r\n", b"\n\n"):
        if sep in chunk:
            head, _, rest = chunk.partition(sep)
            return head, rest
    return chunk, b""


def _headers(head: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in head.decode("utf-8", "replace").splitlines():
        name, sep, value = line.partition(":")
        if sep:
            out[name.strip().lower()] = value.strip()
    return out


class _Headers(dict[str, str]):
    """Case-insensitive headers of one request inside the batch."""

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)


def _request_of(part: _Part) -> tuple[str, str, _Headers, bytes]:
    line, _, rest = part.body.partition(b"\n")
    match = re.match(r"(\w+)\s+(\S+)(?:\s+HTTP/1\.[01])?", line.decode("utf-8", "replace").strip())
    if match is None:
        raise bad("Every batch part is an HTTP request line: METHOD URL HTTP/1.1.")
    if rest.startswith((b"\r\n", b"\n")):
        head, body = b"", rest
    else:
        head, body = _head_body(rest)
    return match.group(1).upper(), match.group(2), _Headers(_headers(head)), body.strip()


def _respond(status: int, body: Any, headers: dict[str, str], content_id: str | None) -> bytes:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id:
        lines.append(f"Content-ID: {content_id}")
    reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
    lines += ["", f"HTTP/1.1 {status} {reason}"]
    data = b""
    if body is not None and status != 204:
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {**headers, "Content-Type": "application/json; odata.metadata=minimal"}
    lines += [f"{k}: {v}" for k, v in headers.items()] + ["", ""]
    return "\r\n".join(lines).encode() + data + b"\r\n"


def _one(ctx: Context, outer: Request, method: str, url: str, headers: _Headers, raw: bytes,
         content_ids: dict[str, str]) -> Response:  # fmt: skip
    ref = re.match(r"^\$(\d+)(.*)$", url)
    if ref:
        if ref.group(1) not in content_ids:
            raise bad(f"Content-ID reference ${ref.group(1)} is not defined in this change set.")
        url = content_ids[ref.group(1)] + ref.group(2)
    parts = urlsplit(url)
    path = unquote(parts.path)
    if PREFIX in path:
        path = path[path.index(PREFIX) + len(PREFIX) :]
    for name in ("mscrm.solutionuniquename", "mscrm.mergelabels"):
        if name not in headers and outer.headers.get(name):
            headers[name] = str(outer.headers.get(name))
    sub = Context(ctx.conn, ctx.store, ctx.env_url, ctx.user_id, headers,
                  dict(parse_qsl(parts.query, keep_blank_values=True)), content_ids)  # fmt: skip
    if path.strip("/") == "$batch":
        raise bad("A batch cannot contain another batch.")
    return api.dispatch(sub, method, path, api.parse_body(raw))


def run(ctx: Context, request: Request) -> Response:
    if request.method != "POST":
        raise bad("$batch takes POST.", status=405)
    match = _BOUNDARY.search(request.headers.get("Content-Type") or "")
    if match is None or "multipart/mixed" not in (request.headers.get("Content-Type") or ""):
        raise bad("$batch takes Content-Type: multipart/mixed; boundary=batch_…")
    parts = _split(request.raw, match.group(1))
    continue_on_error = "odata.continue-on-error" in (request.headers.get("Prefer") or "")
    count = 0
    out_boundary = f"batchresponse_{uuid.uuid4()}"
    chunks: list[bytes] = []
    for part in parts:
        kind = part.headers.get("content-type", "")
        failed = False
        if kind.startswith("multipart/mixed"):
            inner = _BOUNDARY.search(kind)
            if inner is None:
                raise bad("A change set needs its own boundary.")
            requests = [
                _request_of(p) + (p.headers.get("content-id"),)
                for p in _split(part.body, inner.group(1))
            ]  # noqa: E501
            count += len(requests)
            if count > MAX_REQUESTS:
                raise bad(f"A batch holds at most {MAX_REQUESTS} requests.")
            answers: list[bytes] = []
            content_ids: dict[str, str] = {}
            try:
                with ctx.store.transaction():  # a savepoint of the request's transaction
                    for method, url, headers, raw, content_id in requests:
                        if method == "GET":
                            raise bad("A change set cannot contain a GET request.")
                        status, body, answer_headers = _one(
                            ctx, request, method, url, headers, raw, content_ids
                        )  # noqa: E501
                        if content_id and answer_headers.get("OData-EntityId"):
                            content_ids[content_id] = answer_headers["OData-EntityId"]
                        answers.append(_respond(status, body, answer_headers, content_id))
            except DataverseFault as fault:
                failed = True
                chunks.append(_respond(fault.status, fault.body(), {}, None))
            else:
                cs = f"changesetresponse_{uuid.uuid4()}"
                nested = (
                    b"".join(f"--{cs}\r\n".encode() + a for a in answers) + f"--{cs}--\r\n".encode()
                )  # noqa: E501
                chunks.append(
                    f"Content-Type: multipart/mixed; boundary={cs}\r\n\r\n".encode() + nested
                )  # noqa: E501
        else:
            count += 1
            if count > MAX_REQUESTS:
                raise bad(f"A batch holds at most {MAX_REQUESTS} requests.")
            method, url, headers, raw = _request_of(part)
            try:
                with ctx.store.transaction():
                    status, body, answer_headers = _one(ctx, request, method, url, headers, raw, {})
            except DataverseFault as fault:
                failed = True
                status, body, answer_headers = fault.status, fault.body(), {}
            chunks.append(_respond(status, body, answer_headers, None))
        if failed and not continue_on_error:
            break
    data = b"".join(f"--{out_boundary}\r\n".encode() + c for c in chunks)
    data += f"--{out_boundary}--\r\n".encode()
    return 200, data, {"Content-Type": f"multipart/mixed; boundary={out_boundary}"}
