"""Batches: in order, in one transaction, all or none."""

from __future__ import annotations

import pytest

from crmctl.sandbox import SandboxError, SandboxStore
from tests.sandbox.conftest import ORG, Sandbox, org_operations


def test_a_batch_applies_its_operations_in_order(sandbox: Sandbox) -> None:
    operations = org_operations() + [
        {
            "op": "put",
            "kind": "Role",
            "name": "Sales",
            "spec": {"label": "Sales 2", "parent": "CEO"},
            "ifMatch": 1,
        },
        {"op": "delete", "kind": "User", "name": "rep@example.com"},
        {"op": "delete", "kind": "PermissionSet", "name": "Sales_Rep", "ifMatch": 1},
    ]
    response = sandbox.admin.batch(operations)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == len(operations)
    assert [(r["kind"], r["name"], r["version"]) for r in results[: len(ORG)]] == [
        (k, n, 1) for k, n, _ in ORG
    ]
    assert results[len(ORG)]["version"] == 2
    assert results[-2:] == [
        {"kind": "User", "name": "rep@example.com", "deleted": True},
        {"kind": "PermissionSet", "name": "Sales_Rep", "deleted": True},
    ]
    assert sandbox.admin.get("/config/User/rep@example.com").status_code == 404


def test_a_failing_operation_in_the_middle_leaves_nothing(sandbox: Sandbox) -> None:
    operations = org_operations()
    operations.insert(
        5,
        {
            "op": "put",
            "kind": "CustomField",
            "name": "Ghost__c.X__c",
            "spec": {"type": "Text", "label": "X"},
        },
    )
    response = sandbox.admin.batch(operations)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "INVALID_SPEC"
    assert error["message"] == (
        "operations[5] (put CustomField/Ghost__c.X__c): CustomField/Ghost__c.X__c: object "
        "'Ghost__c' is neither declared as a CustomObject nor a standard object"
    )
    assert error["details"]["index"] == 5
    assert error["details"]["kind"] == "CustomField"
    assert error["details"]["name"] == "Ghost__c.X__c"
    assert sandbox.admin.get("/config").json()["items"] == []
    assert sandbox.admin.get("/audit").json()["items"] == []
    # The rolled-back items are gone from the in-memory configuration too.
    later = sandbox.admin.put(
        "CustomField", "Invoice__c.Amount__c", {"type": "Number", "label": "A"}
    )
    assert later.status_code == 400
    assert sandbox.admin.batch(org_operations()).status_code == 200


def test_the_failing_operation_answers_its_own_status(org: Sandbox) -> None:
    response = org.admin.batch(
        [
            {
                "op": "put",
                "kind": "Role",
                "name": "Support",
                "spec": {"label": "Support", "parent": "CEO"},
            },
            {"op": "delete", "kind": "Role", "name": "CEO"},
        ]
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "IN_USE"
    assert error["details"] == {
        "index": 1,
        "kind": "Role",
        "name": "CEO",
        "dependents": ["Role/Sales", "Role/Support"],
    }
    assert org.admin.get("/config/Role/Support").status_code == 404
    stale = org.admin.batch([{"op": "delete", "kind": "Role", "name": "Sales", "ifMatch": 3}])
    assert stale.status_code == 412
    assert stale.json()["error"]["details"] == {
        "index": 0,
        "kind": "Role",
        "name": "Sales",
        "expected": 3,
        "actual": 1,
    }
    missing = org.admin.batch([{"op": "delete", "kind": "Role", "name": "Nope"}])
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("operation", "problem"),
    [
        ("put", "must be an object"),
        ({"op": "upsert", "kind": "Role", "name": "X"}, "op must be 'put' or 'delete'"),
        ({"op": "put", "kind": "Role", "name": 3, "spec": {}}, "kind and name must be strings"),
        ({"op": "put", "kind": "Role", "name": "", "spec": {}}, "name must not be empty"),
        ({"op": "put", "kind": "Role", "name": "X"}, "a put needs a spec"),
        (
            {"op": "delete", "kind": "Role", "name": "X", "ifMatch": "1"},
            "ifMatch must be a version number",
        ),
        (
            {"op": "delete", "kind": "Role", "name": "X", "ifMatch": 1.5},
            "ifMatch must be a version number",
        ),
        (
            {"op": "delete", "kind": "Role", "name": "X", "ifMatch": -1},
            "ifMatch must be a version number",
        ),
    ],
)
def test_malformed_operations_are_refused_before_anything_runs(
    sandbox: Sandbox, operation: object, problem: str
) -> None:
    good = {"op": "put", "kind": "Role", "name": "CEO", "spec": {"label": "CEO"}}
    response = sandbox.admin.batch([good, operation])
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("BAD_REQUEST", f"operations[1]: {problem}")
    assert error["details"]["index"] == 1
    assert sandbox.admin.get("/config/Role/CEO").status_code == 404


def test_the_batch_body_must_hold_operations(sandbox: Sandbox) -> None:
    for body in ({}, {"operations": {"op": "put"}}):
        response = sandbox.admin.request("POST", "/config/batch", json=body)
        assert response.status_code == 400
        assert response.json()["error"]["message"] == 'the body must be {"operations": [...]}'
    assert sandbox.admin.batch([]).json() == {"results": []}


def test_batch_in_process_raises_with_the_index(store: SandboxStore) -> None:
    with pytest.raises(SandboxError) as failed:
        store.batch(
            [
                {"op": "put", "kind": "Role", "name": "A", "spec": {"label": "A"}},
                {"op": "put", "kind": "Role", "name": "B", "spec": {"label": 5}},
            ],
            actor="me",
        )
    assert failed.value.details["index"] == 1
    assert failed.value.details["errors"] == ["spec.label must be a string, not a number"]
    assert store.list_all_config() == []


def test_an_if_match_of_3_0_is_version_3(org: Sandbox) -> None:
    # JSON Schema's integers include 3.0; a client that serialises floats is not refused.
    stale = org.admin.request(
        "POST",
        "/config/batch",
        data='{"operations": [{"op": "delete", "kind": "Role", "name": "Sales", "ifMatch": 3.0}]}',
        headers={"Content-Type": "application/json"},
    )
    assert stale.json()["error"]["details"]["expected"] == 3
    ok = org.admin.request(
        "POST",
        "/config/batch",
        data='{"operations": [{"op": "delete", "kind": "User", "name": "rep@example.com", '
        '"ifMatch": 1.0}]}',
        headers={"Content-Type": "application/json"},
    )
    assert ok.status_code == 200
