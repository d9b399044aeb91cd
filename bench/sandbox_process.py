"""A sandbox server in its own process, for benchmarks (the measured client gets the GIL to itself)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests

__all__ = ["sandbox_server"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/api/v1/health", timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise SystemExit(f"the sandbox server at {url} did not start")


@contextlib.contextmanager
def sandbox_server(db: Path) -> Iterator[str]:
    """`crmctl sandbox serve --db DB` on a free port; yields its URL, stops it afterwards."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "crmctl",
        "sandbox",
        "serve",
        "--db",
        str(db),
        "--port",
        str(port),
        "--quiet",
    ]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(url)
        yield url
    finally:
        server.terminate()
        server.wait(10)
