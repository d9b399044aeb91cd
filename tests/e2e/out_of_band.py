"""Changing the sandbox CRM by hand, as another user, through its HTTP API."""

from __future__ import annotations

import requests

PRIYA = "priya.shah@northwind.example"  # holds CRM_Admin (ModifyAllData): may change configuration


class Api:
    """The sandbox's config API as one user."""

    def __init__(self, url: str, token: str) -> None:
        self.base = f"{url.rstrip('/')}/api/v1"
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, kind: str, name: str) -> dict:
        response = requests.get(f"{self.base}/config/{kind}/{name}", headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()["spec"]

    def put(self, kind: str, name: str, spec: dict) -> None:
        response = requests.put(
            f"{self.base}/config/{kind}/{name}", json={"spec": spec}, headers=self.headers
        )
        assert response.status_code in (200, 201), response.text

    def delete(self, kind: str, name: str) -> None:
        response = requests.delete(f"{self.base}/config/{kind}/{name}", headers=self.headers)
        assert response.status_code == 204, response.text


def as_priya(sandbox_server) -> Api:
    response = requests.post(
        f"{sandbox_server.url.rstrip('/')}/api/v1/tokens",
        json={"username": PRIYA},
        headers={"Authorization": f"Bearer {sandbox_server.token}"},
    )
    assert response.status_code == 201, response.text
    return Api(sandbox_server.url, response.json()["token"])


def tamper(sandbox_server) -> None:
    """A field label changed, a validation rule deleted, a permission set created: all by hand."""
    api = as_priya(sandbox_server)
    spec = api.get("CustomField", "Account.Region__c")
    api.put("CustomField", "Account.Region__c", {**spec, "label": "Sales Region"})
    api.delete("ValidationRule", "Invoice__c.Positive_Amount")
    api.put("PermissionSet", "Hand_Made", {"label": "Hand made", "objects": {"Account": ["read"]}})
