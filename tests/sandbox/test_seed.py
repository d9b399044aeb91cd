"""Seeding demo records: planned counts, valid records, determinism, the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmctl.sandbox import SandboxStore
from crmctl.sandbox.enforcement import Caller, Write, check_write
from crmctl.sandbox.records import OrgModel, SqlRecords, parse_datetime_value
from crmctl.sandbox.records_api import org_model
from crmctl.sandbox.seed import plan_counts, seed_records

if TYPE_CHECKING:
    from .conftest import RecordsOrg

NOW = datetime(2025, 6, 1, tzinfo=UTC)


def model_of(store: SandboxStore) -> OrgModel:
    with store.transaction() as conn:
        return org_model(store, conn)


def all_records(store: SandboxStore) -> list[tuple[str, dict[str, Any]]]:
    with store.transaction() as conn:
        rows = conn.execute("SELECT object, fields FROM records ORDER BY seq").fetchall()
    return [(obj, json.loads(fields)) for obj, fields in rows]


def copy_of(store: SandboxStore, path: Path) -> SandboxStore:
    """A new store holding the same configuration and no records."""
    other = SandboxStore.open(path)
    items = store.list_all_config()
    other.batch(
        [{"op": "put", "kind": i["kind"], "name": i["name"], "spec": i["spec"]} for i in items], "t"
    )
    return other


def test_plan_counts_split_the_total_exactly(fresh_records_org: RecordsOrg) -> None:
    model = model_of(fresh_records_org.sandbox.store)
    assert plan_counts(model, 10_000) == {
        "Account": 1500,
        "Contact": 2500,
        "Lead": 2000,
        "Opportunity": 1500,
        "Case": 1000,
        "Order__c": 1500,
    }
    assert sum(plan_counts(model, 7).values()) == 7


def test_seed_creates_valid_records_of_every_object(fresh_records_org: RecordsOrg) -> None:
    store = fresh_records_org.sandbox.store
    model = model_of(store)
    result = seed_records(store.transaction, model, records=1000, seed=7, now=NOW)
    assert (result.created, result.skipped, result.warnings) == (plan_counts(model, 1000), {}, [])
    records = all_records(store)
    assert len(records) == 1000
    oldest = parse_datetime_value((NOW - timedelta(days=3 * 365)).isoformat())
    with store.transaction() as conn:
        reader = SqlRecords(conn, model)
        for obj_key, record in records:
            obj = model.objects[obj_key]
            caller = Caller(record["OwnerId"], is_admin=False)
            outcome = check_write(model, reader, Write(obj, {}, caller, NOW, prior=record))
            assert outcome.problems == [], (obj.name, record)
            assert oldest <= record["CreatedDate"] <= "2025-06-01T00:00:00.000Z"
            assert record["OwnerId"].lower() in model.users
    orders = [r for obj, r in records if obj == "order__c"]
    # Not_Born_Cancelled (ISNEW) forbids creating a cancelled order: none was seeded.
    assert {o["Status__c"] for o in orders} == {"Draft", "Placed", "Shipped"}
    assert sorted(o["Name"] for o in orders)[:2] == ["ORD-0001", "ORD-0002"]
    # Every order's account exists: lookups point at seeded records.
    account_ids = {r["Id"] for obj, r in records if obj == "account"}
    assert {o["Account__c"] for o in orders} <= account_ids


def test_seed_works_without_users_or_custom_objects(store: SandboxStore) -> None:
    result = seed_records(store.transaction, model_of(store), records=40, seed=1, now=NOW)
    assert (result.created, result.skipped) == (
        {"Account": 7, "Contact": 12, "Lead": 9, "Opportunity": 7, "Case": 5},
        {},
    )
    assert {r["OwnerId"] for _, r in all_records(store)} == {"seed"}


def test_the_same_seed_gives_the_same_records(
    fresh_records_org: RecordsOrg, tmp_path: Path
) -> None:
    first = fresh_records_org.sandbox.store
    second = copy_of(first, tmp_path / "second.db")
    try:
        for store in (first, second):
            seed_records(store.transaction, model_of(store), records=300, seed=11, now=NOW)
        assert all_records(first) == all_records(second)
    finally:
        second.close()


def test_another_seed_gives_other_records(fresh_records_org: RecordsOrg, tmp_path: Path) -> None:
    first = fresh_records_org.sandbox.store
    second = copy_of(first, tmp_path / "second.db")
    try:
        seed_records(first.transaction, model_of(first), records=100, seed=1, now=NOW)
        seed_records(second.transaction, model_of(second), records=100, seed=2, now=NOW)
        names = [[r.get("Name") for _, r in all_records(s)] for s in (first, second)]
        assert names[0] != names[1]
    finally:
        second.close()


def test_seeded_records_are_served_over_http(fresh_records_org: RecordsOrg) -> None:
    store = fresh_records_org.sandbox.store
    seed_records(store.transaction, model_of(store), records=100, seed=3, now=NOW)
    response = fresh_records_org.admin.query("Contact", limit=2000)
    assert response.status_code == 200
    assert len(response.json()["records"]) == 25


def test_the_seed_command_prints_counts_per_object(
    fresh_records_org: RecordsOrg, crmctl: Any, tmp_path: Path
) -> None:
    path = tmp_path / "cli.db"
    copy_of(fresh_records_org.sandbox.store, path).close()
    result = crmctl("sandbox", "seed", "--db", str(path), "--records", "200", "--seed", "5")
    assert result.exit_code == 0, result.output
    assert result.out == (
        f"Seeded 200 records into {path} (seed 5):\n"
        "  Account             30\n"
        "  Contact             50\n"
        "  Lead                40\n"
        "  Opportunity         30\n"
        "  Case                20\n"
        "  Order__c            30\n"
    )
    store = SandboxStore.open(path)
    try:
        assert len(all_records(store)) == 200
    finally:
        store.close()


def test_the_seed_command_needs_an_existing_database(crmctl: Any, tmp_path: Path) -> None:
    result = crmctl("sandbox", "seed", "--db", str(tmp_path / "missing.db"))
    assert result.exit_code == 1
    assert f"no sandbox database at {tmp_path / 'missing.db'}" in result.err
