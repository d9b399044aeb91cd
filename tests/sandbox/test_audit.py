"""The audit trail: every configuration change, in order, with who, when, before and after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from crmctl.sandbox import SandboxStore
from tests.sandbox.conftest import Sandbox


def test_create_update_and_delete_are_recorded_with_the_principal(sandbox: Sandbox) -> None:
    api = sandbox.admin
    api.put("Role", "CEO", {"label": "CEO"})
    api.put("Role", "CEO", {"label": "Chief"})
    api.put("Role", "CEO", {"label": "Chief"})  # no change: no entry
    api.delete("Role", "CEO")
    items = api.get("/audit").json()["items"]
    assert [(e["seq"], e["action"], e["kind"], e["name"], e["actor"]) for e in items] == [
        (1, "create", "Role", "CEO", "admin@sandbox.local"),
        (2, "update", "Role", "CEO", "admin@sandbox.local"),
        (3, "delete", "Role", "CEO", "admin@sandbox.local"),
    ]
    assert [(e["before"], e["after"]) for e in items] == [
        (None, {"label": "CEO", "parent": None}),
        ({"label": "CEO", "parent": None}, {"label": "Chief", "parent": None}),
        ({"label": "Chief", "parent": None}, None),
    ]
    times = [e["at"] for e in items]
    assert times == sorted(times) and all(t.endswith("Z") for t in times)


def test_since_a_sequence_number_and_limit(sandbox: Sandbox) -> None:
    for i in range(5):
        sandbox.admin.put("Role", f"R{i}", {"label": f"R{i}"})
    after_two = sandbox.admin.get("/audit", params={"since": "2"}).json()["items"]
    assert [e["seq"] for e in after_two] == [3, 4, 5]
    limited = sandbox.admin.get("/audit", params={"since": "1", "limit": "2"}).json()["items"]
    assert [e["seq"] for e in limited] == [2, 3]
    bad = sandbox.admin.get("/audit", params={"limit": "0"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "BAD_REQUEST"


def test_since_an_iso_time(tmp_path: Path) -> None:
    now = [datetime(2025, 3, 1, 9, 0, tzinfo=UTC)]
    store = SandboxStore.open(tmp_path / "s.db", clock=lambda: now[0])
    try:
        for i in range(4):
            store.put_config("Role", f"R{i}", {"label": "R"}, actor="clock@example.com")
            now[0] += timedelta(hours=1)
        assert [e["name"] for e in store.audit(since="2025-03-01T10:00:00Z")] == ["R1", "R2", "R3"]
        assert [e["name"] for e in store.audit(since="2025-03-01T12:00:00+01:00")] == ["R2", "R3"]
        assert store.audit()[0]["at"] == "2025-03-01T09:00:00.000000Z"
        assert store.get_config("Role", "R0")["updatedAt"] == "2025-03-01T09:00:00.000000Z"
    finally:
        store.close()


def test_a_since_that_is_neither_is_400(sandbox: Sandbox) -> None:
    response = sandbox.admin.get("/audit", params={"since": "last tuesday"})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "since must be a sequence number or an ISO-8601 time (got 'last tuesday')"
    )
