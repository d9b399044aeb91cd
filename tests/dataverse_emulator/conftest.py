"""A sandbox server over https with one registered application user, for the Dataverse emulator."""

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

CLIENT_ID = "0f4e6a3c-5d8b-4c1e-9a2f-7b6d5c4e3a21"
CLIENT_SECRET = "emulator-secret-value"
TENANT = "contoso.onmicrosoft.com"
API = "/api/data/v9.2"


@dataclass
class Env:
    url: str
    ca: Path
    store: SandboxStore
    server: RunningServer
    session: requests.Session

    @property
    def api(self) -> str:
        return f"{self.url}{API}"

    def token(self, client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> str:
        response = requests.post(
            f"{self.url}/{TENANT}/oauth2/v2.0/token",
            data={"grant_type": "client_credentials", "client_id": client_id,
                  "client_secret": secret, "scope": f"{self.url}/.default"},
            verify=str(self.ca), timeout=30,
        )  # fmt: skip
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(f"{self.api}/{path}", timeout=30, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.session.post(f"{self.api}/{path}", json=body, timeout=30, **kwargs)

    def put(self, path: str, body: Any, **kwargs: Any) -> requests.Response:
        return self.session.put(f"{self.api}/{path}", json=body, timeout=30, **kwargs)

    def patch(self, path: str, body: Any, **kwargs: Any) -> requests.Response:
        return self.session.patch(f"{self.api}/{path}", json=body, timeout=30, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.delete(f"{self.api}/{path}", timeout=30, **kwargs)


def label(text: str, code: int = 1033) -> dict[str, Any]:
    return {"LocalizedLabels": [{"Label": text, "LanguageCode": code}]}


def table_body(schema: str, primary: str = "nw_Name") -> dict[str, Any]:
    return {
        "@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata",
        "SchemaName": schema,
        "DisplayName": label(schema.split("_")[-1]),
        "DisplayCollectionName": label(schema.split("_")[-1] + "s"),
        "Description": label("A test table"),
        "OwnershipType": "UserOwned",
        "IsActivity": False,
        "HasActivities": False,
        "HasNotes": False,
        "Attributes": [{
            "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
            "SchemaName": primary, "IsPrimaryName": True, "MaxLength": 100,
            "FormatName": {"Value": "Text"}, "DisplayName": label("Name"),
            "RequiredLevel": {"Value": "None"}}],
    }  # fmt: skip


@pytest.fixture
def dv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    store = SandboxStore.open(tmp_path / "dv.db")
    register_application_user(store, CLIENT_ID, CLIENT_SECRET)
    files = ensure_certificates(tls_folder(tmp_path / "dv.db"))
    # Clients trust the sandbox's CA the way users make them: REQUESTS_CA_BUNDLE.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(files.ca))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(files.ca))
    server = start_server(store, tls=server_context(files))
    session = requests.Session()
    session.verify = str(files.ca)
    env = Env(server.url, files.ca, store, server, session)
    session.headers.update({"Authorization": f"Bearer {env.token()}", "Accept": "application/json",
                            "OData-MaxVersion": "4.0", "OData-Version": "4.0"})  # fmt: skip
    try:
        yield env
    finally:
        session.close()
        server.stop()
        store.close()
