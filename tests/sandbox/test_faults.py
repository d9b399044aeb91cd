"""Fault injection: exact, count-based, and never on the faults endpoint itself."""

from __future__ import annotations

import time

import pytest
import requests

from tests.sandbox.conftest import Sandbox

NO_FAULTS = {
    "latencyMs": 0,
    "unavailable": None,
    "rateLimit": None,
    "failNthWrite": None,
    "dropConnection": None,
}


def _set(sandbox: Sandbox, settings: dict) -> dict:
    response = sandbox.admin.request("POST", "/admin/faults", json=settings)
    assert response.status_code == 200, response.text
    return response.json()


def _state(sandbox: Sandbox) -> dict:
    return sandbox.admin.get("/admin/faults").json()


def test_no_faults_by_default(sandbox: Sandbox) -> None:
    state = _state(sandbox)
    assert {k: state[k] for k in NO_FAULTS} == NO_FAULTS
    assert state["injected"] == {
        "unavailable": 0,
        "rateLimit": 0,
        "failNthWrite": 0,
        "dropConnection": 0,
    }


def test_unavailable_answers_503_exactly_k_times(sandbox: Sandbox) -> None:
    assert _set(sandbox, {"unavailable": 2})["unavailable"] == {"remaining": 2, "retryAfter": None}
    first = sandbox.admin.get("/whoami")
    assert first.status_code == 503 and "Retry-After" not in first.headers
    assert first.json()["error"]["code"] == "UNAVAILABLE"
    assert _state(sandbox)["unavailable"] == {"remaining": 1, "retryAfter": None}
    assert sandbox.client(None).get("/health").status_code == 503  # counts every request
    assert sandbox.admin.get("/whoami").status_code == 200
    assert _state(sandbox)["unavailable"] is None
    assert _state(sandbox)["injected"]["unavailable"] == 2


def test_rate_limit_answers_429_with_retry_after(sandbox: Sandbox) -> None:
    _set(sandbox, {"rateLimit": {"count": 3, "retryAfter": 7}})
    for _ in range(3):
        response = sandbox.admin.put("Role", "CEO", {"label": "CEO"})
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "7"
        assert response.json()["error"]["code"] == "RATE_LIMITED"
    assert sandbox.admin.get("/config/Role/CEO").status_code == 404  # nothing was written
    assert sandbox.admin.put("Role", "CEO", {"label": "CEO"}).status_code == 201
    _set(sandbox, {"rateLimit": 1})
    assert sandbox.admin.get("/whoami").headers["Retry-After"] == "1"  # the default


def test_unavailable_comes_before_rate_limit(sandbox: Sandbox) -> None:
    _set(
        sandbox,
        {"unavailable": {"count": 1, "retryAfter": 2}, "rateLimit": {"count": 1, "retryAfter": 0}},
    )
    first, second, third = (sandbox.admin.get("/whoami") for _ in range(3))
    assert (first.status_code, first.headers["Retry-After"]) == (503, "2")
    assert (second.status_code, second.headers["Retry-After"]) == (429, "0")
    assert third.status_code == 200


def test_the_nth_write_fails_before_it_is_carried_out(sandbox: Sandbox) -> None:
    _set(sandbox, {"failNthWrite": 3})
    api = sandbox.admin
    assert api.put("Role", "A", {"label": "A"}).status_code == 201
    assert api.get("/config/Role/A").status_code == 200  # reads do not count
    assert _state(sandbox)["failNthWrite"] == {
        "n": 3,
        "status": 500,
        "repeat": False,
        "when": "before",
        "writesUntilFailure": 2,
    }
    assert api.batch([{"op": "put", "kind": "Role", "name": "B", "spec": {"label": "B"}}]).ok
    failed = api.put("Role", "C", {"label": "C"})
    assert failed.status_code == 500
    assert failed.json()["error"]["code"] == "INJECTED_FAILURE"
    assert api.get("/config/Role/C").status_code == 404
    assert api.put("Role", "C", {"label": "C"}).status_code == 201  # once only
    assert _state(sandbox)["failNthWrite"] is None


def test_a_write_can_fail_after_it_is_committed(sandbox: Sandbox) -> None:
    _set(sandbox, {"failNthWrite": {"n": 1, "status": 502, "when": "after"}})
    failed = sandbox.admin.put("Role", "A", {"label": "A"})
    assert failed.status_code == 502
    assert sandbox.admin.get("/config/Role/A").json()["version"] == 1


def test_the_nth_write_can_be_carried_out_and_its_answer_cut_off(sandbox: Sandbox) -> None:
    _set(sandbox, {"failNthWrite": {"n": 2, "when": "drop"}})
    assert sandbox.admin.put("Role", "A", {"label": "A"}).status_code == 201
    assert sandbox.admin.get("/whoami").ok  # reads pass
    with pytest.raises(
        (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)
    ):
        sandbox.admin.put("Role", "B", {"label": "B"})
    assert sandbox.admin.get("/config/Role/B").json()["version"] == 1
    assert sandbox.admin.put("Role", "C", {"label": "C"}).status_code == 201  # once only
    assert _state(sandbox)["injected"]["failNthWrite"] == 1


