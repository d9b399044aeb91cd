"""An outside check: simple-salesforce, a real Salesforce client, drives the sandbox's API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from crmctl.sandbox.salesforce.sobjects import sf_id
from tests.salesforce_org import salesforce_org

simple_salesforce = pytest.importorskip("simple_salesforce")


class _PlainHttp(requests.Session):
    """simple-salesforce always speaks https; the sandbox on 127.0.0.1 speaks http."""

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        return super().request(method, url.replace("https://", "http://", 1), *args, **kwargs)


@pytest.fixture
def sf(tmp_path: Path) -> Iterator[object]:
    for org in salesforce_org(tmp_path):
        org.store.put_config("PermissionSet", "Reader", {"label": "Reader"}, "tests")
        yield simple_salesforce.Salesforce(
            instance_url=org.url, session_id=org.token(), session=_PlainHttp(), version="61.0"
        )


def _new_user(name: str) -> dict:
    return {"Username": name, "Email": name, "LastName": "Simple", "Alias": "simple",
            "TimeZoneSidKey": "GMT", "LocaleSidKey": "en_US", "EmailEncodingKey": "UTF-8",
            "LanguageLocaleKey": "en_US", "ProfileId": sf_id("Profile", "Standard User")}  # fmt: skip


def test_users_through_simple_salesforce(sf) -> None:
    created = sf.User.create(_new_user("simple@example.com"))
    assert created == {"id": sf_id("User", "simple@example.com"), "success": True, "errors": []}
    assert sf.User.get(created["id"])["Username"] == "simple@example.com"
    assert sf.User.update(created["id"], {"FirstName": "Sam"}) == 204
    rows = sf.query_all(
        "SELECT Id, FirstName, IsActive FROM User WHERE Username = 'simple@example.com'"
    )
    assert rows["totalSize"] == 1 and rows["records"][0]["FirstName"] == "Sam"
    assignment = sf.PermissionSetAssignment.create(
        {"AssigneeId": created["id"], "PermissionSetId": sf_id("PermissionSet", "Reader")}
    )
    assert assignment["success"] is True
    names = sf.query("SELECT PermissionSet.Name FROM PermissionSetAssignment")["records"]
    assert [r["PermissionSet"]["Name"] for r in names] == ["Reader"]
    assert sf.PermissionSetAssignment.delete(assignment["id"]) == 204


def test_errors_reach_simple_salesforce_in_salesforce_shape(sf) -> None:
    with pytest.raises(simple_salesforce.exceptions.SalesforceMalformedRequest) as caught:
        sf.User.create({"LastName": "Incomplete"})
    assert caught.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    with pytest.raises(simple_salesforce.exceptions.SalesforceMalformedRequest) as caught:
        sf.query("SELECT Shoe_Size__c FROM User")
    assert caught.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_query_all_pages_with_simple_salesforce(sf) -> None:
    records = [
        {"attributes": {"type": "User"}, **_new_user(f"p{i:03}@example.com")} for i in range(250)
    ]
    for start in (0, 200):
        results = sf.restful("composite/sobjects", method="POST",
                             json={"allOrNone": True, "records": records[start:start + 200]})  # fmt: skip
        assert all(r["success"] for r in results)
    everything = sf.query_all(
        "SELECT Username FROM User", headers={"Sforce-Query-Options": "batchSize=200"}
    )
    # the 250 new users and the built-in admin
    assert everything["totalSize"] == 251 and len(everything["records"]) == 251
