"""A Dataverse environment for the provider's tests: the sandbox's emulator over https.

org = next(dataverse_org(tmp_path))   # or: yield from it in a fixture
org.url                               # the environment URL (https://127.0.0.1:PORT)
org.write_env(project, "dv")          # environments/dv.yaml (type dataverse)
org.web("GET", "roles")               # a raw Web API request, as another client would send it

The checks here speak the Web API as its documentation describes it, with
plain requests: they share no code with the provider.
"""

from __future__ import annotations

import ssl
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
import yaml

from crmctl.sandbox import RunningServer, SandboxStore, start_server
from crmctl.sandbox.tls import ensure_certificates, server_context

TENANT = "contoso.onmicrosoft.com"
SECRET_VARIABLE = "CRMCTL_DV_CLIENT_SECRET"
ID_VARIABLE = "CRMCTL_DV_CLIENT_ID"
LINT_OFF = """lint:
  rules: {owner-required: off, pii-description: off, pii-retention: off,
          powerful-access-justified: off, validation-message: off, user-role: off,
          user-permission-sets: off, external-pii-access: off}
"""
# The provider block of every environment file here (str.format: url, tenant).
PROVIDER = """\
provider:
  type: dataverse
  url: {url}
  tenantId: {tenant}
  authority: {url}
  clientIdEnv: CRMCTL_DV_CLIENT_ID
  clientSecretEnv: CRMCTL_DV_CLIENT_SECRET
  solution: crmctltests
"""
ENV = (
    "description: A Dataverse environment (the sandbox's emulator)\n"
    + PROVIDER
    + """manifests: [{manifests}]
history:
  path: .crmctl/history-{name}
{lint}"""
)


class Clock:
    """The emulator's clock: now, moved on by `ahead` seconds when a test says so."""

    def __init__(self) -> None:
        self.ahead = 0.0

    def __call__(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.ahead)


@dataclass
class AppUser:
    client_id: str
    secret: str


@dataclass
class DataverseOrg:
    server: RunningServer
    store: SandboxStore
    ca_file: Path
    app: AppUser
    other: AppUser  # a second application user: "someone else" for drift
    clock: Clock

    @property
    def url(self) -> str:
        return self.server.url

    def env_variables(self) -> dict[str, str]:
        return {
            ID_VARIABLE: self.app.client_id,
            SECRET_VARIABLE: self.app.secret,
            "REQUESTS_CA_BUNDLE": str(self.ca_file),
        }

    def write_env(self, project: Path, name: str = "dv", manifests: str = "dv") -> Path:
        path = project / "environments" / f"{name}.yaml"
        path.write_text(
            ENV.format(url=self.url, tenant=TENANT, manifests=manifests, name=name, lint=LINT_OFF)
        )
        return path

    def token(self, app: AppUser | None = None) -> str:
        """A token by the client-credentials grant, as the identity platform documents it."""
        app = app or self.app
        response = requests.post(
            f"{self.url}/{TENANT}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": app.client_id,
                "client_secret": app.secret,
                "scope": f"{self.url}/.default",
            },
            verify=str(self.ca_file),
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def web(self, method: str, path: str, app: AppUser | None = None, **kwargs: Any) -> Any:
        """One Web API request; the decoded answer (None for 204)."""
        headers = {
            "Authorization": f"Bearer {self.token(app)}",
            "OData-MaxVersion": "4.0",
            "OData-Version": "4.0",
            "Accept": "application/json",
            **kwargs.pop("headers", {}),
        }
        response = requests.request(
            method,
            f"{self.url}/api/data/v9.2/{path}",
            headers=headers,
            verify=str(self.ca_file),
            timeout=30,
            **kwargs,
        )
        assert response.status_code < 400, (
            f"{method} {path}: {response.status_code} {response.text}"
        )
        return response.json() if response.content else None


GOVERNED = (
    "description: A governed Dataverse environment (the sandbox's emulator)\n"
    + PROVIDER
    + """manifests: [dv]
history:
  path: .crmctl/history-gov
  remote: {remote}
approvals:
  separationOfDuties: true
  requireSignedCommits: false
  policyOwners: [security-officer]
  roles:
    security-officer: [tomas.berg@northwind.example]
{approvals}{lint}"""
)


def governed_env(url: str, remote: str, approvals: str) -> str:
    """A governed environment file on `url`: the security officer owns the policy; `approvals`
    adds more roles (indented 4) and the rules (from `  rules:`)."""
    return GOVERNED.format(
        url=url, tenant=TENANT, remote=remote, approvals=approvals, lint=LINT_OFF
    )


def write_manifests(project: Path, *docs: dict[str, Any]) -> Path:
    """The manifests as dv/org.yaml in `project` (the folder is made when missing)."""
    path = project / "dv" / "org.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True))
    return path


def apply_ok(crmctl: Callable[..., Any], env: str = "dv") -> None:
    """`crmctl apply --auto-approve` succeeds."""
    r = crmctl("apply", "-e", env, "--auto-approve")
    assert r.exit_code == 0, r.output


def plan_is_empty(crmctl: Callable[..., Any]) -> None:
    """A detailed-exitcode plan of dv exits 0 and its last line says there is nothing to do."""
    r = crmctl("plan", "-e", "dv", "--detailed-exitcode")
    assert r.exit_code == 0, r.out
    assert r.out.strip().splitlines()[-1] == "No changes. The CRM matches the manifests."


def no_changes(crmctl: Callable[..., Any], env: str) -> None:
    """A detailed-exitcode plan of `env` exits 0 and its output ends with the no-changes line."""
    r = crmctl("plan", "-e", env, "--detailed-exitcode")
    assert r.exit_code == 0, r.output
    assert r.out.endswith("\nNo changes. The CRM matches the manifests.\n"), r.out


def dataverse_org(tmp_path: Path) -> Iterator[DataverseOrg]:
    """A fresh emulator over https with two registered application users."""
    from crmctl.sandbox import dataverse

    clock = Clock()
    store = SandboxStore.open(tmp_path / "dataverse.db", clock=clock)
    store.initialise()
    app = AppUser(*register(dataverse, store, "crmctl"))
    other = AppUser(*register(dataverse, store, "someone-else"))
    files = ensure_certificates(tmp_path / "tls")
    context: ssl.SSLContext = server_context(files)
    server = start_server(store, tls=context)
    try:
        org = DataverseOrg(server, store, files.ca, app, other, clock)
        add_solution(org)
        yield org
    finally:
        server.stop()
        store.close()


def register(module: Any, store: SandboxStore, name: str) -> tuple[str, str]:
    """(client id, secret) of a new application user: the emulator's documented recipe."""
    client_id = str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{name}.crmctl.test"))
    secret = f"{name}-s3cr3t-{uuid.uuid4().hex}"
    module.register_application_user(
        store, client_id, secret, role="System Administrator", name=name
    )
    return client_id, secret


def add_solution(org: DataverseOrg, name: str = "crmctltests") -> None:
    """The solution crmctl's components join: a publisher with prefix nw, and the solution."""
    org.web(
        "POST",
        "publishers",
        json={
            "uniquename": "northwind",
            "friendlyname": "Northwind",
            "customizationprefix": "nw",
            "customizationoptionvalueprefix": 41230,
        },
    )
    publisher = org.web("GET", "publishers?$select=publisherid&$filter=uniquename eq 'northwind'")
    org.web(
        "POST",
        "solutions",
        json={
            "uniquename": name,
            "friendlyname": "crmctl tests",
            "version": "1.0.0.0",
            "publisherid@odata.bind": f"/publishers({publisher['value'][0]['publisherid']})",
        },
    )
