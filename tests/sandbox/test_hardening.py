"""Hostile requests to the sandbox server: unread bodies, size limits, deep queries,
duplicate JSON keys, and who may read the setup (issue 12, item 8)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from crmctl.sandbox import SandboxStore, start_server
from crmctl.sandbox.salesforce import soql
from crmctl.sandbox.server import DEFAULT_MAX_BODY_BYTES, PUBLIC_MAX_BODY_BYTES
from tests.salesforce_org import SalesforceOrg, salesforce_org
from tests.sandbox.conftest import RecordsOrg, Sandbox
from tests.sandbox.raw_http import read_response, request_head, two_requests

JSON = {"Content-Type": "application/json"}
HUGE = 1_000_000_000  # a declared body of 1 GB that is never sent


def _error(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


# --- The body is read only after the token and the size are checked ----------------------


def test_an_unauthenticated_request_is_answered_before_its_body_is_sent(sandbox: Sandbox) -> None:
    answer = request_head(
        sandbox.server.port, "PUT", "/api/v1/config/Role/Big", {**JSON, "Content-Length": str(HUGE)}
    )
    assert answer.status == 401
    assert answer.json() == _error(
        "UNAUTHORIZED", "missing bearer token: send Authorization: Bearer <token>"
    )
    assert answer.headers["connection"] == "close"  # the unread body makes it unusable


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_a_wrong_token_is_refused_before_the_body_is_sent(sandbox: Sandbox, method: str) -> None:
    path = "/api/v1/config/Role/Big" if method == "PUT" else "/api/v1/config/batch"
    headers = {**JSON, "Content-Length": str(HUGE), "Authorization": "Bearer crmsbx_nobody"}
    answer = request_head(sandbox.server.port, method, path, headers)
    assert answer.status == 401
    assert answer.json() == _error("UNAUTHORIZED", "unknown or revoked token")


def test_a_user_who_may_not_write_is_refused_before_the_body_is_sent(org: Sandbox) -> None:
    token = org.admin.token_for("rep@example.com")
    headers = {**JSON, "Content-Length": str(HUGE), "Authorization": f"Bearer {token}"}
    answer = request_head(org.server.port, "POST", "/api/v1/config/batch", headers)
    assert answer.status == 403
    assert answer.json()["error"]["code"] == "FORBIDDEN"


def test_a_body_over_the_limit_is_answered_413_before_it_is_sent(sandbox: Sandbox) -> None:
    length = DEFAULT_MAX_BODY_BYTES + 1
    headers = {**JSON, "Content-Length": str(length), "Authorization": f"Bearer {sandbox.token}"}
    answer = request_head(sandbox.server.port, "POST", "/api/v1/config/batch", headers)
    assert answer.status == 413
    assert answer.json() == _error(
        "PAYLOAD_TOO_LARGE",
        f"request body too large: {length} bytes, at most {DEFAULT_MAX_BODY_BYTES}",
        {"limit": DEFAULT_MAX_BODY_BYTES, "length": length},
    )
    assert DEFAULT_MAX_BODY_BYTES == 16 * 1024 * 1024


def test_public_routes_take_small_bodies_only(sandbox: Sandbox) -> None:
    length = PUBLIC_MAX_BODY_BYTES + 1
    answer = request_head(
        sandbox.server.port, "GET", "/api/v1/health", {"Content-Length": str(length)}
    )
    assert answer.status == 413
    assert answer.json()["error"]["details"] == {"limit": 64 * 1024, "length": length}
    token = request_head(
        sandbox.server.port, "POST", "/services/oauth2/token", {"Content-Length": str(HUGE)}
    )
    assert token.status == 413


def test_an_unknown_path_is_answered_before_the_body_is_sent(sandbox: Sandbox) -> None:
    answer = request_head(
        sandbox.server.port, "PUT", "/api/v1/nowhere", {"Content-Length": str(HUGE)}
    )
    assert answer.status == 404
    assert answer.json() == _error("NOT_FOUND", "no such endpoint: /api/v1/nowhere")


def test_a_salesforce_call_without_a_session_is_refused_before_the_body_is_sent(
    sandbox: Sandbox,
) -> None:
    path = "/services/data/v61.0/composite/sobjects"
    headers = {**JSON, "Content-Length": str(HUGE), "Authorization": "Bearer nope"}
    answer = request_head(sandbox.server.port, "POST", path, headers)
    assert answer.status == 401
    assert answer.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID", "fields": []}
    ]


def test_the_limit_is_a_server_setting_and_exact(tmp_path: Path) -> None:
    store = SandboxStore.open(tmp_path / "sandbox.db")
    token = store.initialise()
    server = start_server(store, max_body=1000)
    try:
        session = requests.Session()
        session.headers.update({**JSON, "Authorization": f"Bearer {token}"})
        url = f"{server.api_url}/config/Role/Limit"
        body = json.dumps({"spec": {"label": "x"}, "pad": ""})
        at_limit = body.replace('"pad": ""', '"pad": "' + "p" * (1000 - len(body)) + '"')
        assert len(at_limit) == 1000
        assert session.put(url, data=at_limit).status_code == 201
        over = session.put(url, data=at_limit.replace('"pad": "', '"pad": "p'))
        assert over.status_code == 413
        assert over.json()["error"]["message"] == "request body too large: 1001 bytes, at most 1000"
        # A small refused body is read and dropped: the connection stays usable.
        assert session.get(f"{server.api_url}/config/Role/Limit").status_code == 200
    finally:
        server.stop()
        store.close()


def test_a_small_unread_body_keeps_the_connection_alive(sandbox: Sandbox) -> None:
    first = b"PUT /api/v1/config/Role/X HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789"
    second = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n"
    one, two = two_requests(sandbox.server.port, first, second)
    assert (one.status, two.status) == (401, 200)
    assert two.json() == {"status": "ok"}


def test_a_client_still_sending_a_large_body_reads_the_answer(sandbox: Sandbox) -> None:
    # Not reset mid-upload: the server drains (and drops) what the client still sends.
    response = requests.put(
        f"{sandbox.server.api_url}/config/Role/Big",
        data=b"x" * (2 * 1024 * 1024),
        headers=JSON,
        timeout=30,
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


def test_a_request_line_over_64_kib_is_refused_in_the_apis_own_words(sandbox: Sandbox) -> None:
    # http.server refuses it before routing; the answer is still the API's JSON error, which
    # the OpenAPI document lists for every operation (schemathesis found the HTML page).
    path = "/api/v1/records/Account?where=" + "x" * 70_000
    response = requests.get(sandbox.server.url + path, timeout=10)
    assert response.status_code == 414
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.json() == _error("URI_TOO_LONG", "Request-URI Too Long")
    many = {f"X-H{i}": "1" for i in range(101)}
    response = requests.get(sandbox.server.url + "/api/v1/health", headers=many, timeout=10)
    assert response.status_code == 431
    assert response.json()["error"]["code"] == "HEADERS_TOO_LARGE"
    doc = requests.get(sandbox.server.url + "/api/v1/openapi.json", timeout=10).json()
    operations = [op for item in doc["paths"].values() for op in item.values() if "responses" in op]
    assert operations and all({"414", "431"} <= set(op["responses"]) for op in operations), (
        "every operation lists the early refusals"
    )


def test_trace_is_not_allowed(sandbox: Sandbox) -> None:
    response = sandbox.admin.request("TRACE", "/config/Role/CEO")
    assert response.status_code == 405
    assert response.headers["Allow"] == "DELETE, GET, PUT"
    assert response.json() == _error(
        "METHOD_NOT_ALLOWED",
        "TRACE is not allowed on /api/v1/config/Role/CEO",
        {"allowed": ["DELETE", "GET", "PUT"]},
    )


# --- Duplicate keys in a JSON body ---------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ('{"spec": {"label": "A", "label": "B"}}', "label"),
        ('{"spec": {"label": "A"}, "spec": {"label": "B"}}', "spec"),
        ('{"spec": {"label": "A", "x": [{"k": 1, "k": 2}]}}', "k"),
    ],
)
def test_a_duplicate_key_is_refused_and_nothing_is_written(
    sandbox: Sandbox, body: str, key: str
) -> None:
    response = sandbox.admin.request("PUT", "/config/Role/Twice", data=body, headers=JSON)
    assert response.status_code == 400
    assert response.json() == _error(
        "BAD_REQUEST",
        f"malformed JSON body: the key '{key}' appears twice in one object",
        {"key": key},
    )
    assert sandbox.admin.get("/config/Role/Twice").status_code == 404
    assert sandbox.admin.get("/audit").json()["items"] == []


def test_a_duplicate_key_in_a_batch_or_a_record_is_refused(records_org: RecordsOrg) -> None:
    admin = records_org.admin
    batch = '{"operations": [{"op": "put", "kind": "Role", "name": "R", "name": "S", "spec": {}}]}'
    response = admin.request("POST", "/config/batch", data=batch, headers=JSON)
    assert (response.status_code, response.json()["error"]["details"]) == (400, {"key": "name"})
    record = '{"Name": "Acme", "Name": "Other"}'
    response = admin.request("POST", "/records/Account", data=record, headers=JSON)
    assert (response.status_code, response.json()["error"]["details"]) == (400, {"key": "Name"})
    assert admin.query("Account", "Name:eq:Acme").json()["records"] == []


# --- Query limits: 400 with a reason, never 500 --------------------------------------------


def test_too_many_record_filters_are_refused(records_org: RecordsOrg) -> None:
    response = records_org.admin.query("Account", *["Name:eq:x"] * 2000)
    assert response.status_code == 400
    assert response.json() == _error(
        "INVALID_QUERY", "2000 where filters; a query takes at most 100"
    )


def test_a_hundred_record_filters_are_answered(records_org: RecordsOrg) -> None:
    admin = records_org.admin
    made = admin.made("Account", {"Name": "Hundred Filters Ltd"})
    response = admin.query("Account", *["Name:eq:Hundred Filters Ltd"] * 100)
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["records"]] == [made]


def test_too_many_filter_values_and_too_long_filters_are_refused(records_org: RecordsOrg) -> None:
    values = ",".join(str(i) for i in range(500))
    response = records_org.admin.query("Account", *[f"Name:in:{values}"] * 5)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "the where filters hold 2500 values; a query takes at most 2000"
    )
    response = records_org.admin.query("Account", "Name:like:" + "%" * 10_000)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "where 'Name:like:" + "%" * 30 + "…' is 10010 characters long; at most 10000"
    )


@pytest.fixture
def sf_org(tmp_path: Path) -> Iterator[SalesforceOrg]:
    for item in salesforce_org(tmp_path):
        item.store.batch(
            [
                {"op": "put", "kind": "PermissionSet", "name": "Viewer",
                 "spec": {"label": "Viewer", "system": ["ViewSetup"]}},
                {"op": "put", "kind": "User", "name": "ann@example.com", "spec": {
                    "email": "ann@example.com", "lastName": "A"}},
                {"op": "put", "kind": "User", "name": "vic@example.com", "spec": {
                    "email": "vic@example.com", "lastName": "V", "permissionSets": ["Viewer"]}},
            ],
            "tests",
        )  # fmt: skip
        yield item


def _soql(org: SalesforceOrg, token: str, text: str) -> requests.Response:
    return requests.get(
        f"{org.url}/services/data/v61.0/query",
        params={"q": text},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def test_deeply_nested_soql_is_malformed_not_a_crash(sf_org: SalesforceOrg) -> None:
    token = sf_org.token()
    deep = "SELECT Id FROM User WHERE " + "(" * 5000 + "IsActive = true" + ")" * 5000
    response = _soql(sf_org, token, deep)
    assert response.status_code == 400
    assert response.json() == [
        {
            "message": "conditions nest more than 100 deep (parentheses, NOT)",
            "errorCode": "MALFORMED_QUERY",
            "fields": [],
        }
    ]
    nots = "SELECT Id FROM User WHERE " + "NOT " * 101 + "IsActive = true"
    assert _soql(sf_org, token, nots).json()[0]["errorCode"] == "MALFORMED_QUERY"
    at_limit = "SELECT Username FROM User WHERE " + "(" * 100 + "IsActive = true" + ")" * 100
    # the two active users and the built-in admin
    assert _soql(sf_org, token, at_limit).json()["totalSize"] == 3


def test_a_long_flat_soql_condition_is_answered(sf_org: SalesforceOrg) -> None:
    token = sf_org.token()
    chain = " OR ".join(["Username = 'nobody@example.com'"] * 1500 + ["LastName = 'V'"])
    response = _soql(sf_org, token, f"SELECT Username FROM User WHERE {chain}")
    assert response.status_code == 200
    assert [r["Username"] for r in response.json()["records"]] == ["vic@example.com"]
    ands = " AND ".join(["IsActive = true"] * 2000)
    # the two active users and the built-in admin
    assert _soql(sf_org, token, f"SELECT Id FROM User WHERE {ands}").json()["totalSize"] == 3


def test_soql_numbers_and_length_are_bounded(sf_org: SalesforceOrg) -> None:
    token = sf_org.token()
    response = _soql(sf_org, token, "SELECT Id FROM User LIMIT " + "9" * 5000)
    assert response.status_code == 400
    assert response.json()[0]["message"] == "LIMIT must be a whole number below 10^9"
    response = _soql(sf_org, token, "SELECT Id FROM User WHERE LastName = " + "1" * 5000)
    assert (response.status_code, response.json()[0]["errorCode"]) == (400, "MALFORMED_QUERY")
    with pytest.raises(soql.SoqlError) as raised:  # longer than a request line can carry
        soql.parse("SELECT Id FROM User WHERE " + "IsActive = true AND " * 5000 + "IsActive = true")
    assert raised.value.message == (
        "the query is 100,041 characters long; a SOQL statement may have at most 100,000"
    )


def test_soql_like_matches_without_backtracking() -> None:
    rows = [{"Username": "a" * 5000}, {"Username": "abc"}, {"Username": "aXbYc"}]
    query = soql.parse("SELECT Username FROM User WHERE Username LIKE '" + "%a" * 40 + "%b'")
    assert soql.run(query, {"User": {"Username": None}}, rows)[0] == []
    query = soql.parse("SELECT Username FROM User WHERE Username LIKE 'A%B_c'")
    found, _ = soql.run(query, {"User": {"Username": None}}, rows)
    assert found == [{"Username": "aXbYc"}]


# --- Who may read the setup: admins and ViewSetup ------------------------------------------

SETUP_READS = ["/config", "/config/User", "/config/User/rep@example.com", "/audit"]


def test_a_user_without_view_setup_reads_no_configuration_users_or_audit(org: Sandbox) -> None:
    rep = org.client(org.admin.token_for("rep@example.com"))
    for path in SETUP_READS:
        response = rep.get(path)
        assert response.status_code == 403, path
        assert response.json() == _error(
            "FORBIDDEN",
            "user 'rep@example.com' may not read the configuration, users or audit trail: it "
            "needs the ViewSetup system permission (View Setup and Configuration) or an admin "
            "permission",
            {"username": "rep@example.com", "permission": "ViewSetup"},
        )
    assert rep.get("/whoami").json()["viewSetup"] is False


@pytest.mark.parametrize("permission", ["ViewSetup", "ViewAllData", "ManageUsers"])
def test_view_setup_reads_the_setup_but_does_not_change_it(org: Sandbox, permission: str) -> None:
    viewer_set = {"label": "Setup viewer", "system": [permission]}
    assert org.admin.put("PermissionSet", "Setup_Viewer", viewer_set).status_code == 201
    user = {"email": "vic@example.com", "lastName": "V", "permissionSets": ["Setup_Viewer"]}
    assert org.admin.put("User", "vic@example.com", user).status_code == 201
    vic = org.client(org.admin.token_for("vic@example.com"))
    for path in SETUP_READS:
        assert vic.get(path).status_code == 200, path
    assert vic.get("/config/User/rep@example.com").json()["spec"]["lastName"] == "Rep"
    assert vic.get("/whoami").json() == {
        "username": "vic@example.com",
        "isAdmin": False,
        "viewSetup": True,
        "active": True,
    }
    assert vic.put("Role", "Other", {"label": "Other"}).json()["error"]["code"] == "FORBIDDEN"


def test_the_salesforce_api_hides_setup_objects_without_view_setup(sf_org: SalesforceOrg) -> None:
    ann, vic = sf_org.token("ann@example.com"), sf_org.token("vic@example.com")
    refused = _soql(sf_org, ann, "SELECT Id, Name FROM PermissionSet")
    assert refused.status_code == 403
    assert refused.json() == [
        {
            "message": "querying PermissionSet needs a user with the ViewSetup (View Setup and "
            "Configuration) permission",
            "errorCode": "INSUFFICIENT_ACCESS",
            "fields": [],
        }
    ]
    assert _soql(sf_org, ann, "SELECT Id FROM PermissionSetAssignment").status_code == 403
    assert _soql(sf_org, ann, "SELECT Username FROM User").status_code == 200  # as in Salesforce
    names = [
        r["Name"] for r in _soql(sf_org, vic, "SELECT Name FROM PermissionSet").json()["records"]
    ]
    assert names == ["Viewer"]


def test_expect_100_continue_is_answered_only_once_the_body_is_wanted(sandbox: Sandbox) -> None:
    refused = request_head(
        sandbox.server.port,
        "PUT",
        "/api/v1/config/Role/Big",
        {**JSON, "Content-Length": str(HUGE), "Expect": "100-continue"},
    )
    assert refused.status == 401  # the final answer, not 100 Continue
    body = json.dumps({"spec": {"label": "Small"}}).encode()
    headers = {
        **JSON,
        "Content-Length": str(len(body)),
        "Expect": "100-continue",
        "Authorization": f"Bearer {sandbox.token}",
    }
    with socket.create_connection(("127.0.0.1", sandbox.server.port), timeout=30) as sock:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        sock.sendall(f"PUT /api/v1/config/Role/Small HTTP/1.1\r\nHost: x\r\n{head}\r\n".encode())
        assert sock.recv(1024) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        assert read_response(sock).status == 201


def test_the_salesforce_api_refuses_a_duplicate_key_in_its_own_shape(
    sf_org: SalesforceOrg,
) -> None:
    response = requests.post(
        f"{sf_org.url}/services/data/v61.0/composite/sobjects",
        data='{"allOrNone": true, "records": [], "records": []}',
        headers={**JSON, "Authorization": f"Bearer {sf_org.token()}"},
        timeout=30,
    )
    assert response.status_code == 400
    assert response.json() == [
        {
            "message": "malformed JSON body: the key 'records' appears twice in one object",
            "errorCode": "JSON_PARSER_ERROR",
            "fields": [],
        }
    ]


@pytest.mark.parametrize("number", ["1e999", "-1e999", "1E400"])
def test_a_number_beyond_floating_point_is_refused_not_stored_as_infinity(
    sandbox: Sandbox, number: str
) -> None:
    body = '{"spec": {"type": "Number", "label": "Big", "defaultValue": NUMBER}}'
    body = body.replace("NUMBER", number)
    response = sandbox.admin.request(
        "PUT", "/config/CustomField/Account.Big__c", data=body, headers=JSON
    )
    assert response.status_code == 400
    assert response.json() == _error(
        "BAD_REQUEST", f"malformed JSON body: the number {number} is out of range"
    )
    assert sandbox.admin.get("/config/CustomField/Account.Big__c").status_code == 404


def test_list_metadata_needs_view_setup(sf_org: SalesforceOrg) -> None:
    def list_roles(username: str) -> requests.Response:
        envelope = (
            '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:met="http://soap.sforce.com/2006/04/metadata"><soapenv:Header>'
            f"<met:SessionHeader><met:sessionId>{sf_org.token(username)}</met:sessionId>"
            "</met:SessionHeader></soapenv:Header><soapenv:Body><met:listMetadata><met:queries>"
            "<met:type>PermissionSet</met:type></met:queries></met:listMetadata></soapenv:Body>"
            "</soapenv:Envelope>"
        )
        return requests.post(
            f"{sf_org.url}/services/Soap/m/61.0",
            data=envelope.encode(),
            headers={"Content-Type": "text/xml", "SOAPAction": '""'},
            timeout=30,
        )

    refused = list_roles("ann@example.com")
    assert refused.status_code == 500  # a SOAP fault
    assert (
        "<faultcode>sf:INSUFFICIENT_ACCESS</faultcode><faultstring>INSUFFICIENT_ACCESS: "
        "listMetadata needs a user with the ViewSetup (View Setup and Configuration) "
        "permission</faultstring>"
    ) in refused.text
    allowed = list_roles("vic@example.com")
    assert allowed.status_code == 200
    assert "<fullName>Viewer</fullName>" in allowed.text
