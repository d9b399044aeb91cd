"""The in-process store: transactions for other modules, and several stores on one file."""

from __future__ import annotations

from pathlib import Path

import pytest

from crmctl.sandbox import SandboxError, SandboxStore
from tests.sandbox.conftest import org_operations


def test_a_transaction_commits_or_rolls_back(store: SandboxStore) -> None:
    with store.transaction() as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
        conn.execute("INSERT INTO notes VALUES ('kept')")
    with pytest.raises(RuntimeError), store.transaction() as conn:
        conn.execute("INSERT INTO notes VALUES ('lost')")
        raise RuntimeError("boom")
    with store.transaction() as conn:
        assert conn.execute("SELECT text FROM notes").fetchall() == [("kept",)]


def test_config_writes_inside_a_transaction_join_it(store: SandboxStore) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.put_config("Role", "CEO", {"label": "CEO"}, "me")
        raise RuntimeError("the caller changed its mind")
    assert store.get_config("Role", "CEO") is None
    # The in-memory configuration forgot it as well: a child of CEO is refused.
    with pytest.raises(SandboxError) as refused:
        store.put_config("Role", "Sales", {"label": "S", "parent": "CEO"}, "me")
    assert refused.value.message == "Role/Sales: parent role 'CEO' is not declared"


def test_a_failed_nested_write_rolls_back_only_itself(store: SandboxStore) -> None:
    with store.transaction():
        store.put_config("Role", "CEO", {"label": "CEO"}, "me")
        with pytest.raises(SandboxError):
            store.batch(
                [
                    {"op": "put", "kind": "Role", "name": "A", "spec": {"label": "A"}},
                    {"op": "put", "kind": "Role", "name": "B", "spec": {"parent": "A"}},
                ],
                "me",
            )
        store.put_config("Role", "Sales", {"label": "S", "parent": "CEO"}, "me")
    assert [i["name"] for i in store.list_config("Role")[0]] == ["CEO", "Sales"]
    with pytest.raises(SandboxError):
        store.put_config("Role", "Child", {"label": "C", "parent": "A"}, "me")


def test_a_write_by_another_store_on_the_same_file_is_seen(tmp_path: Path) -> None:
    first = SandboxStore.open(tmp_path / "s.db")
    second = SandboxStore.open(tmp_path / "s.db")
    try:
        first.batch(org_operations(), "one")
        # `second` built its in-memory configuration before those writes existed.
        with pytest.raises(SandboxError) as refused:
            second.delete_config("CustomObject", "Invoice__c", "two")
        assert refused.value.code == "IN_USE"
        second.put_config("Role", "Support", {"label": "S", "parent": "CEO"}, "two")
        with pytest.raises(SandboxError):
            first.delete_config("Role", "CEO", "one")
    finally:
        first.close()
        second.close()


def test_list_pages_in_process(store: SandboxStore) -> None:
    store.batch(
        [{"op": "put", "kind": "Role", "name": f"R{i}", "spec": {"label": "R"}} for i in range(5)],
        "me",
    )
    page, cursor = store.list_config("Role", limit=2)
    assert [i["name"] for i in page] == ["R0", "R1"]
    page, cursor = store.list_config("Role", cursor=cursor, limit=3)
    assert [i["name"] for i in page] == ["R2", "R3", "R4"] and cursor is None
    assert len(store.list_all_config()) == 5
    assert store.list_all_config(["User"]) == []


def test_a_closed_store_refuses_work(tmp_path: Path) -> None:
    store = SandboxStore.open(tmp_path / "s.db")
    store.close()
    with pytest.raises(SandboxError) as refused:
        store.get_config("Role", "CEO")
    assert refused.value.code == "CLOSED"


def test_what_the_store_keeps_does_not_change_with_the_callers_dicts(store: SandboxStore) -> None:
    spec = {"label": "Sales", "objects": {"Account": ["read"]}}
    item = store.put_config("PermissionSet", "Sales", spec, "me")
    spec["objects"]["Account"].append("edit")
    item["spec"]["objects"]["Account"].append("delete")
    assert store.get_config("PermissionSet", "Sales")["spec"]["objects"] == {"Account": ["read"]}
    # The in-memory configuration is unchanged too: this user's assignment still checks out.
    store.put_config(
        "User",
        "a@example.com",
        {"email": "a@example.com", "lastName": "A", "permissionSets": ["Sales"]},
        "me",
    )
    with pytest.raises(SandboxError) as refused:
        store.delete_config("PermissionSet", "Sales", "me")
    assert refused.value.code == "IN_USE"
