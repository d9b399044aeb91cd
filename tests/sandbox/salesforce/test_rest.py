"""The sandbox's Salesforce REST API: SOQL, sObjects and collections, in Salesforce's shapes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from crmctl.sandbox.salesforce import state
from crmctl.sandbox.salesforce.sobjects import sf_id
from tests.salesforce_org import SalesforceOrg, salesforce_org

V = "/services/data/v61.0"


class Client:
    def __init__(self, org: SalesforceOrg, token: str) -> None:
        self.org = org
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = path if path.startswith("http") else f"{self.org.url}{path}"
        return self.session.request(method, url, timeout=30, **kwargs)

    def query(self, soql: str, **kwargs: Any) -> requests.Response:
        return self("GET", f"{V}/query", params={"q": soql}, **kwargs)


@pytest.fixture
def org(tmp_path: Path) -> Iterator[SalesforceOrg]:
    for item in salesforce_org(tmp_path):
        item.store.batch(
            [
                {"op": "put", "kind": "Role", "name": "CEO", "spec": {"label": "Chief"}},
                {"op": "put", "kind": "Role", "name": "Sales", "spec": {"label": "Sales", "parent": "CEO"}},
                {"op": "put", "kind": "PermissionSet", "name": "Reader", "spec": {"label": "Reader"}},
                {"op": "put", "kind": "User", "name": "ann@example.com", "spec": {
                    "email": "ann@example.com", "firstName": "Ann", "lastName": "A", "role": "Sales",
                    "permissionSets": ["Reader"]}},
                {"op": "put", "kind": "User", "name": "bob@example.com", "spec": {
                    "email": "bob@example.com", "lastName": "B", "active": False}},
            ],
            "tests",
        )  # fmt: skip
        yield item


@pytest.fixture
def api(org: SalesforceOrg) -> Client:
    return Client(org, org.token())


def test_a_query_with_relationships_in_select_and_where(api: Client) -> None:
    response = api.query(
        "SELECT Id, Username, UserRole.DeveloperName, UserRole.Name FROM User "
        "WHERE IsActive = true AND UserRole.DeveloperName IN ('Sales', 'CEO') ORDER BY Username"
    )
    assert response.status_code == 200
    assert response.headers["Sforce-Limit-Info"].startswith("api-usage=")
    ann = sf_id("User", "ann@example.com")
    assert response.json() == {
        "totalSize": 1,
        "done": True,
        "records": [
            {
                "attributes": {"type": "User", "url": f"{V}/sobjects/User/{ann}"},
                "Id": ann,
                "Username": "ann@example.com",
                "UserRole": {
                    "attributes": {
                        "type": "UserRole",
                        "url": f"{V}/sobjects/UserRole/{sf_id('UserRole', 'Sales')}",
                    },
                    "DeveloperName": "Sales",
                    "Name": "Sales",
                },
            }
        ],
    }


def test_count_like_order_limit(api: Client) -> None:
    assert api.query("SELECT COUNT() FROM User").json() == {
        "totalSize": 3,  # ann, bob and the built-in admin (a System Administrator)
        "done": True,
        "records": [],
    }
    rows = api.query(
        "SELECT Username FROM User WHERE Username LIKE 'b%' OR NOT IsActive = true ORDER BY Username DESC LIMIT 5"
    ).json()
    assert [r["Username"] for r in rows["records"]] == ["bob@example.com"]
    roles = api.query(
        "SELECT DeveloperName, ParentRoleId FROM UserRole ORDER BY DeveloperName"
    ).json()["records"]
    assert [(r["DeveloperName"], r["ParentRoleId"]) for r in roles] == [
        ("CEO", None),
        ("Sales", sf_id("UserRole", "CEO")),
    ]


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Id FROM", "MALFORMED_QUERY"),
        ("SELECT Nope FROM User", "INVALID_FIELD"),
        ("SELECT Id FROM Account__x", "INVALID_TYPE"),
        ("SELECT Username.Foo FROM User", "INVALID_FIELD"),
    ],
)
def test_query_errors_are_salesforce_errors(api: Client, soql: str, code: str) -> None:
    response = api.query(soql)
    assert response.status_code == 400
    body = response.json()
    assert isinstance(body, list) and body[0]["errorCode"] == code and body[0]["fields"] == []


def test_paging_follows_next_records_url(org: SalesforceOrg, api: Client) -> None:
    org.store.batch(
        [{"op": "put", "kind": "User", "name": f"u{i:03}@example.com",
          "spec": {"email": f"u{i:03}@example.com", "lastName": "U"}} for i in range(450)],
        "tests",
    )  # fmt: skip
    headers = {"Sforce-Query-Options": "batchSize=200"}
    page = api.query("SELECT Username FROM User", headers=headers).json()
    seen, pages = [r["Username"] for r in page["records"]], 1
    while not page["done"]:
        page = api("GET", page["nextRecordsUrl"], headers=headers).json()
        seen += [r["Username"] for r in page["records"]]
        pages += 1
    # 450 new users, ann, bob and the built-in admin
    assert (pages, len(seen), len(set(seen)), page["totalSize"]) == (3, 453, 453, 453)
    bad = api("GET", f"{V}/query/01gNOPE-200")
    assert bad.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def _user(name: str, **fields: Any) -> dict[str, Any]:
    return {"attributes": {"type": "User"}, "Username": name, "Email": name, "LastName": "New",
            "Alias": "new", "TimeZoneSidKey": "GMT", "LocaleSidKey": "en_US", "EmailEncodingKey": "UTF-8",
            "LanguageLocaleKey": "en_US", "ProfileId": sf_id("Profile", "Standard User"), **fields}  # fmt: skip


def test_creating_updating_and_never_deleting_a_user(org: SalesforceOrg, api: Client) -> None:
    body = {k: v for k, v in _user("cat@example.com").items() if k != "attributes"}
    created = api(
        "POST", f"{V}/sobjects/User", json={**body, "UserRoleId": sf_id("UserRole", "CEO")}
    )
    assert created.status_code == 201 and created.json() == {
        "id": sf_id("User", "cat@example.com"),
        "success": True,
        "errors": [],
    }
    user_id = created.json()["id"]
    assert (
        api(
            "PATCH",
            f"{V}/sobjects/User/{user_id[:15]}",
            json={"IsActive": False, "FirstName": "Cat"},
        ).status_code
        == 204
    )
    got = api("GET", f"{V}/sobjects/User/{user_id}").json()
    assert (got["IsActive"], got["FirstName"], got["UserRoleId"]) == (
        False,
        "Cat",
        sf_id("UserRole", "CEO"),
    )
    refused = api("DELETE", f"{V}/sobjects/User/{user_id}")
    assert (
        refused.status_code == 400
        and refused.json()[0]["errorCode"] == "INVALID_TYPE_FOR_OPERATION"
    )
    spec = org.store.get_config("User", "cat@example.com")["spec"]
    assert spec == {"email": "cat@example.com", "firstName": "Cat", "lastName": "New", "active": False,
                    "role": "CEO", "permissionSets": []}  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "code", "error_fields"),
    [
        ({"Alias": None}, "REQUIRED_FIELD_MISSING", ["Alias"]),
        ({"Username": "ann@example.com"}, "DUPLICATE_USERNAME", ["Username"]),
        ({"Email": "not-an-email"}, "INVALID_EMAIL_ADDRESS", ["Email"]),
        ({"Shoe_Size__c": 9}, "INVALID_FIELD", ["Shoe_Size__c"]),
        ({"Name": "x"}, "INVALID_FIELD_FOR_INSERT_UPDATE", ["Name"]),
        (
            {"UserRoleId": sf_id("UserRole", "Nobody")},
            "INVALID_CROSS_REFERENCE_KEY",
            ["UserRoleId"],
        ),
    ],
)
def test_user_errors(api: Client, fields: dict, code: str, error_fields: list[str]) -> None:
    body = {
        k: v
        for k, v in _user("dan@example.com", **fields).items()
        if k != "attributes" and v is not None
    }
    response = api("POST", f"{V}/sobjects/User", json=body)
    assert response.status_code == 400
    assert (response.json()[0]["errorCode"], response.json()[0]["fields"]) == (code, error_fields)


def test_a_collection_is_all_or_none(org: SalesforceOrg, api: Client) -> None:
    records = [_user("e1@example.com"), _user("e2@example.com", LastName="")]
    response = api("POST", f"{V}/composite/sobjects", json={"allOrNone": True, "records": records})
    assert response.status_code == 200
    assert response.json() == [
        {"id": None, "success": False, "errors": [{"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
            "message": "Record rolled back because not all records were valid and the request was using AllOrNone header", "fields": []}]},
        {"id": None, "success": False, "errors": [{"statusCode": "REQUIRED_FIELD_MISSING",
            "message": "Required fields are missing: [LastName]", "fields": ["LastName"]}]},
    ]  # fmt: skip
    assert org.store.get_config("User", "e1@example.com") is None
    partial = api(
        "POST", f"{V}/composite/sobjects", json={"allOrNone": False, "records": records}
    ).json()
    assert [r["success"] for r in partial] == [True, False]
    assert org.store.get_config("User", "e1@example.com") is not None


def test_assignments_are_added_and_removed_as_rows(org: SalesforceOrg, api: Client) -> None:
    bob, reader = sf_id("User", "bob@example.com"), sf_id("PermissionSet", "Reader")
    row = {
        "attributes": {"type": "PermissionSetAssignment"},
        "AssigneeId": bob,
        "PermissionSetId": reader,
    }
    added = api(
        "POST", f"{V}/composite/sobjects", json={"allOrNone": True, "records": [row]}
    ).json()
    assert added == [
        {
            "id": sf_id("PermissionSetAssignment", "bob@example.com|Reader"),
            "success": True,
            "errors": [],
        }
    ]
    again = api("POST", f"{V}/composite/sobjects", json={"records": [row]}).json()
    assert again[0]["errors"][0]["statusCode"] == "DUPLICATE_VALUE"
    rows = api.query("SELECT Id, Assignee.Username, PermissionSet.Name FROM PermissionSetAssignment "
                     "WHERE PermissionSet.IsOwnedByProfile = false ORDER BY Assignee.Username").json()["records"]  # fmt: skip
    assert [(r["Assignee"]["Username"], r["PermissionSet"]["Name"]) for r in rows] == [
        ("ann@example.com", "Reader"), ("bob@example.com", "Reader")]  # fmt: skip
    deleted = api(
        "DELETE", f"{V}/composite/sobjects", params={"ids": added[0]["id"], "allOrNone": "true"}
    ).json()
    assert deleted[0]["success"] is True
    assert org.store.get_config("User", "bob@example.com")["spec"]["permissionSets"] == []


def test_only_admins_change_users(org: SalesforceOrg) -> None:
    client = Client(org, org.token("ann@example.com"))
    assert client.query("SELECT Id FROM User").status_code == 200
    response = client("POST", f"{V}/sobjects/User", json={"LastName": "X"})
    assert response.status_code == 403 and response.json()[0]["errorCode"] == "INSUFFICIENT_ACCESS"


def test_the_daily_limit_and_its_header(org: SalesforceOrg, api: Client) -> None:
    state.configure(org.store, dailyApiLimit=5)
    state.set_usage(org.store, 3)
    assert api.query("SELECT Id FROM Profile").headers["Sforce-Limit-Info"] == "api-usage=4/5"
    assert api.query("SELECT Id FROM Profile").headers["Sforce-Limit-Info"] == "api-usage=5/5"
    refused = api.query("SELECT Id FROM Profile")
    assert refused.status_code == 403
    assert refused.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert refused.headers["Sforce-Limit-Info"] == "api-usage=5/5"


def test_unknown_versions_and_resources(api: Client) -> None:
    assert (
        api("GET", "/services/data/latest/query", params={"q": "SELECT Id FROM User"}).status_code
        == 404
    )
    assert (
        api("GET", f"{V}/sobjects/Nope/{sf_id('User', 'x')}").json()[0]["errorCode"] == "NOT_FOUND"
    )
