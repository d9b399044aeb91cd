"""A key file named by `keyFileEnv` that is not a key file: refused before any request is made."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

FILE = "environments/sf.yaml"
SALESFORCE = """\
provider:
  type: salesforce
  instanceUrl: http://127.0.0.1:9
  auth:
    method: jwt
    clientIdEnv: CRMCTL_SF_CLIENT_ID
    username: deploy@northwind.example
    keyFileEnv: CRMCTL_SF_JWT_KEY
manifests: [manifests]
history: {path: .crmctl/sf-history}
"""


@pytest.fixture
def salesforce_env(hostile_project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (hostile_project / FILE).write_text(SALESFORCE)
    monkeypatch.setenv("CRMCTL_SF_CLIENT_ID", "consumer-key")
    return hostile_project


def _key_at(monkeypatch: pytest.MonkeyPatch, path: Path | str) -> None:
    monkeypatch.setenv("CRMCTL_SF_JWT_KEY", str(path))


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_a_device_as_the_key_file(salesforce_env, refuse, monkeypatch, device):
    _key_at(monkeypatch, device)
    outcome = refuse("plan", "-e", "sf", names=device)
    assert (
        f"refusing to read the private key file {device} (named by $CRMCTL_SF_JWT_KEY): "
        "it is a character device, not a regular file" in outcome.err
    )


def test_a_fifo_as_the_key_file(salesforce_env, refuse, monkeypatch):
    os.mkfifo(salesforce_env / "key.pem")
    _key_at(monkeypatch, salesforce_env / "key.pem")
    outcome = refuse("plan", "-e", "sf", names="key.pem")
    assert "it is a FIFO (named pipe), not a regular file" in outcome.err


def test_a_folder_as_the_key_file(salesforce_env, refuse, monkeypatch):
    _key_at(monkeypatch, salesforce_env / "manifests")
    assert "it is a folder, not a regular file" in refuse("plan", "-e", "sf", names="manifests").err


def test_a_huge_key_file(salesforce_env, refuse, monkeypatch):
    with open(salesforce_env / "key.pem", "wb") as out:
        out.truncate(10 * 1024 * 1024)
    _key_at(monkeypatch, salesforce_env / "key.pem")
    assert "it is 10.0 MB; the limit is 64 KB" in refuse("plan", "-e", "sf", names="key.pem").err


def test_a_binary_key_file(salesforce_env, refuse, monkeypatch):
    (salesforce_env / "key.pem").write_bytes(b"\xff\xfe\x00junk")
    _key_at(monkeypatch, salesforce_env / "key.pem")
    outcome = refuse("plan", "-e", "sf", names="$CRMCTL_SF_JWT_KEY")
    assert "the private key file named by $CRMCTL_SF_JWT_KEY is not a PEM text file" in outcome.err


def test_a_missing_key_file(salesforce_env, refuse, monkeypatch):
    _key_at(monkeypatch, salesforce_env / "nowhere.pem")
    outcome = refuse("plan", "-e", "sf", names="$CRMCTL_SF_JWT_KEY")
    assert (
        "cannot read the private key file named by $CRMCTL_SF_JWT_KEY: No such file" in outcome.err
    )
