"""OData as Dataverse answers it: paging without $skip, $batch change sets, 429, errors, etags."""

from __future__ import annotations

import re

from tests.dataverse_emulator.conftest import API, Env, table_body


def _accounts(dv: Env, count: int) -> None:
    for n in range(count):
        assert dv.post("accounts", {"name": f"Account {n:02d}"}).status_code == 204


def test_rows_are_paged_by_maxpagesize_and_next_link_only(dv: Env) -> None:
    _accounts(dv, 7)
    prefer = {"Prefer": "odata.maxpagesize=3"}
    first = dv.get("accounts?$select=name&$orderby=name desc", headers=prefer)
    assert first.headers["Preference-Applied"] == "odata.maxpagesize=3"
    names, page, pages = [], first.json(), 1
    while True:
        names += [r["name"] for r in page["value"]]
        link = page.get("@odata.nextLink")
        if not link:
            break
        assert "$skiptoken=" in link.replace("%24", "$")
        page, pages = dv.session.get(link, headers=prefer).json(), pages + 1
    assert pages == 3
    assert names == [f"Account {n:02d}" for n in range(6, -1, -1)]
    skip = dv.get("accounts?$skip=3")
    assert skip.status_code == 400
    assert skip.json() == {"error": {"code": "0x80060888",
                                     "message": "The query parameter $skip is not supported"}}  # fmt: skip
    counted = dv.get("accounts?$top=2&$count=true").json()
    assert len(counted["value"]) == 2 and counted["@odata.count"] == 2


def test_filter_select_and_unknown_properties(dv: Env) -> None:
    _accounts(dv, 3)
    found = dv.get(
        "accounts?$select=name&$filter=name eq 'Account 01' or contains(name,'02')"
    ).json()
    assert sorted(r["name"] for r in found["value"]) == ["Account 01", "Account 02"]
    assert set(found["value"][0]) == {"@odata.etag", "accountid", "name"}
    unknown = dv.get("accounts?$select=nope")
    assert unknown.status_code == 400
    assert unknown.json()["error"]["message"] == (
        "Could not find a property named 'nope' on type 'Microsoft.Dynamics.CRM.account'."
    )
    bad_write = dv.post("accounts", {"nope": 1})
    assert bad_write.status_code == 400
    assert "Invalid property 'nope'" in bad_write.json()["error"]["message"]


def test_etags_upsert_and_missing_rows(dv: Env) -> None:
    created = dv.post("accounts", {"name": "Contoso"}, headers={"Prefer": "return=representation"})
    assert created.status_code == 201
    row = created.json()
    path = f"accounts({row['accountid']})"
    assert (
        dv.patch(
            path, {"name": "Contoso Ltd"}, headers={"If-Match": row["@odata.etag"]}
        ).status_code
        == 204
    )  # noqa: E501
    stale = dv.patch(path, {"name": "Old"}, headers={"If-Match": row["@odata.etag"]})
    assert stale.status_code == 412 and stale.json()["error"]["code"] == "0x80060882"
    new_id = "6f3a2b1c-0000-4000-8000-000000000042"
    upserted = dv.patch(f"accounts({new_id})", {"name": "Fabrikam"})
    assert upserted.status_code == 204
    assert dv.get(f"accounts({new_id})?$select=name").json()["name"] == "Fabrikam"
    no_create = dv.patch("accounts(6f3a2b1c-0000-4000-8000-000000000043)", {"name": "X"},
                         headers={"If-Match": "*"})  # fmt: skip
    assert no_create.status_code == 404
    assert no_create.json()["error"]["code"] == "0x80040217"
    too_long = dv.post("accounts", {"name": "x" * 101})
    assert too_long.status_code == 400 and too_long.json()["error"]["code"] == "0x80044331"


