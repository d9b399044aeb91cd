"""`crmctl access` says exactly what the sandbox CRM enforces, for every user x object and field.

The sandbox serves the example organisation over HTTP with seeded records;
each user is given a record of every object to own (so sharing never hides
a permission), then asks the CRM: may I list this object, read this field,
change this field, create a record? The answers must be the report's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from crmctl.config.environment import load_environment
from crmctl.config.loader import load_desired_state
from crmctl.crmtest.sandbox import configuration_items
from crmctl.sandbox import SandboxStore, start_server
from crmctl.sandbox.records_api import org_model
from crmctl.sandbox.seed import seed_records
from tests.conftest import REPO


class Client:
    def __init__(self, base: str, token: str) -> None:
        self.base, self.session = base, requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, f"{self.base}{path}", timeout=30, **kwargs)


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory):
    """The example organisation, seeded, on a sandbox server; (admin client, server, users)."""
    state = load_desired_state(load_environment("local", REPO))
    store = SandboxStore.open(tmp_path_factory.mktemp("crm") / "sandbox.db")
    token = store.initialise()
    store.batch([{"op": "put", **item} for item in configuration_items(state)], "test")
    with store.transaction() as conn:
        model = org_model(store, conn)
    seed_records(store.transaction, model, records=120)
    server = start_server(store)
    admin = Client(server.api_url, token)
    yield admin, server, state
    admin.session.close()
    server.stop()
    store.close()


def enforced(crm) -> set[tuple[str, str, str]]:
    """(user, target, permission) for every read, create and edit the CRM allows."""
    admin, server, state = crm
    users = sorted(r.name for r in state.of_kind("User"))
    fields: dict[str, list[str]] = {}
    for resource in state.of_kind("CustomField"):
        obj, _, name = resource.name.partition(".")
        fields.setdefault(obj, []).append(name)
    allowed = set()
    for obj, names in sorted(fields.items()):
        page = admin("GET", f"/records/{obj}", params={"limit": 1}).json()["records"]
        assert page, f"the seed made no {obj} records"
        record_id = page[0]["id"]
        current = admin("GET", f"/records/{obj}/{record_id}").json()["fields"]
        for user in users:
            moved = admin("PATCH", f"/records/{obj}/{record_id}", json={"OwnerId": user})
            assert moved.status_code == 200, moved.text
            client = Client(
                server.api_url, admin("POST", "/tokens", json={"username": user}).json()["token"]
            )
            listed = client("GET", f"/records/{obj}", params={"limit": 1})
            if listed.status_code == 200:
                allowed.add((user, obj, "read"))
            else:
                assert listed.json()["error"]["code"] in ("INSUFFICIENT_ACCESS", "USER_INACTIVE")
            created = client("POST", f"/records/{obj}", json={})
            if created.status_code != 403:
                allowed.add((user, obj, "create"))
            edited = client("PATCH", f"/records/{obj}/{record_id}", json={})
            if edited.status_code == 200:
                allowed.add((user, obj, "edit"))
            for name in names:
                target = f"{obj}.{name}"
                read = client("GET", f"/records/{obj}", params={"fields": name, "limit": 1})
                if read.status_code == 200:
                    allowed.add((user, target, "read"))
                write = client(
                    "PATCH", f"/records/{obj}/{record_id}", json={name: current.get(name)}
                )
                if write.status_code != 403:  # 200, or 400 when the record's own rules object
                    allowed.add((user, target, "edit"))
            client.session.close()
    return allowed


def test_the_report_is_what_the_crm_enforces(crm, project: Path, crmctl) -> None:
    r = crmctl("access", "--format", "json")
    assert r.exit_code == 0
    report = json.loads(r.out)
    objects_with_fields = {t["object"] for t in report["targets"] if t["field"]}
    reported = {
        (g["user"], f"{g['object']}.{g['field']}" if g["field"] else g["object"], permission)
        for g in report["grants"]
        if g["object"] in objects_with_fields
        for permission in g["permissions"]
        if permission in ("read", "create", "edit")
    }
    actual = enforced(crm)
    assert reported == actual
    # The comparison covers every user and every custom field of the example organisation.
    users = {g["user"] for g in report["grants"]}
    assert len(users) == 8 and len([t for t in report["targets"] if t["field"]]) == 37
    assert ("tomas.berg@northwind.example", "Contact.National_Id__c", "read") in actual
    assert ("maria.garcia@northwind.example", "Contact.National_Id__c", "read") not in actual