def test_every_nth_write_fails_with_repeat(sandbox: Sandbox) -> None:
    _set(sandbox, {"failNthWrite": {"n": 2, "status": 503, "repeat": True}})
    statuses = [sandbox.admin.put("Role", f"R{i}", {"label": "R"}).status_code for i in range(6)]
    assert statuses == [201, 503, 201, 503, 201, 503]
    assert _state(sandbox)["injected"]["failNthWrite"] == 3


def test_a_dropped_connection_cuts_the_response_after_the_write(sandbox: Sandbox) -> None:
    _set(sandbox, {"dropConnection": 1})
    with pytest.raises(
        (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)
    ):
        sandbox.admin.put("Role", "A", {"label": "A"})
    assert sandbox.admin.get("/config/Role/A").json()["version"] == 1
    assert _state(sandbox)["dropConnection"] is None


def test_a_dropped_response_without_body_is_cut_before_its_status(sandbox: Sandbox) -> None:
    sandbox.admin.put("Role", "A", {"label": "A"})
    _set(sandbox, {"dropConnection": {"count": 2}})
    with pytest.raises(requests.exceptions.ConnectionError):
        sandbox.admin.delete("Role", "A")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        sandbox.admin.get("/whoami")
    assert sandbox.admin.get("/config/Role/A").status_code == 404


def test_latency_is_added_to_every_request(sandbox: Sandbox) -> None:
    _set(sandbox, {"latencyMs": 150})
    started = time.perf_counter()
    assert sandbox.admin.get("/whoami").status_code == 200
    assert time.perf_counter() - started >= 0.15
    _set(sandbox, {"latencyMs": 60_000})  # a minute: past the client's 30 s timeout
    # the faults endpoint itself is never delayed (the client's 30 s timeout is far below)
    assert _state(sandbox)["latencyMs"] == 60_000
    assert sandbox.admin.request("DELETE", "/admin/faults").status_code == 200


def test_the_faults_endpoint_is_never_faulted(sandbox: Sandbox) -> None:
    _set(sandbox, {"unavailable": 1, "dropConnection": 1, "failNthWrite": 1})
    for _ in range(3):
        assert sandbox.admin.get("/admin/faults").status_code == 200
        _set(sandbox, {"unavailable": 1, "dropConnection": 1, "failNthWrite": 1})
    cleared = sandbox.admin.request("DELETE", "/admin/faults")
    assert cleared.status_code == 200
    assert {k: cleared.json()[k] for k in NO_FAULTS} == NO_FAULTS
    assert sandbox.admin.get("/whoami").status_code == 200


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"latency": 5},
            "fault settings: unknown setting 'latency' (settings: latencyMs, unavailable, rateLimit, failNthWrite, dropConnection)",
        ),
        (
            {"latencyMs": -1},
            "fault settings: latencyMs must be a whole number from 0 to 60000 (got -1)",
        ),
        (
            {"failNthWrite": 0},
            "fault settings: failNthWrite.n must be a whole number from 1 to 1000000 (got 0)",
        ),
        (
            {"failNthWrite": {"n": 1, "status": 200}},
            "fault settings: failNthWrite.status must be a whole number from 400 to 599 (got 200)",
        ),
        (
            {"failNthWrite": {"n": 1, "when": "during"}},
            "fault settings: failNthWrite.when must be 'before', 'after' or 'drop' (got 'during')",
        ),
        (
            {"rateLimit": "lots"},
            "fault settings: rateLimit must be an object or a whole number (got 'lots')",
        ),
        (
            {"rateLimit": {"count": 1, "every": 2}},
            "fault settings: rateLimit: unknown key 'every' (allowed: count, retryAfter)",
        ),
    ],
)
def test_invalid_settings_are_400_and_change_nothing(
    sandbox: Sandbox, settings: dict, message: str
) -> None:
    _set(sandbox, {"rateLimit": 1})
    response = sandbox.admin.request("POST", "/admin/faults", json=settings)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == message
    assert _state(sandbox)["rateLimit"] == {"remaining": 1, "retryAfter": 1}


def test_faults_set_at_start_up(store) -> None:
    from crmctl.sandbox import start_server

    token = store.initialise()
    server = start_server(store, faults={"unavailable": 1})
    try:
        headers = {"Authorization": f"Bearer {token}"}
        assert (
            requests.get(f"{server.api_url}/whoami", headers=headers, timeout=5).status_code == 503
        )
        assert (
            requests.get(f"{server.api_url}/whoami", headers=headers, timeout=5).status_code == 200
        )
    finally:
        server.stop()
