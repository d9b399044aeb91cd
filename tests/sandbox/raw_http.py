"""HTTP over a bare socket, for what `requests` cannot do: send headers and hold the body back.

An answer that arrives while the body is still unsent proves the server
answered without reading it (so without holding it in memory). If the
server waited for the body instead, `recv` times out and the test fails.
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from typing import Any


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def read_response(sock: socket.socket) -> RawResponse:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"the connection closed before a full answer: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return RawResponse(int(status_line.split()[1]), headers, body[:length])


def request_head(
    port: int, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> RawResponse:
    """Send the request line, the headers and `body` (maybe less than Content-Length says)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        return read_response(sock)


def two_requests(port: int, first: bytes, second: bytes) -> tuple[RawResponse, RawResponse]:
    """Two whole requests, one after the other, on one kept-alive connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(first)
        one = read_response(sock)
        sock.sendall(second)
        return one, read_response(sock)
