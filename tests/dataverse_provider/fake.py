"""A fake transport for unit tests of the Dataverse provider's requests (no server).

Integration tests run against the sandbox's emulator; these check what the
provider *sends* (headers, paths, bodies, $batch framing) for cases where the
exact request is the point. Handlers: (method, path regex) -> (status, headers, body).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import requests
from requests.adapters import BaseAdapter

from crmctl.providers.dataverse.provider import DataverseProvider
from crmctl.providers.dataverse.webapi import API_PATH, WebApi
from crmctl.providers.http import HttpClient, RetryPolicy

BASE = "https://dv.test"
Answer = tuple[int, dict[str, str], Any]
Handler = Callable[[requests.PreparedRequest, re.Match[str]], Answer]


@dataclass
class Sent:
    method: str
    path: str  # after /api/data/v9.2/, unquoted
    headers: dict[str, str]
    body: Any


@dataclass
class FakeWebApi(BaseAdapter):
    routes: list[tuple[str, re.Pattern[str], Handler | Answer]] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    def on(self, method: str, pattern: str, answer: Handler | Answer) -> None:
        self.routes.insert(0, (method, re.compile(pattern), answer))

    def answer(self, method: str, path: str, headers: dict[str, str], body: Any) -> Answer:
        for route_method, pattern, answer in self.routes:
            found = pattern.fullmatch(path)
            if route_method == method and found:
                return answer(body, found) if callable(answer) else answer  # type: ignore[arg-type]
        return 404, {}, {"error": {"code": "0x0", "message": f"no route for {method} {path}"}}

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        path = unquote(str(request.url)).split(API_PATH, 1)[-1]
        raw = request.body.decode() if isinstance(request.body, bytes) else request.body
        method = str(request.method)
        if path == "$batch":
            return self._batch(request, raw or "")
        body = json.loads(raw) if raw else None
        self.sent.append(Sent(method, path, dict(request.headers), body))
        return _response(request, *self.answer(method, path, dict(request.headers), body))

    def _batch(self, request: requests.PreparedRequest, raw: str) -> requests.Response:
        parts = []
        for match in re.finditer(
            r"(GET|POST|PUT|PATCH|DELETE) (\S+) HTTP/1\.1\r\n(.*?)\r\n\r\n(.*?)\r\n(?=--)",
            raw,
            re.S,
        ):
            method, url, head, body = match.groups()
            path = unquote(url).split(API_PATH, 1)[-1]
            headers = dict(line.split(": ", 1) for line in head.split("\r\n") if ": " in line)
            data = json.loads(body) if body.strip() else None
            self.sent.append(Sent(method, path, headers, data))
            parts.append(self.answer(method, path, headers, data))
        self.sent.append(Sent("POST", "$batch", dict(request.headers), raw))
        text = ""
        for status, headers, body in parts:
            payload = json.dumps(body) if body is not None else ""
            head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            text += (
                "--batchresponse_x\r\nContent-Type: application/http\r\n"
                "Content-Transfer-Encoding: binary\r\n\r\n"
                f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{head}\r\n{payload}\r\n"
            )
        text += "--batchresponse_x--\r\n"
        return _response(
            request, 200, {"Content-Type": "multipart/mixed; boundary=batchresponse_x"}, text
        )

    def close(self) -> None:
        pass

    def of(self, method: str, prefix: str = "") -> list[Sent]:
        return [s for s in self.sent if s.method == method and s.path.startswith(prefix)]


def _response(
    request: requests.PreparedRequest, status: int, headers: dict[str, str], body: Any
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers)
    if isinstance(body, str):
        response._content = body.encode()
    else:
        response._content = json.dumps(body).encode() if body is not None else b""
        if body is not None:
            response.headers.setdefault("Content-Type", "application/json")
    response.request = request
    response.url = str(request.url)
    return response


def fake_provider(solution: str | None = "crmctltests") -> tuple[DataverseProvider, FakeWebApi]:
    fake = FakeWebApi()
    http = HttpClient(BASE, retry=RetryPolicy(retries=0, notify=None))
    http.session.mount(BASE, fake)
    return DataverseProvider(WebApi(http, solution)), fake
