"""How another module adds endpoints: the route table, the request object, transactions."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from crmctl.sandbox import Request, SandboxError
from tests.sandbox.conftest import Sandbox


@pytest.fixture
def extra_routes(org: Sandbox) -> Iterator[None]:
    route = org.server.routes.route  # this server's table: no other server sees these

    @route("POST", "/api/v1/notes/{topic}")
    def add_note(request: Request):
        body = request.json_object()
        with request.store.transaction() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS notes (topic TEXT, text TEXT, by TEXT)")
            conn.execute(
                "INSERT INTO notes VALUES (?, ?, ?)",
                (request.params["topic"], body["text"], request.actor),
            )
            count = conn.execute("SELECT count(*) FROM notes").fetchone()[0]
        return 201, {"count": count, "tag": request.query.get("tag")}, {"Location": "/x"}

    @route("GET", "/api/v1/notes-public", auth=False)
    def public(request: Request):
        return 200, {"principal": request.principal}, {}

    @route("DELETE", "/api/v1/notes/{topic}", admin=True)
    def forget(request: Request):
        raise SandboxError(
            "not today", status=409, code="BUSY", details={"topic": request.params["topic"]}
        )

    @route("GET", "/api/v1/notes/{topic}")
    def broken(request: Request):
        raise RuntimeError("a bug with a secret in it")

    yield


def test_a_registered_route_gets_params_query_body_and_principal(
    org: Sandbox, extra_routes: None
) -> None:
    response = org.admin.request("POST", "/notes/release%20plan?tag=q3", json={"text": "ship it"})
    assert response.status_code == 201
    assert response.json() == {"count": 1, "tag": "q3"}
    assert response.headers["Location"] == "/x"
    with org.store.transaction() as conn:
        assert conn.execute("SELECT * FROM notes").fetchall() == [
            ("release plan", "ship it", "admin@sandbox.local")
        ]


def test_route_options_auth_and_admin(org: Sandbox, extra_routes: None) -> None:
    assert org.client(None).get("/notes-public").json() == {"principal": None}
    rep = org.client(org.admin.token_for("rep@example.com"))
    refused = rep.request("DELETE", "/notes/x")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "FORBIDDEN")
    busy = org.admin.request("DELETE", "/notes/x")
    assert busy.status_code == 409
    assert busy.json() == {
        "error": {"code": "BUSY", "message": "not today", "details": {"topic": "x"}}
    }


def test_a_bug_is_a_500_without_details_and_is_logged(
    org: Sandbox, extra_routes: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="crmctl.sandbox"):
        response = org.admin.get("/notes/x")
    assert response.status_code == 500
    assert response.json() == {
        "error": {
            "code": "INTERNAL",
            "message": "internal error; see the server log",
            "details": {},
        }
    }
    assert "secret" not in response.text
    assert "RuntimeError: a bug with a secret in it" in caplog.text
