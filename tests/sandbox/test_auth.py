"""Authentication and authorisation: bearer tokens, admins, ordinary and inactive users."""

from __future__ import annotations

import sqlite3

import pytest
import requests

from crmctl.sandbox import SandboxError, SandboxStore
from crmctl.sandbox.auth import token_hash
from tests.sandbox.conftest import Sandbox


def _error(response: requests.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
        {"Authorization": "Bearer crmsbx_not-a-real-token"},
    ],
    ids=["none", "empty", "basic", "unknown"],
)
def test_requests_without_a_valid_token_are_401(sandbox: Sandbox, headers: dict) -> None:
    for path in ("/whoami", "/config", "/config/Role", "/audit", "/admin/faults"):
        response = requests.get(sandbox.server.api_url + path, headers=headers, timeout=10)
        assert _error(response) == (401, "UNAUTHORIZED"), path
        assert response.json()["error"]["message"] in (
            "missing bearer token: send Authorization: Bearer <token>",
            "unknown or revoked token",
        )


def test_health_and_openapi_need_no_token(sandbox: Sandbox) -> None:
    anonymous = sandbox.client(None)
    assert anonymous.get("/health").json() == {"status": "ok"}
    assert anonymous.get("/openapi.json").json()["openapi"].startswith("3.")


def test_whoami_of_the_built_in_admin(sandbox: Sandbox) -> None:
    assert sandbox.admin.get("/whoami").json() == {
        "username": "admin@sandbox.local",
        "isAdmin": True,
        "viewSetup": True,
        "active": True,
    }


def test_tokens_are_stored_only_as_sha256_hashes(sandbox: Sandbox) -> None:
    conn = sqlite3.connect(sandbox.store.path)
    stored = [row[0] for row in conn.execute("SELECT token_hash FROM tokens")]
    assert stored == [token_hash(sandbox.token)]
    assert len(stored[0]) == 64 and sandbox.token not in stored[0]
    dump = "\n".join(conn.iterdump())
    assert sandbox.token not in dump


def test_a_user_without_admin_permissions_neither_reads_the_setup_nor_writes(org: Sandbox) -> None:
    rep = org.client(org.admin.token_for("rep@example.com"))
    assert rep.get("/whoami").json() == {
        "username": "rep@example.com",
        "isAdmin": False,
        "viewSetup": False,
        "active": True,
    }
    # Reading the setup needs ViewSetup (tests/sandbox/test_hardening.py covers who may).
    assert _error(rep.get("/config/Role/CEO")) == (403, "FORBIDDEN")
    assert _error(rep.get("/audit")) == (403, "FORBIDDEN")
    refused = rep.put("Role", "Other", {"label": "Other"})
    assert _error(refused) == (403, "FORBIDDEN")
    assert refused.json()["error"]["message"] == (
        "user 'rep@example.com' may not do this: it needs an admin "
        "(a permission set with ModifyAllData or CustomizeApplication)"
    )
    assert _error(rep.delete("Role", "Sales")) == (403, "FORBIDDEN")
    assert _error(rep.batch([])) == (403, "FORBIDDEN")
    assert _error(rep.request("POST", "/tokens", json={"username": "rep@example.com"})) == (
        403,
        "FORBIDDEN",
    )
    assert _error(rep.get("/admin/faults")) == (403, "FORBIDDEN")


@pytest.mark.parametrize("permission", ["ModifyAllData", "CustomizeApplication"])
def test_a_user_with_an_admin_permission_is_an_admin(org: Sandbox, permission: str) -> None:
    assert org.admin.put("PermissionSet", "Config", {"label": "C", "system": [permission]}).ok
    user = {"email": "a@example.com", "lastName": "A", "permissionSets": ["config"]}  # any case
    assert org.admin.put("User", "a@example.com", user).status_code == 201
    alice = org.client(org.admin.token_for("a@example.com"))
    assert alice.get("/whoami").json()["isAdmin"] is True
    created = alice.put("Role", "Support", {"label": "Support"})
    assert created.status_code == 201
    assert created.json()["updatedBy"] == "a@example.com"
    assert org.admin.get("/audit").json()["items"][-1]["actor"] == "a@example.com"


def test_an_inactive_user_is_refused_everywhere(org: Sandbox) -> None:
    token = org.admin.token_for("rep@example.com")
    rep_spec = org.admin.get("/config/User/rep@example.com").json()["spec"]
    assert org.admin.put("User", "rep@example.com", {**rep_spec, "active": False}).ok
    rep = org.client(token)
    for response in (rep.get("/whoami"), rep.get("/config"), rep.put("Role", "X", {"label": "X"})):
        assert _error(response) == (403, "USER_INACTIVE")
        assert response.json()["error"]["message"] == "user 'rep@example.com' is inactive"
    # Reactivated, the same token works again.
    assert org.admin.put("User", "rep@example.com", rep_spec).ok
    assert rep.get("/whoami").status_code == 200


def test_the_token_of_a_deleted_user_stops_working(org: Sandbox) -> None:
    token = org.admin.token_for("rep@example.com")
    assert org.admin.delete("User", "rep@example.com").status_code == 204
    response = org.client(token).get("/whoami")
    assert _error(response) == (401, "UNAUTHORIZED")
    assert response.json()["error"]["message"] == (
        "the user of this token ('rep@example.com') no longer exists"
    )


def test_tokens_are_only_issued_for_existing_principals(sandbox: Sandbox) -> None:
    response = sandbox.admin.request("POST", "/tokens", json={"username": "nobody@example.com"})
    assert _error(response) == (404, "NOT_FOUND")
    assert response.json()["error"]["message"] == "no sandbox user named 'nobody@example.com'"
    bad = sandbox.admin.request("POST", "/tokens", json={"user": "x"})
    assert _error(bad) == (400, "BAD_REQUEST")


def test_initialise_is_idempotent_and_issues_a_new_token_each_time(store: SandboxStore) -> None:
    first, second = store.initialise(), store.initialise()
    assert first != second and first.startswith("crmsbx_")
    assert store.authenticate(first) == store.authenticate(second)
    with pytest.raises(SandboxError) as refused:
        store.authenticate("crmsbx_wrong")
    assert (refused.value.status, refused.value.code) == (401, "UNAUTHORIZED")
