"""Fixtures of the sandbox tests: a store on disk, and a server on a free port of 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from crmctl.sandbox import RunningServer, SandboxStore, start_server

#: A small valid organisation, dependencies first: one item of every kind and then some.
ORG: list[tuple[str, str, dict[str, Any]]] = [
    ("CustomObject", "Invoice__c", {"label": "Invoice"}),
    ("CustomField", "Invoice__c.Amount__c", {"type": "Currency", "label": "Amount"}),
    ("CustomField", "Invoice__c.Due__c", {"type": "Date", "label": "Due"}),
    (
        "CustomField",
        "Invoice__c.Account__c",
        {"type": "Lookup", "label": "Account", "referenceTo": "Account"},
    ),
    (
        "CustomField",
        "Account.Region__c",
        {"type": "Picklist", "label": "Region", "values": ["EMEA", "AMER"]},
    ),
    (
        "ValidationRule",
        "Invoice__c.Positive",
        {"condition": "Amount__c < 0", "errorMessage": "Amount must be positive"},
    ),
    (
        "DuplicateRule",
        "Invoice__c.Same_Amount",
        {"match": [{"field": "Amount__c"}, {"field": "Due__c"}]},
    ),
    (
        "RetentionPolicy",
        "Invoice_Cleanup",
        {
            "object": "Invoice__c",
            "dateField": "Due__c",
            "retain": "P10Y",
            "action": "delete",
            "legalBasis": "Tax law",
        },
    ),
    ("Role", "CEO", {"label": "CEO"}),
    ("Role", "Sales", {"label": "Sales", "parent": "CEO"}),
    (
        "PermissionSet",
        "Sales_Rep",
        {
            "label": "Sales Rep",
            "objects": {"Invoice__c": ["read"]},
            "fields": {"Invoice__c.Amount__c": ["read"]},
        },
    ),
    ("PermissionSet", "Admins", {"label": "Admins", "system": ["ModifyAllData"]}),
    (
        "User",
        "rep@example.com",
        {
            "email": "rep@example.com",
            "lastName": "Rep",
            "role": "Sales",
            "permissionSets": ["Sales_Rep"],
        },
    ),
]


def org_operations() -> list[dict[str, Any]]:
    """`ORG` as batch operations."""
    return [{"op": "put", "kind": k, "name": n, "spec": s} for k, n, s in ORG]


class Api:
    """A requests session against one server, with the token of one principal."""

    def __init__(self, base: str, token: str | None) -> None:
        self.base = base
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, f"{self.base}{path}", timeout=30, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def put(self, kind: str, name: str, spec: Any, **kwargs: Any) -> requests.Response:
        return self.request("PUT", f"/config/{kind}/{name}", json={"spec": spec}, **kwargs)

    def delete(self, kind: str, name: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", f"/config/{kind}/{name}", **kwargs)

    def batch(self, operations: list[dict[str, Any]]) -> requests.Response:
        return self.request("POST", "/config/batch", json={"operations": operations})

    def token_for(self, username: str) -> str:
        response = self.request("POST", "/tokens", json={"username": username})
        assert response.status_code == 201, response.text
        return response.json()["token"]

    def close(self) -> None:
        self.session.close()


@dataclass
class Sandbox:
    """A running sandbox server, its store and an admin client."""

    server: RunningServer
    store: SandboxStore
    token: str
    admin: Api

    def client(self, token: str | None) -> Api:
        return Api(self.server.api_url, token)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SandboxStore]:
    """A fresh sandbox store in a temporary folder."""
    opened = SandboxStore.open(tmp_path / "sandbox.db")
    yield opened
    opened.close()


@pytest.fixture
def sandbox(store: SandboxStore) -> Iterator[Sandbox]:
    """A server on a free port of 127.0.0.1 over `store`, with an admin client."""
    token = store.initialise()
    server = start_server(store)
    admin = Api(server.api_url, token)
    yield Sandbox(server, store, token, admin)
    admin.close()
    server.stop()


@pytest.fixture
def org(sandbox: Sandbox) -> Sandbox:
    """`sandbox` holding `ORG`."""
    response = sandbox.admin.batch(org_operations())
    assert response.status_code == 200, response.text
    return sandbox
