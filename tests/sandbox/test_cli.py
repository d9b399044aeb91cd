"""`crmctl sandbox init` and `crmctl sandbox serve`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from crmctl.sandbox import SandboxStore
from tests.sandbox.raw_http import request_head


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_init_prints_only_the_token_on_stdout(project: Path, crmctl) -> None:
    result = crmctl("sandbox", "init")
    assert result.exit_code == 0, result.output
    token = result.out.strip()
    assert result.out == token + "\n" and token.startswith("crmsbx_")
    db = project / ".crmctl" / "sandbox.db"
    assert result.err == (
        f"Created sandbox database {db} (built-in admin: admin@sandbox.local).\n"
        "Admin token below. It is shown only once; keep it somewhere safe and send it as\n"
        "'Authorization: Bearer <token>'.\n"
    )
    again = crmctl("sandbox", "init")
    assert again.err.startswith(f"Opened existing sandbox database {db}")
    store = SandboxStore.open(db)
    try:
        assert store.authenticate(token).is_admin
        assert store.authenticate(again.out.strip()).username == "admin@sandbox.local"
    finally:
        store.close()


def test_init_with_another_path_and_admin(tmp_path: Path, project: Path, crmctl) -> None:
    result = crmctl(
        "sandbox", "init", "--db", str(tmp_path / "x" / "s.db"), "--admin", "root@corp.example"
    )
    assert result.exit_code == 0
    store = SandboxStore.open(tmp_path / "x" / "s.db")
    try:
        assert store.authenticate(result.out.strip()).username == "root@corp.example"
    finally:
        store.close()


def test_serve_needs_an_existing_database(project: Path, crmctl) -> None:
    result = crmctl("sandbox", "serve", "--db", "missing.db")
    assert result.exit_code == 1
    assert result.err == (
        f"Error: no sandbox database at {project / 'missing.db'}\n"
        f"hint: create one with: crmctl sandbox init --db {project / 'missing.db'}\n"
    )


def test_serve_refuses_a_file_that_is_not_a_database(project: Path, crmctl) -> None:
    (project / "junk.db").write_bytes(b"not sqlite at all" * 64)
    result = crmctl("sandbox", "serve", "--db", "junk.db")
    assert result.exit_code == 1
    assert result.err.startswith(f"Error: cannot open the sandbox database {project / 'junk.db'}: ")
    assert "Traceback" not in result.output


def test_serve_refuses_a_remote_host_without_allow_remote(project: Path, crmctl) -> None:
    crmctl("sandbox", "init")
    result = crmctl("sandbox", "serve", "--host", "0.0.0.0")
    assert result.exit_code == 1
    assert result.err == (
        "Error: refusing to listen on 0.0.0.0: the sandbox is meant for this machine only\n"
        "hint: use --host 127.0.0.1, or add --allow-remote if you really want other machines in\n"
    )


def test_serve_on_a_port_in_use_is_a_clear_error(project: Path, crmctl) -> None:
    crmctl("sandbox", "init")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = crmctl("sandbox", "serve", "--port", str(port), "--quiet")
    assert result.exit_code == 1
    assert result.err == (
        f"Error: port {port} on 127.0.0.1 is already in use\n"
        "hint: choose another with --port, or stop the server using it\n"
    )


def test_serve_answers_over_http_and_stops_on_sigterm(project: Path, crmctl) -> None:
    token = crmctl("sandbox", "init").out.strip()
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "crmctl",
            "sandbox",
            "serve",
            "--port",
            str(port),
            "--unavailable",
            "1",
            "--max-body-mb",
            "1",
        ],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        url = f"http://127.0.0.1:{port}/api/v1"
        deadline = time.monotonic() + 15
        while True:
            try:
                first = requests.get(f"{url}/health", timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, process.stderr.read() if process.poll() else ""
                time.sleep(0.05)
        assert first.status_code == 503  # --unavailable 1
        whoami = requests.get(
            f"{url}/whoami", headers={"Authorization": f"Bearer {token}"}, timeout=5
        )
        assert whoami.json()["username"] == "admin@sandbox.local"
        headers = {"Authorization": f"Bearer {token}", "Content-Length": str(1024 * 1024 + 1)}
        too_large = request_head(port, "POST", "/api/v1/config/batch", headers)  # body unsent
        assert too_large.status == 413
        assert too_large.json()["error"]["message"] == (
            "request body too large: 1048577 bytes, at most 1048576"
        )
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    assert f"at http://127.0.0.1:{port}/api/v1 (Ctrl-C to stop)" in err
    assert "GET /api/v1/whoami HTTP/1.1" in err  # the request log


@pytest.mark.parametrize("command", ["init", "serve"])
def test_help_has_examples(crmctl, command: str) -> None:
    result = crmctl("sandbox", command, "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.out and f"crmctl sandbox {command}" in result.out
