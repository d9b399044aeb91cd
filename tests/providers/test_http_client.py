"""The shared HTTP client against a real scripted server on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from crmctl.errors import AuthError, ProviderError, RateLimitError, TransportError
from crmctl.providers.http import HttpClient, RetryPolicy, redact

TOKEN = "s3cr3t-token-value"


class Scripted(ThreadingHTTPServer):
    """Answers each request with the next scripted reply; records what it saw."""

    daemon_threads = True

    def __init__(self, replies):
        super().__init__(("127.0.0.1", 0), Handler)
        self.replies = list(replies)
        self.seen: list[tuple[str, str, str | None]] = []


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _reply(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.seen.append((self.command, self.path, self.headers.get("Authorization")))
        status, headers, body = (
            self.server.replies.pop(0) if self.server.replies else (200, {}, {"ok": True})
        )
        if status == "drop":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b'{"partial')
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        data = json.dumps(body).encode()
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _reply


@pytest.fixture
def server():
    servers = []

    def start(*replies):
        srv = Scripted(replies)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return srv, f"http://127.0.0.1:{srv.server_address[1]}"

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


FAST = RetryPolicy(retries=3, backoff=0.01, backoff_max=0.05, budget=5)


def test_retries_503_then_succeeds(server):
    srv, url = server(
        (503, {}, {"error": {"message": "busy"}}), (503, {}, {}), (200, {}, {"items": []})
    )
    client = HttpClient(url, token=TOKEN, retry=FAST)
    assert client.json("GET", "/api/v1/config/Role") == {"items": []}
    assert [s[0] for s in srv.seen] == ["GET", "GET", "GET"]
    assert srv.seen[0][2] == f"Bearer {TOKEN}"


def test_post_is_retried_on_429_honouring_retry_after(server):
    srv, url = server(
        (429, {"Retry-After": "1"}, {"error": {"message": "slow down"}}), (200, {}, {"results": []})
    )
    client = HttpClient(url, retry=FAST)
    started = time.monotonic()
    assert client.json("POST", "/api/v1/config/batch", json={"operations": []}) == {"results": []}
    assert time.monotonic() - started >= 0.95
    assert len(srv.seen) == 2


def test_persistent_429_becomes_a_rate_limit_error(server):
    srv, url = server(*[(429, {}, {"error": {"message": "slow down"}})] * 4)
    client = HttpClient(url, retry=FAST)
    with pytest.raises(RateLimitError) as info:
        client.json("GET", "/x")
    assert str(info.value) == f"GET {url}/x: 429 slow down"
    assert len(srv.seen) == 4  # the first try and three retries


def test_retry_after_beyond_the_budget_gives_up_at_once(server):
    srv, url = server((503, {"Retry-After": "120"}, {}))
    client = HttpClient(url, retry=RetryPolicy(retries=3, backoff=0.01, budget=1))
    with pytest.raises(RateLimitError, match="the CRM kept refusing; gave up") as info:
        client.json("GET", "/x")
    # it gave up before waiting: the refusal names the wait it would not make
    assert "next retry would wait 120.0s, past the retry time budget" in str(
        info.value.__cause__ or info.value
    )
    assert len(srv.seen) == 1


def test_unreachable_server_is_a_transport_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = HttpClient(f"http://127.0.0.1:{port}", retry=RetryPolicy(retries=1, backoff=0.01))
    with pytest.raises(TransportError) as info:
        client.json("GET", "/api/v1/health")
    assert (
        str(info.value)
        == f"GET http://127.0.0.1:{port}/api/v1/health: cannot reach the CRM (connection refused)"
    )
    assert info.value.hint == "check the URL and that the server is running"


def test_auth_failures_and_other_errors(server):
    srv, url = server(
        (401, {}, {"error": {"code": "UNAUTHORIZED", "message": "bad token"}}),
        (409, {}, [{"message": "in use", "errorCode": "X"}]),
    )
    client = HttpClient(url, retry=FAST)
    with pytest.raises(AuthError, match="401 bad token"):
        client.json("GET", "/a")
    with pytest.raises(ProviderError, match="409 in use"):
        client.json("DELETE", "/b")


def test_dropped_connection_is_retried_for_get_but_never_for_post(server):
    srv, url = server(("drop", {}, {}), (200, {}, {"ok": 1}))
    lines: list[str] = []
    policy = RetryPolicy(retries=3, backoff=0.01, backoff_max=0.05, notify=lines.append)
    client = HttpClient(url, retry=policy)
    assert client.json("GET", "/a") == {"ok": 1}
    assert len(srv.seen) == 2
    assert lines == ["GET /a: the answer was cut off; retrying (1/3) now..."]

    srv2, url2 = server(("drop", {}, {}), (200, {}, {"ok": 1}))
    client2 = HttpClient(url2, retry=FAST)
    with pytest.raises(TransportError) as info:
        client2.json("POST", "/batch", json={})
    assert str(info.value) == (
        f"POST {url2}/batch: the connection dropped while the CRM was answering; "
        "the request may or may not have been carried out"
    )
    assert len(srv2.seen) == 1


def test_secrets_never_appear_in_errors(server):
    srv, url = server((400, {}, {"error": {"message": f"token {TOKEN} is malformed"}}))
    client = HttpClient(url, token=TOKEN, retry=FAST)
    with pytest.raises(ProviderError) as info:
        client.json("GET", "/a")
    assert TOKEN not in str(info.value)
    assert str(info.value) == f"GET {url}/a: 400 token *** is malformed"
    assert redact(f"x {TOKEN} y", [TOKEN]) == "x *** y"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_each_retry_is_announced_once_with_its_count_and_wait(server):
    srv, url = server((503, {}, {}), (503, {}, {}), (200, {}, {"ok": 1}))
    lines: list[str] = []
    policy = RetryPolicy(retries=3, backoff=0.01, backoff_max=0.05, notify=lines.append)
    assert HttpClient(url, retry=policy).json("GET", "/a?token=x") == {"ok": 1}
    assert lines == [
        "GET /a?token=x: the CRM answered 503; retrying (1/3) now...",
        "GET /a?token=x: the CRM answered 503; retrying (2/3) now...",
    ]


def test_a_refused_connection_is_retried_twice_and_said_once_for_parallel_requests():
    port = _free_port()
    lines: list[str] = []
    policy = RetryPolicy(retries=5, backoff=0.01, backoff_max=0.05, notify=lines.append)
    client = HttpClient(f"http://127.0.0.1:{port}", token=TOKEN, retry=policy)
    errors = []

    def get(path: str) -> None:
        try:
            client.json("GET", path)
        except TransportError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=get, args=(f"/kind{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) == 4
    assert lines == [
        f"cannot reach the CRM at http://127.0.0.1:{port} (connection refused); retrying (1/2) now...",
        f"cannot reach the CRM at http://127.0.0.1:{port} (connection refused); retrying (2/2) now...",
    ]


def test_secrets_never_appear_in_retry_lines(server):
    srv, url = server((503, {}, {}), (200, {}, {}))
    lines: list[str] = []
    policy = RetryPolicy(retries=1, backoff=0.01, notify=lines.append)
    HttpClient(url, token=TOKEN, retry=policy).json("GET", f"/a?key={TOKEN}")
    assert lines == ["GET /a?key=***: the CRM answered 503; retrying (1/1) now..."]


def test_plan_with_a_token_and_no_server_says_it_is_retrying_then_fails(
    project, crmctl, monkeypatch
):
    port = _free_port()
    (project / "environments" / "nowhere.yaml").write_text(
        "provider:\n"
        "  type: sandbox\n"
        f"  url: http://127.0.0.1:{port}\n"
        "  tokenEnv: CRMCTL_NOWHERE_TOKEN\n"
        "manifests: [manifests]\n"
    )
    monkeypatch.setenv("CRMCTL_NOWHERE_TOKEN", TOKEN)
    result = crmctl("plan", "-e", "nowhere")
    assert (result.exit_code, result.out) == (1, "")
    lines = result.err.splitlines()
    assert lines[:2] == [
        f"cannot reach the CRM at http://127.0.0.1:{port} (connection refused); retrying (1/2) now...",
        f"cannot reach the CRM at http://127.0.0.1:{port} (connection refused); retrying (2/2) in 1 s...",
    ]
    assert lines[2].startswith(f"Error: GET http://127.0.0.1:{port}/api/v1/config/")
    assert lines[2].endswith(": cannot reach the CRM (connection refused)")
    assert lines[3:] == ["hint: check the URL and that the server is running"]
