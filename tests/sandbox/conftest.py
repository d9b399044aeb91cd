"""Fixtures of the sandbox tests: a store on disk, and a server on a free port of 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from crmctl.sandbox import RunningServer, SandboxStore, start_server

#: A small valid organisation, dependencies first: one item of every kind and then some.
ORG: list[tuple[str, str, dict[str, Any]]] = [
    ("CustomObject", "Invoice__c", {"label": "Invoice"}),
    ("CustomField", "Invoice__c.Amount__c", {"type": "Currency", "label": "Amount"}),
    ("CustomField", "Invoice__c.Due__c", {"type": "Date", "label": "Due"}),
    (
        "CustomField",
        "Invoice__c.Account__c",
        {"type": "Lookup", "label": "Account", "referenceTo": "Account"},
    ),
    (
        "CustomField",
        "Account.Region__c",
        {"type": "Picklist", "label": "Region", "values": ["EMEA", "AMER"]},
    ),
    (
        "ValidationRule",
        "Invoice__c.Positive",
        {"condition": "Amount__c < 0", "errorMessage": "Amount must be positive"},
    ),
    (
        "DuplicateRule",
        "Invoice__c.Same_Amount",
        {"match": [{"field": "Amount__c"}, {"field": "Due__c"}]},
    ),
    (
        "RetentionPolicy",
        "Invoice_Cleanup",
        {
            "object": "Invoice__c",
            "dateField": "Due__c",
            "retain": "P10Y",
            "action": "delete",
            "legalBasis": "Tax law",
        },
    ),
    ("Role", "CEO", {"label": "CEO"}),
    ("Role", "Sales", {"label": "Sales", "parent": "CEO"}),
    (
        "PermissionSet",
        "Sales_Rep",
        {
            "label": "Sales Rep",
            "objects": {"Invoice__c": ["read"]},
            "fields": {"Invoice__c.Amount__c": ["read"]},
        },
    ),
    ("PermissionSet", "Admins", {"label": "Admins", "system": ["ModifyAllData"]}),
    (
        "User",
        "rep@example.com",
        {
            "email": "rep@example.com",
            "lastName": "Rep",
            "role": "Sales",
            "permissionSets": ["Sales_Rep"],
        },
    ),
]


def org_operations() -> list[dict[str, Any]]:
    """`ORG` as batch operations."""
    return [{"op": "put", "kind": k, "name": n, "spec": s} for k, n, s in ORG]


class Api:
    """A requests session against one server, with the token of one principal."""

    def __init__(self, base: str, token: str | None) -> None:
        self.base = base
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, f"{self.base}{path}", timeout=30, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def put(self, kind: str, name: str, spec: Any, **kwargs: Any) -> requests.Response:
        return self.request("PUT", f"/config/{kind}/{name}", json={"spec": spec}, **kwargs)

    def delete(self, kind: str, name: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", f"/config/{kind}/{name}", **kwargs)

    def batch(self, operations: list[dict[str, Any]]) -> requests.Response:
        return self.request("POST", "/config/batch", json={"operations": operations})

    def token_for(self, username: str) -> str:
        response = self.request("POST", "/tokens", json={"username": username})
        assert response.status_code == 201, response.text
        return response.json()["token"]

    def close(self) -> None:
        self.session.close()


@dataclass
class Sandbox:
    """A running sandbox server, its store and an admin client."""

    server: RunningServer
    store: SandboxStore
    token: str
    admin: Api

    def client(self, token: str | None) -> Api:
        return Api(self.server.api_url, token)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SandboxStore]:
    """A fresh sandbox store in a temporary folder."""
    opened = SandboxStore.open(tmp_path / "sandbox.db")
    yield opened
    opened.close()


@pytest.fixture
def sandbox(store: SandboxStore) -> Iterator[Sandbox]:
    """A server on a free port of 127.0.0.1 over `store`, with an admin client."""
    token = store.initialise()
    server = start_server(store)
    admin = Api(server.api_url, token)
    yield Sandbox(server, store, token, admin)
    admin.close()
    server.stop()


@pytest.fixture
def org(sandbox: Sandbox) -> Sandbox:
    """`sandbox` holding `ORG`."""
    response = sandbox.admin.batch(org_operations())
    assert response.status_code == 200, response.text
    return sandbox


# --- Records, enforcement, permissions, duplicates and retention -------------------------

from datetime import UTC, datetime  # noqa: E402  (kept with the fixtures that use it)

#: An organisation made for the record tests: one object with a field of every type,
#: validation rules down every path, duplicate rules, retention policies, and users whose
#: permission sets differ in exactly the ways the permission tests need.
RECORDS_ORG: list[tuple[str, str, dict[str, Any]]] = [
    ("Role", "Staff", {"label": "Staff"}),
    ("CustomField", "Account.Region__c", {"type": "Picklist", "label": "Region", "values": [
        "EMEA", "AMER", "APAC", {"value": "LATAM", "active": False}]}),
    ("CustomField", "Account.VAT_Number__c", {"type": "Text", "label": "VAT", "length": 20, "unique": True}),
    ("CustomField", "Account.Credit_Score__c", {"type": "Number", "label": "Credit", "precision": 3, "scale": 0}),
    ("CustomField", "Contact.Left_On__c", {"type": "Date", "label": "Left On"}),
    ("CustomField", "Contact.Nickname__c", {"type": "Text", "label": "Nickname", "length": 40}),
    ("CustomObject", "Order__c", {"label": "Order", "sharingModel": "Private", "recordName": {
        "label": "Order Number", "type": "AutoNumber", "displayFormat": "ORD-{0000}"}}),
    ("CustomField", "Order__c.Account__c", {"type": "MasterDetail", "label": "Account", "referenceTo": "Account"}),
    ("CustomField", "Order__c.Contact__c", {"type": "Lookup", "label": "Contact", "referenceTo": "Contact"}),
    ("CustomField", "Order__c.Amount__c", {"type": "Currency", "label": "Amount", "precision": 8, "scale": 2, "required": True}),
    ("CustomField", "Order__c.Quantity__c", {"type": "Number", "label": "Quantity", "precision": 4, "scale": 0}),
    ("CustomField", "Order__c.Discount__c", {"type": "Percent", "label": "Discount", "precision": 5, "scale": 2}),
    ("CustomField", "Order__c.Status__c", {"type": "Picklist", "label": "Status", "values": [
        {"value": "Draft", "default": True}, "Placed", "Shipped", "Cancelled"]}),
    ("CustomField", "Order__c.Order_Date__c", {"type": "Date", "label": "Order Date", "required": True}),
    ("CustomField", "Order__c.Shipped_At__c", {"type": "DateTime", "label": "Shipped At"}),
    ("CustomField", "Order__c.Rush__c", {"type": "Checkbox", "label": "Rush"}),
    ("CustomField", "Order__c.Gift_Wrap__c", {"type": "Checkbox", "label": "Gift Wrap", "defaultValue": True}),
    ("CustomField", "Order__c.Buyer_Email__c", {"type": "Email", "label": "Buyer Email"}),
    ("CustomField", "Order__c.Buyer_Phone__c", {"type": "Phone", "label": "Buyer Phone"}),
    ("CustomField", "Order__c.Tracking_Url__c", {"type": "Url", "label": "Tracking"}),
    ("CustomField", "Order__c.Notes__c", {"type": "LongTextArea", "label": "Notes", "length": 1000}),
    ("CustomField", "Order__c.Summary__c", {"type": "TextArea", "label": "Summary"}),
    ("CustomField", "Order__c.Channels__c", {"type": "MultiPicklist", "label": "Channels", "values": ["Web", "Phone", "Store"]}),
    ("CustomField", "Order__c.Reference__c", {"type": "Text", "label": "Reference", "length": 10, "unique": True}),
    ("CustomField", "Order__c.Coupon__c", {"type": "Text", "label": "Coupon", "length": 12}),
    ("CustomField", "Order__c.Carrier__c", {"type": "Text", "label": "Carrier", "length": 40, "defaultValue": "Post"}),
    ("ValidationRule", "Order__c.Positive_Amount", {"condition": "Amount__c <= 0",
        "errorMessage": "The amount must be positive.", "errorField": "Amount__c"}),
    ("ValidationRule", "Order__c.Discount_Cap", {"condition": "Discount__c > 0.5",
        "errorMessage": "Discounts above 50% need approval.", "errorField": "Discount__c"}),
    ("ValidationRule", "Order__c.Shipped_Needs_Time", {"condition": 'ISPICKVAL(Status__c, "Shipped") && ISBLANK(Shipped_At__c)',
        "errorMessage": "A shipped order needs its shipping time.", "errorField": "Shipped_At__c"}),
    ("ValidationRule", "Order__c.Not_Born_Cancelled", {"condition": 'ISNEW() && ISPICKVAL(Status__c, "Cancelled")',
        "errorMessage": "An order cannot be created cancelled."}),
    ("ValidationRule", "Order__c.Shipped_Is_Final", {"condition": 'ISCHANGED(Status__c) && ISPICKVAL(PRIORVALUE(Status__c), "Shipped")',
        "errorMessage": "A shipped order's status cannot change.", "errorField": "Status__c"}),
    ("ValidationRule", "Order__c.APAC_Limit", {"condition": 'ISPICKVAL(Account__r.Region__c, "APAC") && Amount__c > 10000',
        "errorMessage": "APAC orders above 10000 need a local approver.", "errorField": "Amount__c"}),
    ("ValidationRule", "Order__c.Coupon_Value", {"condition": "NOT(ISBLANK(Coupon__c)) && VALUE(Coupon__c) > 100",
        "errorMessage": "Coupons are worth at most 100.", "errorField": "Coupon__c"}),
    ("ValidationRule", "Order__c.Bulk_From_Warehouse", {"condition": 'Quantity__c > 1000 && NOT(CONTAINS($User.Email, "@warehouse.example"))',
        "errorMessage": "Only the warehouse orders more than 1000 units.", "errorField": "Quantity__c"}),
    ("ValidationRule", "Order__c.Retired", {"condition": "Quantity__c = 13", "active": False,
        "errorMessage": "Never shown: the rule is inactive."}),
    ("DuplicateRule", "Contact.Same_Email", {"match": [{"field": "Email", "method": "exact"}],
        "action": {"onCreate": "block", "onEdit": "alert"}}),
    ("DuplicateRule", "Account.Similar_Name", {"match": [{"field": "Name", "method": "fuzzy"}],
        "action": {"onCreate": "alert", "onEdit": "alert"}}),
    ("DuplicateRule", "Lead.Same_Person_At_Company", {"match": [
        {"field": "LastName", "method": "exact"}, {"field": "Company", "method": "fuzzy"}],
        "action": {"onCreate": "block", "onEdit": "block"}}),
    ("DuplicateRule", "Account.Same_Phone", {"active": False, "match": [{"field": "Phone"}]}),
    ("RetentionPolicy", "Old_Leads", {"object": "Lead", "dateField": "CreatedDate", "retain": "P2Y",
        "action": "delete", "filter": "NOT(IsConverted)", "legalBasis": "GDPR storage limitation"}),
    ("RetentionPolicy", "Shipped_Orders", {"object": "Order__c", "dateField": "Order_Date__c", "retain": "P7Y",
        "action": "archive", "filter": 'ISPICKVAL(Status__c, "Shipped")', "legalBasis": "Bookkeeping law"}),
    ("RetentionPolicy", "Former_Contacts", {"object": "Contact", "dateField": "Left_On__c", "retain": "P1Y6M",
        "action": "anonymize", "anonymizeFields": ["Email", "LastName", "Nickname__c"], "legalBasis": "Consent ended"}),
    ("PermissionSet", "Order_Desk", {"label": "Order desk", "objects": {
        "Order__c": ["read", "create", "edit"], "Account": ["read"], "Contact": ["read"]},
        "fields": {"Order__c.Account__c": ["read", "edit"], "Order__c.Amount__c": ["read", "edit"],
                   "Order__c.Order_Date__c": ["read", "edit"], "Order__c.Status__c": ["read", "edit"],
                   "Order__c.Quantity__c": ["read", "edit"], "Order__c.Discount__c": ["read"],
                   "Order__c.Gift_Wrap__c": ["read"], "Account.Region__c": ["read"]}}),
    ("PermissionSet", "Account_Manager", {"label": "Account manager", "objects": {
        "Account": ["read", "create", "edit", "delete"], "Contact": ["read", "create", "edit"]},
        "fields": {"Account.Region__c": ["read", "edit"], "Account.VAT_Number__c": ["read", "edit"]}}),
    ("PermissionSet", "Order_Auditor", {"label": "Order auditor", "objects": {"Order__c": ["read", "viewAll"]},
        "fields": {"Order__c.Amount__c": ["read"]}}),
    ("PermissionSet", "Lead_Gen", {"label": "Lead generation", "objects": {"Lead": ["read", "create", "edit", "delete"]}}),
    ("User", "desk@example.com", {"email": "desk@example.com", "firstName": "Dana", "lastName": "Desk",
        "role": "Staff", "permissionSets": ["Order_Desk"]}),
    ("User", "desk2@example.com", {"email": "desk2@example.com", "lastName": "Second", "permissionSets": ["Order_Desk"]}),
    ("User", "bulk@warehouse.example", {"email": "bulk@warehouse.example", "lastName": "Warehouse",
        "permissionSets": ["Order_Desk"]}),
    ("User", "manager@example.com", {"email": "manager@example.com", "lastName": "Manager",
        "permissionSets": ["Account_Manager"]}),
    ("User", "auditor@example.com", {"email": "auditor@example.com", "lastName": "Auditor",
        "permissionSets": ["Order_Auditor"]}),
    ("User", "leads@example.com", {"email": "leads@example.com", "lastName": "Leads", "permissionSets": ["Lead_Gen"]}),
    ("User", "nobody@example.com", {"email": "nobody@example.com", "lastName": "Nobody"}),
    ("User", "gone@example.com", {"email": "gone@example.com", "lastName": "Gone", "active": False,
        "permissionSets": ["Account_Manager"]}),
]  # fmt: skip


class RecordsApi(Api):
    """An `Api` with the record endpoints."""

    def create(self, obj: str, fields: dict[str, Any]) -> requests.Response:
        return self.request("POST", f"/records/{obj}", json=fields)

    def read(self, obj: str, record_id: str) -> requests.Response:
        return self.request("GET", f"/records/{obj}/{record_id}")

    def update(self, obj: str, record_id: str, fields: dict[str, Any]) -> requests.Response:
        return self.request("PATCH", f"/records/{obj}/{record_id}", json=fields)

    def remove(self, obj: str, record_id: str) -> requests.Response:
        return self.request("DELETE", f"/records/{obj}/{record_id}")

    def query(self, obj: str, *where: str, **params: Any) -> requests.Response:
        pairs = [("where", w) for w in where] + [(k, str(v)) for k, v in params.items()]
        return self.request("GET", f"/records/{obj}", params=pairs)

    def made(self, obj: str, fields: dict[str, Any]) -> str:
        """Create a record that must be valid; its id."""
        response = self.create(obj, fields)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def stored(self, obj: str, record_id: str) -> dict[str, Any]:
        """A record's fields as the server returns them (the record must exist)."""
        response = self.read(obj, record_id)
        assert response.status_code == 200, response.text
        return response.json()["fields"]


