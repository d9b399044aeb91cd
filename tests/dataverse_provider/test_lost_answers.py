"""A Dataverse write whose answer is lost: crmctl's ids, the journal's refs, the in-flight fence."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from crmctl.errors import EnvironmentFileError
from crmctl.plan.action import Action
from crmctl.plan.model import Change
from crmctl.providers.base import ResolvesWrites
from crmctl.providers.dataverse.provider import SUPPORTED_KINDS, DataverseProvider
from crmctl.providers.dataverse.resolve import SETTLED, TrackedApi, cut_from_config
from crmctl.providers.dataverse.webapi import BatchPart, WebApi
from crmctl.providers.http import HttpClient, RetryPolicy
from tests.dataverse_provider.org import (
    ID_VARIABLE,
    SECRET_VARIABLE,
    TENANT,
    DataverseOrg,
    dataverse_org,
)
from tests.e2e.helpers import manifest

REPO = Path(__file__).resolve().parents[2]
DESK = {
    "label": "Claims Desk",
    "description": "Claims",
    "objects": {"account": ["read"]},
    "depths": {"account": {"read": "Global"}},
}


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DataverseOrg]:
    for item in dataverse_org(tmp_path):
        for name, value in item.env_variables().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("CRMCTL_HTTP_RETRY_BUDGET", "10")
        yield item


def _provider(org: DataverseOrg, cut: float) -> DataverseProvider:
    config = {
        "type": "dataverse",
        "url": org.url,
        "tenantId": TENANT,
        "authority": org.url,
        "clientIdEnv": ID_VARIABLE,
        "clientSecretEnv": SECRET_VARIABLE,
        "solution": "crmctltests",
        "inFlightCutSeconds": cut,
    }
    provider = DataverseProvider.from_config(config, Path("."))
    provider.read(SUPPORTED_KINDS)  # signed in and read: the next write request is the create
    return provider


def _create(name: str = "Claims_Desk") -> Change:
    return Change("PermissionSet", name, Action.CREATE, None, DESK, [], None, "")


def _roles(org: DataverseOrg) -> list[dict[str, Any]]:
    return org.web("GET", "roles?$select=roleid,name&$filter=name eq 'Claims Desk'")["value"]


def test_a_create_whose_answer_is_lost_is_found_by_its_id(
    org: DataverseOrg, capsys: pytest.CaptureFixture[str]
) -> None:
    provider = _provider(org, cut=2)
    assert isinstance(provider, ResolvesWrites)
    refs: list[str] = []
    org.server.faults.configure({"dropConnection": {"count": 1, "writesOnly": True}})
    result = provider.apply_write([_create()], "a" * 32, refs.append)
    org.server.faults.clear()
    assert [f.address for f in result.failed] == ["PermissionSet/Claims_Desk"]
    # The role's id was crmctl's, journaled before the request went out.
    row_id = str(uuid.UUID(next(r for r in refs if r.startswith("roles"))[len("roles") :]))
    assert [r["roleid"] for r in _roles(org)] == [row_id]
    assert any(r.startswith("until") for r in refs)
    capsys.readouterr()
    assert provider.resolve_write("a" * 32, refs) is True
    err = capsys.readouterr().err
    assert (
        f"write {'a' * 32}: its answer never came, and Dataverse cannot cancel a request: waiting "
    ) in err
    assert (
        " s, until the platform's 2-second cut has passed since the write's last request, "
        "before reading what landed\n"
    ) in err
    # The same create sent again as the same write makes no second role.
    again = provider.apply_write([_create()], "a" * 32, None)
    assert len(again.failed) == 1 and "duplicate key" in again.failed[0].message.lower()
    assert [r["roleid"] for r in _roles(org)] == [row_id]


def test_a_create_refused_before_it_ran_did_not_land(org: DataverseOrg) -> None:
    provider = _provider(org, cut=0)
    refs: list[str] = []
    org.server.faults.configure({"failNthWrite": {"n": 1, "status": 500, "when": "before"}})
    result = provider.apply_write([_create()], "b" * 32, refs.append)
    org.server.faults.clear()
    assert result.failed
    assert _roles(org) == []
    assert provider.resolve_write("b" * 32, refs) is False
    assert provider.resolve_write("c" * 32, []) is False  # nothing of it was ever sent


def test_in_flight_cut_setting() -> None:
    assert cut_from_config({}) == 240.0
    assert cut_from_config({"inFlightCutSeconds": 3}) == 3.0
    with pytest.raises(EnvironmentFileError) as caught:
        cut_from_config({"inFlightCutSeconds": "soon"})
    assert str(caught.value) == (
        "provider.inFlightCutSeconds must be a number of seconds, 0 or more (got 'soon')"
    )


def test_recover_waits_out_a_create_in_flight_then_restores(
    project: Path, org: DataverseOrg
) -> None:
    """The process dies while the role's create is still on its way; recover fences it."""
    (project / "dv").mkdir()
    env_file = org.write_env(project, "dv")
    env_file.write_text(
        env_file.read_text().replace("  solution:", "  inFlightCutSeconds: 4\n  solution:")
    )
    desk = manifest(
        "PermissionSet",
        "Claims_Desk",
        label="Claims Desk",
        objects={"account": ["read"]},
        depths={"account": {"read": "Global"}},
    )
    (project / "dv" / "org.yaml").write_text(yaml.safe_dump_all([desk], sort_keys=False))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    journal = project / ".crmctl" / "history-dv" / ".state" / "journal" / "dv.json"
    org.server.faults.configure({"latencyMs": 1500})
    proc = subprocess.Popen(
        [sys.executable, "-m", "crmctl", "apply", "-e", "dv", "--auto-approve"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not (journal.exists() and '"remote": "roles' in journal.read_text()):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail(f"the apply never sent the create: {proc.communicate()}")
        time.sleep(0.02)
    time.sleep(0.3)  # the create is on its way: the emulator holds it for 1.5 s
    proc.kill()
    proc.communicate()
    org.server.faults.clear()
    text = journal.read_text()
    assert '"remote": "until' in text
    ref = text.split('"remote": "roles', 1)[1][:32]
    while not _roles(org):  # the create lands after the process that sent it died
        if time.monotonic() > deadline:
            pytest.fail("the create in flight never landed")
        time.sleep(0.05)
    assert [r["roleid"] for r in _roles(org)] == [str(uuid.UUID(hex=ref))]
    recovered = subprocess.run(
        [sys.executable, "-m", "crmctl", "recover", "-e", "dv"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert "Recorded as v1 of dv (interrupted, restored)." in recovered.stdout
    assert "its answer never came, and Dataverse cannot cancel a request: waiting " in (
        recovered.stderr
    )
    # recover found the create by its journaled id and undid it.
    assert _roles(org) == []


class _Slow(BaseHTTPRequestHandler):
    """A server whose first request runs on after the client gave up waiting for it
    (`slow`), or whose gateway gives up first (`504`: a 504 to the first request;
    `batch504`: a $batch answered, its one part with a 504)."""

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        server = self.server
        first = not server.seen  # type: ignore[attr-defined]
        server.seen.append(self.command)  # type: ignore[attr-defined]
        if first and server.mode == "slow":  # type: ignore[attr-defined]
            time.sleep(1.0)
        if server.mode == "batch504":  # type: ignore[attr-defined]
            body = (
                b"--b1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
                b"\r\nHTTP/1.1 504 Gateway Timeout\r\n\r\n\r\n--b1--\r\n"
            )
            self.send_response(200)
            self.send_header("Content-Type", "multipart/mixed; boundary=b1")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        status = 504 if first and server.mode == "504" else 204  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_PUT = do_POST = do_PATCH = do_DELETE = _answer


@contextlib.contextmanager
def _slow_server(mode: str) -> Iterator[ThreadingHTTPServer]:
    """A `_Slow` server in `mode`, serving on a thread; `server.seen` lists the methods asked."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    server.seen, server.mode = [], mode  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _tracked(server: ThreadingHTTPServer, **http: Any) -> tuple[TrackedApi, list[str]]:
    """One write's Web API against `server`, and the notes it journals."""
    client = HttpClient(f"http://127.0.0.1:{server.server_port}", **http)
    notes: list[str] = []
    return TrackedApi(WebApi(client), "w1", notes.append, 240.0), notes


@pytest.mark.parametrize(("mode", "method"), [("slow", "PUT"), ("slow", "DELETE"), ("504", "POST")])
def test_a_write_retried_after_a_lost_answer_is_never_settled(mode: str, method: str) -> None:
    """The retry was answered, but the first attempt may still be running: a restore must
    wait out the cut, so the write is not journaled `settled`."""
    with _slow_server(mode) as server:
        api, notes = _tracked(
            server, timeout=(2.0, 0.3), retry=RetryPolicy(backoff=0.01, notify=None)
        )
        api.send(method, "EntityDefinitions(LogicalName='account')/Attributes(1)", {"x": 1})
        api.settled()
        assert server.seen == [method, method]  # sent twice: the first answer never came in time
        assert SETTLED not in notes, notes


def test_a_batch_part_a_gateway_gave_up_on_is_never_settled() -> None:
    with _slow_server("batch504") as server:
        api, notes = _tracked(server, retry=RetryPolicy(notify=None))
        [answer] = api.batch([BatchPart("PATCH", "roles(1)", {"name": "x"})])
        api.settled()
        assert (server.seen, answer.status) == (["POST"], 504)
        assert SETTLED not in notes, notes


def test_a_write_whose_requests_were_all_answered_is_settled() -> None:
    with _slow_server("fast") as server:
        api, notes = _tracked(server, retry=RetryPolicy(notify=None))
        api.send("PUT", "EntityDefinitions(LogicalName='account')/Attributes(1)", {"x": 1})
        api.settled()
        assert server.seen == ["PUT"]
        assert SETTLED in notes
