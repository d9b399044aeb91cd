"""A tiny recording Web API server on 127.0.0.1, for tests of exactly what the provider sends.

Integration tests run against the sandbox's emulator; these check what the
provider *sends* (headers, paths, bodies, $batch framing) for cases where the
exact request is the point. The provider speaks real HTTP to this server (a
threaded `http.server`); the server answers from a handler table,
(method, path regex) -> (status, headers, body), and records every request,
each part of a `$batch` as its own entry followed by the `$batch` itself.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from crmctl.providers.dataverse.provider import DataverseProvider
from crmctl.providers.dataverse.webapi import API_PATH, WebApi
from crmctl.providers.http import HttpClient, RetryPolicy

Answer = tuple[int, dict[str, str], Any]
Handler = Callable[[Any, re.Match[str]], Answer]

#: Servers started by `fake_provider`, stopped after each test (tests/dataverse_provider/conftest.py).
RUNNING: list[FakeWebApi] = []


@dataclass
class Sent:
    method: str
    path: str  # after /api/data/v9.2/, unquoted
    headers: dict[str, str]
    body: Any


@dataclass
class FakeWebApi:
    routes: list[tuple[str, re.Pattern[str], Handler | Answer]] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    clients: list[Callable[[], None]] = field(default_factory=list)

    @property
    def base(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeWebApi:
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                status, headers, body = fake.receive(
                    self.command, self.path, dict(self.headers.items()), raw
                )
                payload = body.encode() if isinstance(body, str) else b""
                if body is not None and not isinstance(body, str):
                    payload = json.dumps(body).encode()
                    headers = {"Content-Type": "application/json", **headers}
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # quiet

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Close the clients' connections, then the server."""
        while self.clients:
            self.clients.pop()()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def on(self, method: str, pattern: str, answer: Handler | Answer) -> None:
        self.routes.insert(0, (method, re.compile(pattern), answer))

    def answer(self, method: str, path: str, headers: dict[str, str], body: Any) -> Answer:
        for route_method, pattern, answer in self.routes:
            found = pattern.fullmatch(path)
            if route_method == method and found:
                return answer(body, found) if callable(answer) else answer
        return 404, {}, {"error": {"code": "0x0", "message": f"no route for {method} {path}"}}

    def receive(self, method: str, target: str, headers: dict[str, str], raw: str) -> Answer:
        path = unquote(target).split(API_PATH, 1)[-1]
        with self.lock:  # one request at a time, recorded in the order they arrive
            if path == "$batch":
                return self._batch(headers, raw)
            body = json.loads(raw) if raw else None
            self.sent.append(Sent(method, path, headers, body))
            return self.answer(method, path, headers, body)

    def _batch(self, headers: dict[str, str], raw: str) -> Answer:
        parts = []
        for match in re.finditer(
            r"(GET|POST|PUT|PATCH|DELETE) (\S+) HTTP/1\.1\r\n(.*?)\r\n\r\n(.*?)\r\n(?=--)",
            raw,
            re.S,
        ):
            method, url, head, body = match.groups()
            path = unquote(url).split(API_PATH, 1)[-1]
            part_headers = dict(line.split(": ", 1) for line in head.split("\r\n") if ": " in line)
            data = json.loads(body) if body.strip() else None
            self.sent.append(Sent(method, path, part_headers, data))
            parts.append(self.answer(method, path, part_headers, data))
        self.sent.append(Sent("POST", "$batch", headers, raw))
        text = ""
        for status, part_headers, body in parts:
            payload = json.dumps(body) if body is not None else ""
            head = "".join(f"{k}: {v}\r\n" for k, v in part_headers.items())
            text += (
                "--batchresponse_x\r\nContent-Type: application/http\r\n"
                "Content-Transfer-Encoding: binary\r\n\r\n"
                f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{head}\r\n{payload}\r\n"
            )
        text += "--batchresponse_x--\r\n"
        return 200, {"Content-Type": "multipart/mixed; boundary=batchresponse_x"}, text

    def of(self, method: str, prefix: str = "") -> list[Sent]:
        return [s for s in self.sent if s.method == method and s.path.startswith(prefix)]


def fake_provider(solution: str | None = "crmctltests") -> tuple[DataverseProvider, FakeWebApi]:
    """A provider speaking HTTP to a new recording server (stopped after the test)."""
    fake = FakeWebApi().start()
    http = HttpClient(fake.base, retry=RetryPolicy(retries=0, notify=None))
    provider = DataverseProvider(WebApi(http, solution))
    fake.clients.append(provider.close)
    RUNNING.append(fake)
    return provider, fake
