"""Idempotency keys on batches, and resolving a write whose answer was lost."""

from __future__ import annotations

import threading

import pytest

from tests.sandbox.conftest import Sandbox, org_operations

ROLE = [{"op": "put", "kind": "Role", "name": "CEO", "spec": {"label": "CEO"}}]


def keyed(sandbox: Sandbox, key: str, operations=ROLE):
    return sandbox.admin.request(
        "POST", "/config/batch", json={"operations": operations}, headers={"Idempotency-Key": key}
    )


def test_a_repeated_key_answers_the_first_outcome_without_running_again(sandbox: Sandbox):
    first = keyed(sandbox, "w1:0")
    assert first.status_code == 200, first.text
    again = keyed(sandbox, "w1:0")
    assert again.status_code == 200
    assert again.json() == first.json()
    assert [e["action"] for e in sandbox.store.audit(None, 100)] == ["create"]
    assert sandbox.store.get_config("Role", "CEO")["version"] == 1


def test_resolve_says_which_requests_of_a_write_landed(sandbox: Sandbox):
    assert keyed(sandbox, "w2:0").status_code == 200
    assert keyed(sandbox, "w2:1", org_operations()).status_code == 200
    answer = sandbox.admin.request("POST", "/writes/w2/resolve")
    assert answer.status_code == 200
    assert answer.json() == {"writeId": "w2", "landed": True, "keys": ["w2:0", "w2:1"]}
    nothing = sandbox.admin.request("POST", "/writes/w3/resolve")
    assert nothing.json() == {"writeId": "w3", "landed": False, "keys": []}


def test_a_request_arriving_after_its_write_was_resolved_is_refused(sandbox: Sandbox):
    # The client died with this request in flight; recover resolved the write first.
    assert sandbox.admin.request("POST", "/writes/late/resolve").json()["landed"] is False
    late = keyed(sandbox, "late:0")
    assert late.status_code == 409
    assert late.json()["error"] == {
        "code": "WRITE_FENCED",
        "message": "write late was resolved as not landed; this request arrived too late and "
        "was not carried out",
        "details": {"writeId": "late"},
    }
    assert sandbox.store.get_config("Role", "CEO") is None
    # Resolving again gives the same answer: the fence holds.
    assert sandbox.admin.request("POST", "/writes/late/resolve").json()["landed"] is False


def test_a_failed_batch_leaves_no_key_behind(sandbox: Sandbox):
    bad = [{"op": "put", "kind": "Role", "name": "Sales", "spec": {"label": "S", "parent": "X"}}]
    assert keyed(sandbox, "w4:0", bad).status_code in (400, 404, 409, 422)
    assert sandbox.admin.request("POST", "/writes/w4/resolve").json()["landed"] is False


@pytest.mark.parametrize("key", ["", "no-colon", "a:b", "x" * 101 + ":0", "a b:0", "w:1234567"])
def test_malformed_keys_are_refused(sandbox: Sandbox, key: str):
    response = keyed(sandbox, key)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("Idempotency-Key must look like")
    assert sandbox.store.get_config("Role", "CEO") is None


def test_resolve_and_a_racing_request_are_serialised(sandbox: Sandbox):
    """Whichever reaches the store first wins; the answer and the CRM always agree."""
    for round_ in range(20):
        write_id = f"race{round_}"
        operations = [
            {"op": "put", "kind": "Role", "name": f"R{round_}", "spec": {"label": f"R{round_}"}}
        ]
        results: dict[str, object] = {}

        def send(key: str, ops: list, into: dict) -> None:
            into["batch"] = keyed(sandbox, key, ops)

        sender = threading.Thread(target=send, args=(f"{write_id}:0", operations, results))
        sender.start()
        resolved = sandbox.admin.request("POST", f"/writes/{write_id}/resolve").json()
        sender.join()
        landed = sandbox.store.get_config("Role", f"R{round_}") is not None
        assert resolved["landed"] == landed
        assert results["batch"].status_code == (200 if landed else 409)