def _batch(dv: Env, parts: list[str], boundary: str = "batch_AAA123") -> tuple[int, str]:
    body = "".join(f"--{boundary}\r\n{p}" for p in parts) + f"--{boundary}--\r\n"
    response = dv.session.post(
        f"{dv.api}/$batch", data=body.encode(),
        headers={"Content-Type": f"multipart/mixed; boundary={boundary}"}, timeout=30)  # fmt: skip
    return response.status_code, response.text


def _change_set(requests: list[tuple[str, str, str]]) -> str:
    inner = ""
    for n, (method, url, body) in enumerate(requests, start=1):
        inner += (
            "--changeset_BBB456\r\nContent-Type: application/http\r\n"
            f"Content-Transfer-Encoding: binary\r\nContent-ID: {n}\r\n\r\n"
            f"{method} {url} HTTP/1.1\r\nContent-Type: application/json; type=entry\r\n\r\n"
            f"{body}\r\n"
        )
    inner += "--changeset_BBB456--\r\n"
    return f"Content-Type: multipart/mixed; boundary=changeset_BBB456\r\n\r\n{inner}"


def test_batch_change_sets_are_atomic(dv: Env) -> None:
    read = ("Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
            f"GET {API}/accounts?$select=name HTTP/1.1\r\nAccept: application/json\r\n\r\n")  # fmt: skip
    good = _change_set([("POST", f"{API}/accounts", '{"name":"A"}'),
                        ("POST", f"{API}/accounts",
                         '{"name":"B","parentaccountid@odata.bind":"$1"}')])  # fmt: skip
    status, text = _batch(dv, [good, read])
    assert status == 200
    assert text.count("HTTP/1.1 204 No Content") == 2 and "HTTP/1.1 200 OK" in text
    assert re.search(r'"name":"A"', text)
    child = dv.get("accounts?$filter=name eq 'B'&$select=_parentaccountid_value").json()["value"]
    parent = dv.get("accounts?$filter=name eq 'A'&$select=accountid").json()["value"]
    assert child[0]["_parentaccountid_value"] == parent[0]["accountid"]
    bad = _change_set([("POST", f"{API}/accounts", '{"name":"C"}'),
                       ("POST", f"{API}/accounts", '{"nope":1}')])  # fmt: skip
    status, text = _batch(dv, [bad, read])
    assert status == 200
    assert "HTTP/1.1 400 Bad Request" in text and "Invalid property 'nope'" in text
    assert "HTTP/1.1 200 OK" not in text  # processing stopped at the failed change set
    names = sorted(r["name"] for r in dv.get("accounts?$select=name").json()["value"])
    assert names == ["A", "B"]  # C was rolled back with its change set
    get_in_set = _change_set([("GET", f"{API}/accounts", "")])
    assert "cannot contain a GET" in _batch(dv, [get_in_set])[1]


def test_service_protection_limit_is_a_dataverse_429(dv: Env) -> None:
    dv.server.faults.configure({"rateLimit": {"count": 1, "retryAfter": 7}})
    limited = dv.get("WhoAmI")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "7"
    assert limited.json() == {"error": {"code": "0x80072322", "message": (
        "Number of requests exceeded the limit of 6000 over time window of 300 seconds.")}}  # fmt: skip
    assert dv.get("WhoAmI").status_code == 200
    dv.server.faults.configure({"failNthWrite": {"n": 1, "status": 503}})
    failed = dv.post("EntityDefinitions", table_body("nw_Never"))
    assert failed.status_code == 503 and failed.json()["error"]["code"].startswith("0x")
    assert dv.get("EntityDefinitions(LogicalName='nw_never')").status_code == 404


def test_create_multiple_answers_the_ids(dv: Env) -> None:
    response = dv.post("accounts/Microsoft.Dynamics.CRM.CreateMultiple",
                       {"Targets": [{"name": "One"}, {"name": "Two"}]})  # fmt: skip
    assert response.status_code == 200
    ids = response.json()["Ids"]
    assert len(ids) == 2
    assert dv.get(f"accounts({ids[1]})?$select=name").json()["name"] == "Two"