@dataclass
class RecordsOrg:
    """A sandbox holding `RECORDS_ORG`, with a client per principal."""

    sandbox: Sandbox
    admin: RecordsApi
    clients: dict[str, RecordsApi]

    def as_user(self, username: str) -> RecordsApi:
        if username not in self.clients:
            token = self.admin.token_for(username)
            self.clients[username] = RecordsApi(self.sandbox.server.api_url, token)
        return self.clients[username]


#: The records servers' clock: timestamps in answers are exact.
RECORDS_NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def _records_org(path: Path) -> Iterator[RecordsOrg]:
    store = SandboxStore.open(path, clock=lambda: RECORDS_NOW)
    token = store.initialise()
    server = start_server(store)
    admin = RecordsApi(server.api_url, token)
    operations = [{"op": "put", "kind": k, "name": n, "spec": s} for k, n, s in RECORDS_ORG]
    response = admin.batch(operations)
    assert response.status_code == 200, response.text
    org = RecordsOrg(Sandbox(server, store, token, admin), admin, {})
    yield org
    for client in [admin, *org.clients.values()]:
        client.close()
    server.stop()
    store.close()


@pytest.fixture(scope="module")
def records_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordsOrg]:
    """A server holding `RECORDS_ORG`, shared by a test module (tests make their own records)."""
    yield from _records_org(tmp_path_factory.mktemp("records") / "sandbox.db")


@pytest.fixture
def fresh_records_org(tmp_path: Path) -> Iterator[RecordsOrg]:
    """A server holding `RECORDS_ORG` and no records, for tests that count what is stored."""
    yield from _records_org(tmp_path / "sandbox.db")
