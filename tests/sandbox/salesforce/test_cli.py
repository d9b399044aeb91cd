"""`crmctl sandbox connected-app` and `crmctl sandbox api-limit`."""

from __future__ import annotations

from pathlib import Path

from crmctl.sandbox import SandboxStore
from crmctl.sandbox.salesforce import state
from tests.salesforce_org import key_pair


def test_connected_apps_are_added_and_listed_without_secrets(tmp_path: Path, crmctl) -> None:
    db = tmp_path / "s.db"
    SandboxStore.open(db).close()
    cert = tmp_path / "server.pem"
    cert.write_text(key_pair()[1])
    r = crmctl("sandbox", "connected-app", "add", "--db", str(db), "--name", "crmctl",
               "--client-id", "KEY1", "--cert", str(cert))  # fmt: skip
    assert (r.exit_code, r.out) == (0, "Connected app crmctl (KEY1) accepts: jwt.\n")
    r = crmctl("sandbox", "connected-app", "add", "--db", str(db), "--name", "ci", "--client-id",
               "KEY2", "--secret-env", "CI_SECRET", "--run-as", "admin@sandbox.local",
               env={"CI_SECRET": "very-secret-value"})  # fmt: skip
    assert r.exit_code == 0, r.output
    r = crmctl("sandbox", "connected-app", "list", "--db", str(db))
    assert r.out == "ci  KEY2  client_credentials, runs as admin@sandbox.local\ncrmctl  KEY1  jwt\n"
    assert "very-secret-value" not in db.read_bytes().decode("latin-1")


def test_a_connected_app_needs_a_usable_certificate(tmp_path: Path, crmctl) -> None:
    db = tmp_path / "s.db"
    SandboxStore.open(db).close()
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    r = crmctl("sandbox", "connected-app", "add", "--db", str(db), "--name", "x", "--client-id", "K",
               "--cert", str(bad))  # fmt: skip
    assert r.exit_code == 1 and "the certificate is not usable" in r.err


def test_api_limit_shows_and_sets(tmp_path: Path, crmctl) -> None:
    db = tmp_path / "s.db"
    SandboxStore.open(db).close()
    r = crmctl("sandbox", "api-limit", "--db", str(db))
    assert r.out == "api-usage=0/15000; sessions last 7200 s\n"
    r = crmctl("sandbox", "api-limit", "--db", str(db), "--max", "1000", "--used", "850",
               "--session-seconds", "60")  # fmt: skip
    assert r.out == "api-usage=850/1000; sessions last 60 s\n"
    store = SandboxStore.open(db)
    assert state.settings(store)["dailyApiLimit"] == 1000
    store.close()
