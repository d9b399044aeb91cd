"""The sandbox over https: a local CA, a server certificate it signs, clients that verify it."""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from crmctl.sandbox import SandboxStore, start_server
from crmctl.sandbox.salesforce import state
from crmctl.sandbox.salesforce.ids import ORG_ID, sf_id
from crmctl.sandbox.tls import ensure_certificates, server_context, tls_folder
from tests.salesforce_org import ADMIN, CLIENT_ID, CLIENT_SECRET, key_pair

simple_salesforce = pytest.importorskip("simple_salesforce")


@pytest.fixture
def https_org(tmp_path: Path) -> Iterator[tuple[str, Path, SandboxStore]]:
    store = SandboxStore.open(tmp_path / "sf.db")
    store.initialise(ADMIN)
    state.add_connected_app(store, "crmctl", CLIENT_ID, certificate=key_pair()[1],
                            client_secret=CLIENT_SECRET, run_as=ADMIN)  # fmt: skip
    files = ensure_certificates(tls_folder(tmp_path / "sf.db"))
    server = start_server(store, tls=server_context(files))
    try:
        yield server.url, files.ca, store
    finally:
        server.stop()
        store.close()


def _token(url: str, ca: Path) -> dict:
    response = requests.post(
        f"{url}/services/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
              "client_secret": CLIENT_SECRET},
        verify=str(ca),
        timeout=30,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    return response.json()


def test_https_verifies_against_the_ca_file(https_org, capfd, caplog) -> None:
    caplog.set_level(logging.INFO, logger="crmctl.sandbox")
    url, ca, _ = https_org
    assert url.startswith("https://127.0.0.1:")
    versions = requests.get(f"{url}/services/data", verify=str(ca), timeout=30)
    assert versions.status_code == 200 and versions.json()[-1]["version"] == "62.0"
    body = _token(url, ca)
    # the token response names https URLs, as the client reached the server
    assert body["instance_url"] == url
    assert body["id"] == f"{url}/id/{ORG_ID}/{sf_id('User', ADMIN)}"
    with pytest.raises(requests.exceptions.SSLError):  # not trusted without the CA file
        requests.get(f"{url}/services/data", timeout=30)
    # the server notes the failed handshake in one line, not a traceback
    deadline, err = time.monotonic() + 30, ""
    while not any("TLS handshake failed" in r.getMessage() for r in caplog.records):
        err += capfd.readouterr().err
        assert "Traceback" not in err
        assert time.monotonic() < deadline, "the server logged nothing about the handshake"
        time.sleep(0.05)
    with pytest.raises(requests.ConnectionError):  # plain http is not served on that port
        requests.get(url.replace("https://", "http://") + "/services/data", timeout=30)


def test_the_certificates_are_reused_while_they_fit(tmp_path: Path) -> None:
    folder = tmp_path / "tls"
    first = ensure_certificates(folder)
    ca, key = first.ca.read_bytes(), first.key.read_bytes()
    assert ensure_certificates(folder).ca.read_bytes() == ca
    assert oct(first.key.stat().st_mode & 0o777) == "0o600"
    assert oct(first.ca_key.stat().st_mode & 0o777) == "0o600"
    other = ensure_certificates(folder, "crm.example.test")  # another host: made anew
    assert other.ca.read_bytes() != ca and other.key.read_bytes() != key


def test_simple_salesforce_speaks_https_to_the_sandbox(https_org, monkeypatch) -> None:
    url, ca, store = https_org
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))  # as `sandbox serve --tls` suggests
    sf = simple_salesforce.Salesforce(
        instance_url=url, session_id=_token(url, ca)["access_token"], version="61.0"
    )
    rows = sf.query("SELECT Id, Name FROM Organization")["records"]
    assert [(r["Id"], r["Name"]) for r in rows] == [(ORG_ID, "crmctl sandbox")]
    names = {o["name"] for o in sf.describe()["sobjects"]}
    assert {"Account", "User", "Organization"} <= names
    assert sf.User.describe()["keyPrefix"] == "005"
    assert sf.limits()["DailyApiRequests"]["Max"] == 15000
    # its Metadata API client posts to /services/Soap/m/61.0/ (a trailing slash)
    store.put_config("CustomObject", "Ticket__c", {"label": "Ticket"}, "tests")
    listed = {r.fullName: r.id for r in sf.mdapi.list_metadata([{"type": "CustomObject"}])}
    assert listed["Ticket__c"].startswith("01I") and len(listed["Ticket__c"]) == 18


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_tls_prints_where_the_ca_file_is(project: Path, crmctl) -> None:
    assert crmctl("sandbox", "init").exit_code == 0
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "crmctl", "sandbox", "serve", "--tls", "--quiet",
         "--port", str(port)],
        cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    try:
        ca = project / ".crmctl" / "sandbox.db.tls" / "ca.pem"
        deadline = time.monotonic() + 30
        while True:
            try:
                health = requests.get(
                    f"https://127.0.0.1:{port}/api/v1/health", verify=str(ca), timeout=2
                )
                break
            except (requests.ConnectionError, OSError):
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert health.json() == {"status": "ok"}
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    assert f"at https://127.0.0.1:{port}/api/v1 (Ctrl-C to stop)" in err
    assert f"TLS: clients trust the CA certificate {ca}\n" in err
    assert re.search(rf"REQUESTS_CA_BUNDLE={re.escape(str(ca))} ", err)
