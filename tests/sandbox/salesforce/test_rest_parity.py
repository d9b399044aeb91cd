"""What real Salesforce clients ask first: versions, resources, identity, limits, describe,
column metadata, aggregates, the Organization and the logged-in user, ids and error shapes."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from crmctl.sandbox.salesforce.ids import ORG_ID, ORG_ID_15, metadata_id, normal_id, sf_id, to18
from tests.salesforce_org import ADMIN, SalesforceOrg, salesforce_org

V = "/services/data/v61.0"
NOT_FOUND = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]


@pytest.fixture
def org(tmp_path: Path) -> Iterator[SalesforceOrg]:
    for item in salesforce_org(tmp_path):
        item.store.batch(
            [
                {"op": "put", "kind": "CustomObject", "name": "Invoice__c",
                 "spec": {"label": "Invoice", "pluralLabel": "Invoices"}},
                {"op": "put", "kind": "CustomField", "name": "Invoice__c.Amount__c",
                 "spec": {"type": "Currency", "label": "Amount", "precision": 16, "scale": 2,
                          "required": True}},
                {"op": "put", "kind": "CustomField", "name": "Invoice__c.Code__c",
                 "spec": {"type": "Text", "label": "Code", "length": 20, "unique": True,
                          "externalId": True}},
                {"op": "put", "kind": "CustomField", "name": "Invoice__c.Account__c",
                 "spec": {"type": "Lookup", "label": "Account", "referenceTo": "Account"}},
                {"op": "put", "kind": "CustomField", "name": "Account.Region__c",
                 "spec": {"type": "Picklist", "label": "Region", "values": [
                     {"value": "EMEA", "label": "Europe", "default": True},
                     {"value": "AMER", "label": "Americas"}]}},
                {"op": "put", "kind": "Role", "name": "Sales", "spec": {"label": "Sales"}},
                {"op": "put", "kind": "User", "name": "ann@example.com", "spec": {
                    "email": "ann@example.com", "firstName": "Ann", "lastName": "A",
                    "role": "Sales"}},
            ],
            "tests",
        )  # fmt: skip
        yield item


class Client:
    def __init__(self, org: SalesforceOrg, token: str) -> None:
        self.org, self.session = org, requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = path if path.startswith("http") else f"{self.org.url}{path}"
        return self.session.request(method, url, timeout=30, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        response = self("GET", path, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def api(org: SalesforceOrg) -> Client:
    return Client(org, org.token())


# --- ids -------------------------------------------------------------------------------


def test_ids_are_15_or_18_characters_with_key_prefixes_and_the_case_safe_suffix() -> None:
    assert to18("001A0000006Vm9r") == "001A0000006Vm9rIAC"  # Salesforce's documented example
    assert len(ORG_ID) == 18 and ORG_ID.startswith("00D") and ORG_ID[:15] == ORG_ID_15
    assert to18(ORG_ID_15) == ORG_ID
    for sobject, prefix in (("User", "005"), ("UserRole", "00E"), ("PermissionSet", "0PS"),
                            ("Profile", "00e")):  # fmt: skip
        made = sf_id(sobject, "x")
        assert (made[:3], len(made), to18(made[:15])) == (prefix, 18, made)
    for type_name, prefix in (("CustomObject", "01I"), ("CustomField", "00N"),
                              ("ValidationRule", "03d"), ("Role", "00E"),
                              ("PermissionSet", "0PS")):  # fmt: skip
        assert metadata_id(type_name, "A__c.B__c")[:3] == prefix
    made = sf_id("User", "ann@example.com")
    assert normal_id(made[:15]) == made and normal_id(made) == made
    assert normal_id(made[:15] + "ZZZ") is None  # a suffix that does not fit


def test_the_token_response_names_an_18_character_org_and_user(org: SalesforceOrg) -> None:
    response = requests.post(
        f"{org.url}/services/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": "3MVG9crmctl.TEST.CONSUMER.KEY",
              "client_secret": "s3cr3t-consumer-secret-value"},
        timeout=30,
    )  # fmt: skip
    body = response.json()
    assert body["id"] == f"{org.url}/id/{ORG_ID}/{sf_id('User', ADMIN)}"
    assert body["access_token"].startswith(ORG_ID_15 + "!")


# --- discovery -------------------------------------------------------------------------


def test_versions_need_no_session(org: SalesforceOrg) -> None:
    for path in ("/services/data", "/services/data/"):
        versions = requests.get(org.url + path, timeout=30).json()
        assert versions[0] == {"label": "Summer '14", "url": "/services/data/v31.0",
                               "version": "31.0"}  # fmt: skip
        assert {"label": "Summer '24", "url": "/services/data/v61.0", "version": "61.0"} in versions
        assert versions[-1] == {"label": "Winter '25", "url": "/services/data/v62.0",
                                "version": "62.0"}  # fmt: skip


def test_resources_of_a_version(api: Client) -> None:
    body = api.get(V)
    assert body["sobjects"] == f"{V}/sobjects"
    assert body["query"] == f"{V}/query" and body["queryAll"] == f"{V}/queryAll"
    assert body["limits"] == f"{V}/limits"
    assert body["identity"] == f"{api.org.url}/id/{ORG_ID}/{sf_id('User', ADMIN)}"


def test_userinfo_and_identity_name_the_logged_in_admin(api: Client) -> None:
    admin = sf_id("User", ADMIN)
    info = api.get("/services/oauth2/userinfo")
    assert (info["user_id"], info["organization_id"], info["preferred_username"]) == (
        admin,
        ORG_ID,
        ADMIN,
    )
    assert info["sub"] == f"{api.org.url}/id/{ORG_ID}/{admin}"
    assert info["urls"]["rest"] == f"{api.org.url}/services/data/v{{version}}/"
    assert info["active"] is True and info["user_type"] == "STANDARD"
    identity = api.get(f"/id/{ORG_ID}/{admin}", params={"version": "61.0"})
    assert (identity["username"], identity["user_id"], identity["asserted_user"]) == (
        ADMIN,
        admin,
        True,
    )
    assert identity["urls"]["metadata"] == f"{api.org.url}/services/Soap/m/61.0/{ORG_ID_15}"
    assert identity["urls"]["query"] == f"{api.org.url}/services/data/v61.0/query/"
    # 15-character ids work too; an unknown org or user is 404 in Salesforce's shape
    assert api.get(f"/id/{ORG_ID_15}/{admin[:15]}")["username"] == ADMIN
    missing = api("GET", f"/id/{ORG_ID}/{sf_id('User', 'nobody@example.com')}")
    assert (missing.status_code, missing.json()) == (
        404,
        [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND",
          "fields": []}],
    )  # fmt: skip


def test_identity_of_another_user_needs_view_setup(org: SalesforceOrg, api: Client) -> None:
    ann = Client(org, org.token("ann@example.com"))
    assert ann.get("/services/oauth2/userinfo")["preferred_username"] == "ann@example.com"
    refused = ann("GET", f"/id/{ORG_ID}/{sf_id('User', ADMIN)}")
    assert refused.status_code == 403 and refused.json()[0]["errorCode"] == "INSUFFICIENT_ACCESS"
    assert api.get(f"/id/{ORG_ID}/{sf_id('User', 'ann@example.com')}")["asserted_user"] is False


def test_a_bad_token_is_bad_oauth_token(org: SalesforceOrg) -> None:
    response = requests.get(
        f"{org.url}/services/oauth2/userinfo",
        headers={"Authorization": "Bearer nope"},
        timeout=30,
    )
    assert (response.status_code, response.text) == (403, "Bad_OAuth_Token")


def test_limits_count_the_api_requests(api: Client) -> None:
    response = api("GET", f"{V}/limits")
    used, maximum = map(int, response.headers["Sforce-Limit-Info"].split("=")[1].split("/"))
    body = response.json()
    assert body["DailyApiRequests"] == {"Max": maximum, "Remaining": maximum - used}
    assert maximum == 15000 and used >= 1
    assert body["DataStorageMB"] == {"Max": 5, "Remaining": 5}
    assert body["PermissionSets"]["CreateCustom"]["Max"] == 1000


# --- describe --------------------------------------------------------------------------


def test_describe_global_lists_standard_custom_and_setup_objects(api: Client) -> None:
    body = api.get(f"{V}/sobjects")
    assert (body["encoding"], body["maxBatchSize"]) == ("UTF-8", 200)
    objects = {o["name"]: o for o in body["sobjects"]}
    assert objects["Account"]["keyPrefix"] == "001" and objects["Account"]["custom"] is False
    assert objects["User"]["keyPrefix"] == "005"
    invoice = objects["Invoice__c"]
    assert (invoice["label"], invoice["labelPlural"], invoice["custom"]) == (
        "Invoice",
        "Invoices",
        True,
    )
    assert invoice["urls"] == {
        "rowTemplate": f"{V}/sobjects/Invoice__c/{{ID}}",
        "describe": f"{V}/sobjects/Invoice__c/describe",
        "sobject": f"{V}/sobjects/Invoice__c",
    }
    assert "Organization" in objects and "SetupAuditTrail" in objects


def test_describe_fields_come_from_the_deployed_metadata(api: Client) -> None:
    body = api.get(f"{V}/sobjects/Invoice__c/describe")
    assert (body["name"], body["label"], body["custom"]) == ("Invoice__c", "Invoice", True)
    fields = {f["name"]: f for f in body["fields"]}
    amount = fields["Amount__c"]
    assert {k: amount[k] for k in ("type", "soapType", "precision", "scale", "nillable",
                                  "label", "custom", "length")} == {
        "type": "currency", "soapType": "xsd:double", "precision": 16, "scale": 2,
        "nillable": False, "label": "Amount", "custom": True, "length": 0,
    }  # fmt: skip
    code = fields["Code__c"]
    assert (code["type"], code["length"], code["unique"], code["externalId"], code["nillable"]) == (
        "string",
        20,
        True,
        True,
        True,
    )
    account = fields["Account__c"]
    assert (account["type"], account["referenceTo"], account["relationshipName"]) == (
        "reference",
        ["Account"],
        "Account__r",
    )
    assert fields["Id"]["type"] == "id" and fields["Id"]["nillable"] is False
    assert fields["Name"]["nameField"] is True


def test_describe_picklist_values_of_a_standard_objects_custom_field(api: Client) -> None:
    fields = {f["name"]: f for f in api.get(f"{V}/sobjects/Account/describe")["fields"]}
    region = fields["Region__c"]
    assert region["type"] == "picklist"
    assert [(v["value"], v["label"], v["defaultValue"], v["active"])
            for v in region["picklistValues"]] == [
        ("EMEA", "Europe", True, True), ("AMER", "Americas", False, True)]  # fmt: skip
    assert fields["Name"]["type"] == "string"


def test_describe_of_an_unknown_object_is_not_found(api: Client) -> None:
    for path in (f"{V}/sobjects/Nope__c/describe", f"{V}/sobjects/Nope__c"):
        response = api("GET", path)
        assert response.status_code == 404
        assert response.json()[0]["errorCode"] == "NOT_FOUND"
    assert api.get(f"{V}/sobjects/Invoice__c")["objectDescribe"]["name"] == "Invoice__c"


# --- queries ---------------------------------------------------------------------------


def test_columns_true_answers_the_columns(api: Client) -> None:
    body = api.get(
        f"{V}/query",
        params={"q": "SELECT Id, Username, UserRole.Name FROM User", "columns": "true"},
    )
    assert (body["entityName"], body["groupBy"], body["idSelected"], body["keyPrefix"]) == (
        "User",
        False,
        True,
        "005",
    )
    columns = body["columnMetadata"]
    assert [c["columnName"] for c in columns] == ["Id", "Username", "UserRole"]
    assert [(j["columnName"], j["displayName"]) for j in columns[2]["joinColumns"]] == [
        ("Name", "UserRole.Name")
    ]
    assert columns[0]["apexType"] == "Id" and columns[1]["textType"] is True


def test_query_all_and_counts(api: Client) -> None:
    soql = "SELECT Username FROM User ORDER BY Username"
    assert api.get(f"{V}/queryAll", params={"q": soql}) == api.get(f"{V}/query", params={"q": soql})
    assert api.get(f"{V}/query", params={"q": "SELECT COUNT() FROM User"}) == {
        "totalSize": 2,  # ann and the built-in admin
        "done": True,
        "records": [],
    }
    counted = api.get(
        f"{V}/query", params={"q": "SELECT COUNT(Id), COUNT(UserRoleId) roles FROM User"}
    )
    assert counted == {
        "totalSize": 1,
        "done": True,
        "records": [{"attributes": {"type": "AggregateResult"}, "expr0": 2, "roles": 1}],
    }
    mixed = api("GET", f"{V}/query", params={"q": "SELECT Username, COUNT(Id) FROM User"})
    assert (mixed.status_code, mixed.json()[0]["errorCode"]) == (400, "MALFORMED_QUERY")
    assert "Username" in mixed.json()[0]["message"]


def test_the_organization_and_the_admin_are_rows(api: Client) -> None:
    org = api.get(
        f"{V}/query",
        params={"q": "SELECT Id, Name, IsSandbox, OrganizationType, InstanceName, "
                     "TrialExpirationDate, NamespacePrefix FROM Organization"},
    )["records"]  # fmt: skip
    assert len(org) == 1
    assert {k: v for k, v in org[0].items() if k != "attributes"} == {
        "Id": ORG_ID, "Name": "crmctl sandbox", "IsSandbox": False,
        "OrganizationType": "Developer Edition", "InstanceName": "CRMCTL1",
        "TrialExpirationDate": None, "NamespacePrefix": None,
    }  # fmt: skip
    admin = api.get(
        f"{V}/query",
        params={"q": f"SELECT Id, Username, IsActive, Profile.Name FROM User "
                     f"WHERE Username = '{ADMIN}'"},
    )["records"]  # fmt: skip
    assert [(r["Id"], r["Username"], r["IsActive"], r["Profile"]["Name"]) for r in admin] == [
        (sf_id("User", ADMIN), ADMIN, True, "System Administrator")
    ]
    assert api.get(f"{V}/sobjects/User/{sf_id('User', ADMIN)}")["Username"] == ADMIN


# --- error shapes ----------------------------------------------------------------------


def test_unknown_paths_and_methods_answer_in_salesforce_shape(api: Client) -> None:
    for path in (f"{V}/nope", "/services/nope", f"{V}/sobjects/User/describe/extra"):
        response = api("GET", path)
        assert (response.status_code, response.json()) == (404, NOT_FOUND), path
    response = api("PUT", f"{V}/query")
    assert response.status_code == 405
    assert response.json() == [
        {"errorCode": "METHOD_NOT_ALLOWED",
         "message": "HTTP Method 'PUT' not allowed. Allowed are GET"}
    ]  # fmt: skip
    expired = requests.get(f"{api.org.url}{V}/limits", headers={"Authorization": "Bearer x"},
                           timeout=30)  # fmt: skip
    assert (expired.status_code, expired.json()[0]["errorCode"]) == (401, "INVALID_SESSION_ID")


# --- SOAP login and the metadata server URL ---------------------------------------------

_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"


def _login(org: SalesforceOrg, username: str, password: str) -> requests.Response:
    envelope = (
        f'<env:Envelope xmlns:env="{_SOAP}"><env:Body>'
        f'<n1:login xmlns:n1="urn:partner.soap.sforce.com"><n1:username>{username}</n1:username>'
        f"<n1:password>{password}</n1:password></n1:login></env:Body></env:Envelope>"
    )
    return requests.post(
        f"{org.url}/services/Soap/u/61.0",
        data=envelope.encode(),
        headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": "login"},
        timeout=30,
    )


def _strip(root: ET.Element) -> ET.Element:
    for element in root.iter():
        element.tag = element.tag.rpartition("}")[2]
    return root


def test_soap_login_names_the_metadata_server_url_and_it_answers(org: SalesforceOrg) -> None:
    response = _login(org, ADMIN, org.store.issue_token(ADMIN))
    assert response.status_code == 200, response.text
    result = _strip(ET.fromstring(response.content)).find("Body/loginResponse/result")
    assert result is not None
    metadata_url = result.findtext("metadataServerUrl")
    assert metadata_url == f"{org.url}/services/Soap/m/61.0/{ORG_ID_15}"
    assert result.findtext("serverUrl") == f"{org.url}/services/Soap/u/61.0/{ORG_ID_15}"
    assert result.findtext("userId") == sf_id("User", ADMIN)
    assert result.findtext("userInfo/organizationId") == ORG_ID
    session = result.findtext("sessionId") or ""
    assert re.fullmatch(ORG_ID_15 + r"!\S+", session)
    listed = requests.post(
        metadata_url,
        data=(
            f'<soapenv:Envelope xmlns:soapenv="{_SOAP}" '
            'xmlns:met="http://soap.sforce.com/2006/04/metadata"><soapenv:Header>'
            f"<met:SessionHeader><met:sessionId>{session}</met:sessionId></met:SessionHeader>"
            "</soapenv:Header><soapenv:Body><met:listMetadata><met:queries>"
            "<met:type>CustomField</met:type></met:queries><met:queries>"
            "<met:type>CustomObject</met:type></met:queries></met:listMetadata>"
            "</soapenv:Body></soapenv:Envelope>"
        ).encode(),
        headers={"Content-Type": "text/xml", "SOAPAction": '""'},
        timeout=30,
    )
    assert listed.status_code == 200, listed.text
    results = _strip(ET.fromstring(listed.content)).findall("Body/listMetadataResponse/result")
    ids = {(r.findtext("type"), r.findtext("fullName")): r.findtext("id") for r in results}
    assert ids[("CustomField", "Invoice__c.Amount__c")][:3] == "00N"
    assert ids[("CustomObject", "Invoice__c")][:3] == "01I"
    assert ids[("CustomObject", "Account")] == ""  # a standard object has no custom-object row
    assert all(len(i) == 18 for i in ids.values() if i)


@pytest.mark.parametrize("password", ["wrong", ""])
def test_soap_login_refuses_a_wrong_password(org: SalesforceOrg, password: str) -> None:
    response = _login(org, ADMIN, password)
    assert response.status_code == 500
    fault = _strip(ET.fromstring(response.content)).find("Body/Fault")
    assert fault is not None and fault.findtext("faultcode") == "sf:INVALID_LOGIN"


def test_soap_login_refuses_another_users_token(org: SalesforceOrg) -> None:
    response = _login(org, "ann@example.com", org.store.issue_token(ADMIN))
    assert response.status_code == 500 and b"INVALID_LOGIN" in response.content


def test_the_built_in_admin_is_read_only_over_rest(api: Client) -> None:
    admin = sf_id("User", ADMIN)
    response = api("PATCH", f"{V}/sobjects/User/{admin}", json={"FirstName": "Ada"})
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INSUFFICIENT_ACCESS_OR_READONLY"
    assert api.get(f"{V}/sobjects/User/{admin}")["FirstName"] is None
