"""Configuration over HTTP: put, get, list, delete of every kind; ETags, If-Match, pagination."""

from __future__ import annotations

import http.client

import pytest

from crmctl.kinds import HANDLERS, KINDS
from tests.sandbox.conftest import ORG, Sandbox


def _error(response) -> tuple[int, str, str]:
    body = response.json()["error"]
    return response.status_code, body["code"], body["message"]


def test_every_kind_can_be_created_read_listed_replaced_and_deleted(sandbox: Sandbox) -> None:
    api = sandbox.admin
    for kind, name, spec in ORG:
        created = api.put(kind, name, spec)
        assert created.status_code == 201, created.text
        assert created.headers["ETag"] == '"1"'
        item = created.json()
        assert item["kind"] == kind and item["name"] == name and item["version"] == 1
        assert item["spec"] == HANDLERS[kind].canonical(spec)  # complete: defaults filled in
        assert item["updatedBy"] == "admin@sandbox.local"
        assert item["updatedAt"].endswith("Z")
        fetched = api.get(f"/config/{kind}/{name}")
        assert fetched.status_code == 200 and fetched.json() == item
        assert fetched.headers["ETag"] == '"1"'
    for kind in KINDS:
        listed = api.get(f"/config/{kind}").json()
        assert [i["name"] for i in listed["items"]] == sorted(n for k, n, _ in ORG if k == kind)
        assert listed["nextCursor"] is None
    replaced = api.put("Role", "Sales", {"label": "Sales team", "parent": "CEO"})
    assert replaced.status_code == 200
    assert replaced.headers["ETag"] == '"2"'
    assert replaced.json()["spec"] == {"label": "Sales team", "parent": "CEO"}
    for kind, name, _ in reversed(ORG):  # dependents first
        deleted = api.delete(kind, name)
        assert deleted.status_code == 204, deleted.text
        assert deleted.content == b""
        assert _error(api.get(f"/config/{kind}/{name}")) == (
            404,
            "NOT_FOUND",
            f"{kind}/{name} does not exist",
        )
    assert api.get("/config").json() == {"items": [], "nextCursor": None}


def test_a_put_that_changes_nothing_keeps_the_version(org: Sandbox) -> None:
    again = org.admin.put("Role", "CEO", {"label": "CEO", "parent": None})
    assert again.status_code == 200
    assert again.json()["version"] == 1
    assert len(org.admin.get("/audit").json()["items"]) == len(ORG)


def test_names_are_exact(org: Sandbox) -> None:
    assert org.admin.get("/config/Role/ceo").status_code == 404
    assert org.admin.get("/config/Role/CEO").status_code == 200


def test_schema_errors_are_400_invalid_spec_with_every_message(sandbox: Sandbox) -> None:
    response = sandbox.admin.put("CustomField", "Account.Bad__c", {"type": "Txt", "lenght": 3})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "INVALID_SPEC"
    assert error["details"]["stage"] == "schema"
    assert set(error["details"]["errors"]) == {
        "spec: missing required key 'label'",
        "spec: unknown key 'lenght'",
        "spec.type must be one of Text, TextArea, LongTextArea, Number, Currency, Percent, "
        "Date, DateTime, Checkbox, Email, Phone, Url, Picklist, MultiPicklist, Lookup, "
        "MasterDetail, Time, Html, AutoNumber, Formula, Summary (got 'Txt')",
    }
    bad_name = sandbox.admin.put("CustomObject", "Invoice", {"label": "Invoice"})
    assert bad_name.json()["error"]["details"]["errors"] == [
        "metadata.name: a CustomObject name is an API name ending in __c, e.g. Invoice__c "
        "(got 'Invoice')"
    ]
    not_a_mapping = sandbox.admin.put("Role", "CEO", ["label"])
    assert not_a_mapping.json()["error"]["details"]["errors"] == [
        "spec must be a mapping, not a list"
    ]


