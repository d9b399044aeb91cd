"""The record layer without HTTP: the model of the configuration, ids, deletes, has_records."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from crmctl.sandbox.db import migrate
from crmctl.sandbox.records import (
    FieldDef,
    OrgModel,
    QueryError,
    decode_cursor,
    encode_cursor,
    has_records,
    insert_record,
    new_record_id,
    next_auto_number,
    parse_where,
    plan_delete,
)

CONFIG: list[dict[str, Any]] = [
    {"kind": "CustomObject", "name": "Project__c", "spec": {"label": "Project"}},
    {"kind": "CustomObject", "name": "Task__c", "spec": {"label": "Task", "sharingModel": "Private",
        "recordName": {"type": "AutoNumber", "displayFormat": "T-{000}"}}},
    {"kind": "CustomField", "name": "Project__c.Client__c", "spec": {"type": "Lookup", "label": "Client",
        "referenceTo": "Account", "relationshipName": "Client"}},
    {"kind": "CustomField", "name": "Project__c.Sponsor__c", "spec": {"type": "Lookup", "label": "Sponsor",
        "referenceTo": "Contact", "required": True}},
    {"kind": "CustomField", "name": "Task__c.Project__c", "spec": {"type": "MasterDetail", "label": "Project",
        "referenceTo": "Project__c"}},
    {"kind": "CustomField", "name": "Task__c.Stage__c", "spec": {"type": "Picklist", "label": "Stage",
        "values": [{"value": "Open", "default": True}, "Done", {"value": "Old", "active": False}]}},
    {"kind": "CustomField", "name": "Task__c.Hours__c", "spec": {"type": "Number", "label": "Hours",
        "precision": 5, "scale": 1}},
]  # fmt: skip


@pytest.fixture
def model() -> OrgModel:
    return OrgModel.from_config(CONFIG)


@pytest.fixture
def conn() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:", isolation_level=None)
    migrate(connection)
    yield connection
    connection.close()


def test_the_model_types_custom_fields_from_their_specs(model: OrgModel) -> None:
    task = model.object("task__C")
    assert task is not None and task.name == "Task__c" and task.custom
    assert (task.sharing, task.auto_number, task.auto_field) == ("Private", "T-{000}", "Name")
    assert task.field("stage__c") == FieldDef(
        name="Stage__c", type="Picklist", custom=True, length=255, values=("Open", "Done"),
        default="Open",
    )  # fmt: skip
    hours = task.field("Hours__c")
    assert hours is not None and (hours.precision, hours.scale) == (5, 1)
    master = task.field("Project__c")
    assert master is not None and (master.required, master.reference_to) == (True, "Project__c")
    name = task.field("Name")
    assert name is not None and not name.writable  # an auto number
    assert task.relationships["project__r"] is master


def test_the_model_knows_standard_objects_and_their_lookups(model: OrgModel) -> None:
    project = model.object("Project__c")
    assert project is not None
    assert project.relationships["client__r"].name == "Client__c"
    name = project.field("Name")
    assert name is not None and (name.required, name.length) == (True, 80)
    contact = model.object("Contact")
    assert contact is not None
    assert contact.field("AccountId").reference_to == "Account"  # type: ignore[union-attr]
    assert contact.field("OwnerId").reference_to == "User"  # type: ignore[union-attr]
    assert contact.field("IndividualId").reference_to is None  # type: ignore[union-attr]
    assert not contact.field("Name").writable  # type: ignore[union-attr]
    assert contact.field("LastName").required  # type: ignore[union-attr]
    assert model.object("User") is None  # users are configuration, not records


def test_ids_have_a_prefix_per_object_and_count_up(
    conn: sqlite3.Connection, model: OrgModel
) -> None:
    task, project = model.objects["task__c"], model.objects["project__c"]
    assert new_record_id(conn, task, 2) == ["a00000000000001", "a00000000000002"]
    assert new_record_id(conn, project) == ["a01000000000001"]
    assert new_record_id(conn, task) == ["a00000000000003"]
    assert new_record_id(conn, model.objects["account"]) == ["001000000000001"]


def test_auto_numbers_fill_the_display_format(conn: sqlite3.Connection, model: OrgModel) -> None:
    task = model.objects["task__c"]
    assert [next_auto_number(conn, task, "T-{000}") for _ in range(2)] == ["T-001", "T-002"]


def test_cursors_round_trip_and_refuse_others() -> None:
    assert decode_cursor(encode_cursor(1234)) == 1234
    with pytest.raises(QueryError, match="cursor is not one this server returned"):
        decode_cursor("bm9wZQ")


def test_parse_where_types_the_value_by_field(model: OrgModel) -> None:
    task = model.objects["task__c"]
    assert parse_where(task, "Hours__c:ge:2.5").value == 2.5
    assert parse_where(task, "Stage__c:in:Open,Done").value == ["Open", "Done"]
    assert parse_where(task, "CreatedDate:gt:2025-01-01T10:00:00+01:00").value == (
        "2025-01-01T09:00:00.000Z"
    )
    with pytest.raises(QueryError, match="Hours__c is a Number field; 'x' is not a number"):
        parse_where(task, "Hours__c:eq:x")


def add(conn: sqlite3.Connection, model: OrgModel, obj: str, **fields: Any) -> str:
    target = model.objects[obj.lower()]
    record_id = new_record_id(conn, target)[0]
    insert_record(conn, target, {"Id": record_id, "OwnerId": "u@x.io", **fields})
    return record_id


def test_deleting_cascades_details_clears_lookups_and_respects_required_ones(
    conn: sqlite3.Connection, model: OrgModel
) -> None:
    account = add(conn, model, "Account", Name="A")
    sponsor = add(conn, model, "Contact", LastName="S")
    project = add(conn, model, "Project__c", Name="P", Client__c=account, Sponsor__c=sponsor)
    tasks = [add(conn, model, "Task__c", Project__c=project) for _ in range(2)]
    plan = plan_delete(conn, model, model.objects["account"], [account])
    assert [rid for _, rid in plan.delete] == [account]
    assert [(o.name, f.name, rid) for o, f, rid in plan.clear] == [
        ("Project__c", "Client__c", project)
    ]
    assert plan.blocked == {}
    plan = plan_delete(conn, model, model.objects["project__c"], [project])
    assert [rid for _, rid in plan.delete] == [project, *tasks]
    plan = plan_delete(conn, model, model.objects["contact"], [sponsor])
    assert (plan.delete, plan.clear, plan.blocked) == ([], [], {sponsor: [project]})


def test_has_records_answers_per_field_and_per_object(
    conn: sqlite3.Connection, model: OrgModel
) -> None:
    assert not has_records(conn, "Task__c")
    add(conn, model, "Task__c", Hours__c=2)
    assert has_records(conn, "task__c")
    assert has_records(conn, "Task__c", "Hours__c")
    assert not has_records(conn, "Task__c", "Stage__c")
    assert not has_records(conn, "Task__c", "bad name'")
