"""Several writers at once over HTTP: nothing lost, versions consistent, the audit complete."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from crmctl.sandbox import SandboxError
from tests.sandbox.conftest import Sandbox

WRITERS = 8
ITEMS_EACH = 25
UPDATES = 3


def test_concurrent_writers_lose_nothing(sandbox: Sandbox) -> None:
    assert sandbox.admin.put("CustomObject", "Shared__c", {"label": "Shared"}).status_code == 201

    def writer(w: int) -> list[int]:
        api = sandbox.client(sandbox.token)
        statuses = []
        try:
            for i in range(ITEMS_EACH):
                name = f"Shared__c.W{w}_F{i}__c"
                for u in range(UPDATES):
                    spec = {"type": "Text", "label": f"Writer {w} field {i} v{u}"}
                    statuses.append(api.put("CustomField", name, spec).status_code)
            batch = [
                {"op": "put", "kind": "Role", "name": f"W{w}_R{r}", "spec": {"label": "R"}}
                for r in range(5)
            ]
            statuses.append(api.batch(batch).status_code)
        finally:
            api.close()
        return statuses

    with ThreadPoolExecutor(WRITERS) as pool:
        results = list(pool.map(writer, range(WRITERS)))
    for statuses in results:
        assert statuses == ([201] + [200] * (UPDATES - 1)) * ITEMS_EACH + [200]

    fields = sandbox.store.list_all_config(["CustomField"])
    assert len(fields) == WRITERS * ITEMS_EACH
    assert {f["version"] for f in fields} == {UPDATES}
    assert all(f["spec"]["label"].endswith(f"v{UPDATES - 1}") for f in fields)
    assert len(sandbox.store.list_all_config(["Role"])) == WRITERS * 5

    audit = sandbox.store.audit(limit=10_000)
    expected = 1 + WRITERS * (ITEMS_EACH * UPDATES + 5)
    assert [e["seq"] for e in audit] == list(range(1, expected + 1))
    per_field: dict[str, list[str]] = {}
    for entry in audit:
        if entry["kind"] == "CustomField":
            per_field.setdefault(entry["name"], []).append(entry["action"])
    assert all(actions == ["create", "update", "update"] for actions in per_field.values())


def test_if_match_lets_exactly_one_concurrent_writer_win(sandbox: Sandbox) -> None:
    sandbox.admin.put("Role", "CEO", {"label": "CEO"})

    def attempt(w: int) -> int:
        api = sandbox.client(sandbox.token)
        try:
            return api.put(
                "Role", "CEO", {"label": f"by {w}"}, headers={"If-Match": '"1"'}
            ).status_code
        finally:
            api.close()

    with ThreadPoolExecutor(WRITERS) as pool:
        statuses = sorted(pool.map(attempt, range(WRITERS)))
    assert statuses == [200] + [412] * (WRITERS - 1)
    assert sandbox.admin.get("/config/Role/CEO").json()["version"] == 2


def test_two_stores_on_one_file_write_at_once(tmp_path) -> None:
    from crmctl.sandbox import SandboxStore

    stores = [SandboxStore.open(tmp_path / "shared.db") for _ in range(2)]
    stores[0].put_config("Role", "CEO", {"label": "CEO"}, "setup")

    def writer(w: int) -> None:
        store = stores[w % 2]  # each store has its own lock: SQLite serialises them
        for i in range(20):
            store.put_config("Role", f"W{w}_{i}", {"label": "R", "parent": "CEO"}, f"w{w}")

    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(writer, range(4)))
        for store in stores:
            assert len(store.list_all_config(["Role"])) == 1 + 4 * 20
        # Both know every child of CEO, whichever store wrote it.
        for store in stores:
            with pytest.raises(SandboxError) as refused:
                store.delete_config("Role", "CEO", "x")
            assert len(refused.value.details["dependents"]) == 80
        assert len(stores[1].audit(limit=10_000)) == 81
    finally:
        for store in stores:
            store.close()