@pytest.mark.parametrize(
    ("kind", "name", "spec", "message"),
    [
        (
            "CustomField",
            "Nope__c.X__c",
            {"type": "Text", "label": "X"},
            "CustomField/Nope__c.X__c: object 'Nope__c' is neither declared as a CustomObject nor a standard object",
        ),
        (
            "ValidationRule",
            "Account.Bad",
            {"condition": "Nope__c > 1", "errorMessage": "x"},
            "ValidationRule/Account.Bad: spec.condition: unknown field Nope__c (formula line 1, column 1)",
        ),
        ("ValidationRule", "Account.Syntax", {"condition": "AND(", "errorMessage": "x"}, None),
        (
            "Role",
            "Lost",
            {"label": "Lost", "parent": "Nowhere"},
            "Role/Lost: parent role 'Nowhere' is not declared",
        ),
        (
            "User",
            "u@example.com",
            {"email": "u@example.com", "lastName": "U", "permissionSets": ["Ghost"]},
            "User/u@example.com: permission set 'Ghost' is not declared",
        ),
        (
            "PermissionSet",
            "P",
            {"label": "P", "fields": {"Account.Nope__c": ["read"]}},
            "PermissionSet/P: fields: 'Account.Nope__c' is not a field of Account",
        ),
    ],
)
def test_reference_checks_run_against_the_live_configuration(
    sandbox: Sandbox, kind: str, name: str, spec: dict, message: str | None
) -> None:
    response = sandbox.admin.put(kind, name, spec)
    status, code, text = _error(response)
    assert (status, code) == (400, "INVALID_SPEC")
    assert response.json()["error"]["details"]["stage"] == "references"
    if message:
        assert text == message
    assert sandbox.admin.get(f"/config/{kind}/{name}").status_code == 404


def test_references_are_case_insensitive(org: Sandbox) -> None:
    rule = {"condition": "amount__C < 0", "errorMessage": "x", "errorField": "AMOUNT__c"}
    assert org.admin.put("ValidationRule", "invoice__c.Lower", rule).status_code == 201
    user = {
        "email": "b@example.com",
        "lastName": "B",
        "role": "sales",
        "permissionSets": ["SALES_REP"],
    }
    assert org.admin.put("User", "b@example.com", user).status_code == 201


def test_if_match(org: Sandbox) -> None:
    api = org.admin
    stale = api.put("Role", "Sales", {"label": "S", "parent": "CEO"}, headers={"If-Match": '"7"'})
    assert _error(stale) == (
        412,
        "PRECONDITION_FAILED",
        "Role/Sales is at version 1; the request expected version 7",
    )
    assert stale.json()["error"]["details"] == {"expected": 7, "actual": 1}
    fresh = api.put("Role", "Sales", {"label": "S", "parent": "CEO"}, headers={"If-Match": '"1"'})
    assert fresh.status_code == 200 and fresh.headers["ETag"] == '"2"'
    absent = api.put("Role", "New", {"label": "N"}, headers={"If-Match": '"0"'})
    assert absent.status_code == 201
    again = api.put("Role", "New", {"label": "N2"}, headers={"If-Match": '"0"'})
    assert _error(again)[:2] == (412, "PRECONDITION_FAILED")
    assert (
        _error(again)[2]
        == "Role/New is at version 1; the request expected it to be absent (version 0)"
    )
    assert _error(api.delete("Role", "New", headers={"If-Match": '"2"'}))[:2] == (
        412,
        "PRECONDITION_FAILED",
    )
    assert api.delete("Role", "New", headers={"If-Match": 'W/"1"'}).status_code == 204
    garbage = api.put("Role", "New", {"label": "N"}, headers={"If-Match": "latest"})
    assert _error(garbage)[:2] == (400, "BAD_REQUEST")


