"""The sandbox's Dataverse emulator over https, with one application user, for crmctl runs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from crmctl.sandbox import SandboxStore, start_server
from crmctl.sandbox.dataverse import register_application_user
from crmctl.sandbox.server import RunningServer
from crmctl.sandbox.tls import ensure_certificates, server_context, tls_folder

CLIENT_ID = "5b0c9e1a-7f3d-4e2b-8c6a-1d9e8f7a6b5c"
CLIENT_SECRET = "dvex-emulator-secret"
TENANT = "northwind.onmicrosoft.com"
CLIENT_ID_ENV = "CRMCTL_DV_TEST_CLIENT_ID"
CLIENT_SECRET_ENV = "CRMCTL_DV_TEST_CLIENT_SECRET"


@dataclass
class Emulator:
    """A running emulator: its URL (also the sign-in authority) and the CA clients trust."""

    url: str
    ca: Path
    store: SandboxStore
    server: RunningServer

    def environment(self, manifests: str = "manifests") -> str:
        """An environment file's text for this emulator (no approvals needed)."""
        return (
            "provider:\n"
            "  type: dataverse\n"
            f"  url: {self.url}\n"
            f"  authority: {self.url}\n"
            f"  tenantId: {TENANT}\n"
            f"  clientIdEnv: {CLIENT_ID_ENV}\n"
            f"  clientSecretEnv: {CLIENT_SECRET_ENV}\n"
            f"manifests: [{manifests}]\n"
        )

    def _send(self, method: str, path: str, body: Any = None) -> requests.Response:
        """{method} {url}/api/data/v9.2/{path} with a token of its own, as any client would."""
        token = requests.post(
            f"{self.url}/{TENANT}/oauth2/v2.0/token",
            data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
                  "client_secret": CLIENT_SECRET, "scope": f"{self.url}/.default"},
            verify=str(self.ca), timeout=30,
        ).json()["access_token"]  # fmt: skip
        return requests.request(
            method,
            f"{self.url}/api/data/v9.2/{path}",
            json=body,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            verify=str(self.ca),
            timeout=60,
        )

    def get(self, path: str) -> Any:
        response = self._send("GET", path)
        assert response.status_code == 200, response.text
        return response.json()

    def rename_root_unit(self, name: str) -> None:
        """Name the environment's root business unit (a new environment names it after itself)."""
        units = self.get("businessunits?$select=businessunitid,_parentbusinessunitid_value")
        root = next(u for u in units["value"] if not u.get("_parentbusinessunitid_value"))
        response = self._send("PATCH", f"businessunits({root['businessunitid']})", {"name": name})
        assert response.status_code in (200, 204), response.text

    def names(self, entity_set: str) -> set[str]:
        return {str(r["name"]) for r in self.get(f"{entity_set}?$select=name")["value"]}

    def custom_tables(self) -> set[str]:
        rows = self.get("EntityDefinitions?$select=LogicalName,IsCustomEntity")["value"]
        return {r["LogicalName"] for r in rows if r.get("IsCustomEntity")}


@pytest.fixture
def emulator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """An empty Dataverse environment in a sandbox served over https; crmctl's credentials
    in the environment variables the environment file names."""
    db = tmp_path / "emulator.db"
    store = SandboxStore.open(db)
    register_application_user(store, CLIENT_ID, CLIENT_SECRET)
    files = ensure_certificates(tls_folder(db))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(files.ca))
    monkeypatch.setenv(CLIENT_ID_ENV, CLIENT_ID)
    monkeypatch.setenv(CLIENT_SECRET_ENV, CLIENT_SECRET)
    server = start_server(store, tls=server_context(files))
    try:
        yield Emulator(server.url, files.ca, store, server)
    finally:
        server.stop()
        store.close()
