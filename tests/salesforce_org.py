"""A sandbox server speaking Salesforce, with a connected app, for the Salesforce tests.

org = next(salesforce_org(tmp_path))     # or: yield from it in a fixture
org.url                                  # instanceUrl and loginUrl
org.write_env(project, "sf")             # environments/sf.yaml (type salesforce)
org.token()                              # an access token from the JWT flow
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from crmctl.providers.salesforce.auth import Credentials, jwt_assertion
from crmctl.sandbox import RunningServer, SandboxStore, start_server
from crmctl.sandbox.salesforce import state

ADMIN = "admin@sandbox.local"
CLIENT_ID = "3MVG9crmctl.TEST.CONSUMER.KEY"
CLIENT_SECRET = "s3cr3t-consumer-secret-value"
#: Every governance lint rule off: the Salesforce tests are about the provider.
LINT_OFF = """lint:
  rules: {owner-required: off, pii-description: off, pii-retention: off,
          powerful-access-justified: off, validation-message: off, user-role: off,
          user-permission-sets: off, external-pii-access: off}
"""

ENV = """\
description: A Salesforce org (the sandbox's Salesforce API)
provider:
  type: salesforce
  instanceUrl: {url}
  loginUrl: {url}
  apiVersion: "61.0"
  auth:
{auth}
manifests: [{manifests}]
history:
  path: .crmctl/history-{name}
{lint}"""

JWT_AUTH = """    method: jwt
    clientIdEnv: CRMCTL_SF_CLIENT_ID
    username: {username}
    keyFileEnv: CRMCTL_SF_JWT_KEY"""

CLIENT_CREDENTIALS_AUTH = """    method: client_credentials
    clientIdEnv: CRMCTL_SF_CLIENT_ID
    clientSecretEnv: CRMCTL_SF_CLIENT_SECRET"""


@cache
def key_pair() -> tuple[str, str]:
    """(private key PEM, public key PEM): one RSA key for the whole test session."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@dataclass
class SalesforceOrg:
    """The server, its store, and what a client needs to log in."""

    server: RunningServer
    store: SandboxStore
    key_file: Path

    @property
    def url(self) -> str:
        return self.server.url

    def credentials(self, username: str = ADMIN) -> Credentials:
        return Credentials("jwt", self.url, CLIENT_ID, username=username, private_key=key_pair()[0])

    def token(self, username: str = ADMIN) -> str:
        """An access token from the JWT bearer flow."""
        response = requests.post(
            f"{self.url}/services/oauth2/token",
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": jwt_assertion(self.credentials(username)),
            },
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def env_variables(self) -> dict[str, str]:
        return {
            "CRMCTL_SF_CLIENT_ID": CLIENT_ID,
            "CRMCTL_SF_JWT_KEY": str(self.key_file),
            "CRMCTL_SF_CLIENT_SECRET": CLIENT_SECRET,
        }

    def write_env(
        self,
        project: Path,
        name: str = "sf",
        method: str = "jwt",
        username: str = ADMIN,
        manifests: str = "manifests",
        lint: str = LINT_OFF,
    ) -> Path:
        """environments/NAME.yaml of type salesforce pointing at this server."""
        auth = JWT_AUTH.format(username=username) if method == "jwt" else CLIENT_CREDENTIALS_AUTH
        path = project / "environments" / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            ENV.format(url=self.url, auth=auth, manifests=manifests, name=name, lint=lint)
        )
        return path


def salesforce_org(tmp_path: Path) -> Iterator[SalesforceOrg]:
    """A fresh sandbox with a connected app (JWT certificate and client credentials)."""
    store = SandboxStore.open(tmp_path / "salesforce.db")
    store.initialise(ADMIN)
    private, public = key_pair()
    key_file = tmp_path / "jwt-key.pem"
    key_file.write_text(private)
    os.chmod(key_file, 0o600)
    state.add_connected_app(
        store, "crmctl", CLIENT_ID, certificate=public, client_secret=CLIENT_SECRET, run_as=ADMIN
    )
    state.configure(store, asyncPolls=1)
    server = start_server(store)
    try:
        yield SalesforceOrg(server, store, key_file)
    finally:
        server.stop()
        store.close()