def test_pagination_walks_every_item_once(sandbox: Sandbox) -> None:
    names = [f"Role{i:03d}" for i in range(57)]
    assert sandbox.admin.batch(
        [{"op": "put", "kind": "Role", "name": n, "spec": {"label": n}} for n in names]
    ).ok
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 10, **({"cursor": cursor} if cursor else {})}
        page = sandbox.admin.get("/config/Role", params=params).json()
        pages += 1
        seen += [i["name"] for i in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == names and pages == 6
    assert len(sandbox.admin.get("/config/Role").json()["items"]) == 57  # default limit 500
    exact = sandbox.admin.get("/config/Role", params={"limit": 57}).json()
    assert len(exact["items"]) == 57 and exact["nextCursor"] is None


def test_listing_across_kinds_follows_apply_order(org: Sandbox) -> None:
    everything, cursor = [], None
    while True:
        page = org.admin.get(
            "/config", params={"limit": 4, **({"cursor": cursor} if cursor else {})}
        ).json()
        everything += [(i["kind"], i["name"]) for i in page["items"]]
        if not (cursor := page["nextCursor"]):
            break
    assert everything == sorted(
        ((k, n) for k, n, _ in ORG), key=lambda a: (KINDS.index(a[0]), a[1])
    )
    some = org.admin.get("/config", params={"kinds": "User,Role"}).json()["items"]
    assert [(i["kind"], i["name"]) for i in some] == [
        ("Role", "CEO"),
        ("Role", "Sales"),
        ("User", "rep@example.com"),
    ]
    assert org.store.list_all_config(["Role"]) == org.admin.get("/config/Role").json()["items"]


@pytest.mark.parametrize("limit", ["0", "2001", "-1", "ten"])
def test_limit_out_of_bounds_is_400(sandbox: Sandbox, limit: str) -> None:
    response = sandbox.admin.get("/config/Role", params={"limit": limit})
    assert _error(response)[:2] == (400, "BAD_REQUEST")


def test_limit_bounds_are_inclusive(sandbox: Sandbox) -> None:
    for limit in ("1", "2000"):
        assert sandbox.admin.get("/config/Role", params={"limit": limit}).status_code == 200


def test_a_cursor_that_is_not_kind_and_name_is_400(org: Sandbox) -> None:
    for cursor in ("garbage", "Nope:x", "role:CEO"):  # a cursor is Kind:name
        response = org.admin.get("/config/Role", params={"cursor": cursor})
        assert _error(response) == (
            400,
            "BAD_REQUEST",
            "invalid cursor: pass back a nextCursor from the same listing",
        )


def test_unknown_kinds_routes_and_methods(sandbox: Sandbox) -> None:
    api = sandbox.admin
    assert _error(api.get("/config/Widget")) == (404, "NOT_FOUND", "unknown kind 'Widget'")
    assert _error(api.put("Widget", "X", {}))[:2] == (404, "NOT_FOUND")
    assert _error(api.get("/config", params={"kinds": "Role,Widget"}))[:2] == (404, "NOT_FOUND")
    assert _error(api.get("/nothing/here")) == (
        404,
        "NOT_FOUND",
        "no such endpoint: /api/v1/nothing/here",
    )
    wrong = api.request("PATCH", "/config/Role/CEO")
    assert _error(wrong)[:2] == (405, "METHOD_NOT_ALLOWED")
    assert wrong.headers["Allow"] == "DELETE, GET, PUT"


def test_malformed_bodies_are_400(sandbox: Sandbox) -> None:
    api = sandbox.admin
    raw = api.request(
        "PUT", "/config/Role/CEO", data=b'{"spec": ', headers={"Content-Type": "application/json"}
    )
    assert _error(raw)[:2] == (400, "BAD_REQUEST")
    assert _error(raw)[2].startswith("malformed JSON body: ")
    not_object = api.request("PUT", "/config/Role/CEO", json=[1, 2])
    assert _error(not_object) == (400, "BAD_REQUEST", "the request body must be a JSON object")
    no_spec = api.request("PUT", "/config/Role/CEO", json={"label": "CEO"})
    assert _error(no_spec) == (400, "BAD_REQUEST", 'the body must be {"spec": {...}}')
    binary = api.request("PUT", "/config/Role/CEO", data=b"\xff\xfe\x00")
    assert _error(binary)[:2] == (400, "BAD_REQUEST")
    nan = api.request("PUT", "/config/Role/CEO", data=b'{"spec": {"label": NaN}}')
    assert _error(nan) == (400, "BAD_REQUEST", "malformed JSON body: NaN is not JSON")
    deep = api.request("PUT", "/config/Role/CEO", data=b"[" * 100_000 + b"]" * 100_000)
    assert _error(deep)[:2] == (400, "BAD_REQUEST")


def test_the_connection_is_kept_alive_across_answers_and_errors(sandbox: Sandbox) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", sandbox.server.port, timeout=10)
    headers = {"Authorization": f"Bearer {sandbox.token}", "Content-Type": "application/json"}
    requests_ = [
        ("GET", "/api/v1/health", None, 200),
        ("PUT", "/api/v1/config/Role/CEO", b'{"spec": {"label": "CEO"}}', 201),
        ("GET", "/api/v1/config/Role/Nope", None, 404),
        ("PUT", "/api/v1/config/Role/CEO", b"{oops", 400),
        ("DELETE", "/api/v1/config/Role/CEO", None, 204),
    ]
    conn.connect()
    sock = conn.sock
    for method, path, body, status in requests_:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        assert response.status == status
        assert not response.will_close
        assert conn.sock is sock  # the same connection every time
    conn.close()


def test_a_cursor_resumes_after_its_item_in_apply_order(org: Sandbox) -> None:
    def names(path: str, cursor: str) -> list[str]:
        return [i["name"] for i in org.admin.get(path, params={"cursor": cursor}).json()["items"]]

    assert names("/config/Role", "Role:CEO") == ["Sales"]
    assert names("/config/Role", "Role:") == ["CEO", "Sales"]  # before every name
    assert names("/config/Role", "CustomObject:Zzz") == ["CEO", "Sales"]  # an earlier kind
    assert names("/config/Role", "User:a") == []  # a later kind: nothing is left
    assert names("/config?kinds=Role,User", "Role:Sales") == ["rep@example.com"]
