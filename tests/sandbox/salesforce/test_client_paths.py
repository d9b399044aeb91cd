"""What real clients need of the emulator, checked without them (tests/clients drives them).

The Salesforce CLI's login and version discovery, the SOAP endpoint as the
login answer names it, readMetadata, an object's matching-rule file
(`MatchingRules`) and a standard object's retrieve.
"""

from __future__ import annotations

import base64
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from crmctl.sandbox.salesforce.oauth import ORG_ID
from crmctl.sandbox.salesforce.sobjects import sf_id
from tests.salesforce_org import ADMIN, SalesforceOrg, salesforce_org

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
NS = "http://soap.sforce.com/2006/04/metadata"


@pytest.fixture
def org(tmp_path: Path) -> Iterator[SalesforceOrg]:
    for item in salesforce_org(tmp_path):
        item.store.batch(
            [
                {"op": "put", "kind": "CustomObject", "name": "Ticket__c", "spec": {"label": "Ticket"}},
                {"op": "put", "kind": "CustomField", "name": "Ticket__c.Note__c",
                 "spec": {"type": "Text", "label": "Note", "length": 80}},
                {"op": "put", "kind": "CustomField", "name": "Account.Tier__c",
                 "spec": {"type": "Text", "label": "Tier", "length": 10}},
            ],
            "tests",
        )  # fmt: skip
        yield item


def _get(org: SalesforceOrg, path: str, token: str) -> requests.Response:
    return requests.get(
        f"{org.url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def test_the_cli_login_path(org: SalesforceOrg) -> None:
    token = org.token()
    info = _get(org, "/services/oauth2/userinfo", token).json()
    admin = sf_id("User", ADMIN)
    assert (info["user_id"], info["organization_id"], info["preferred_username"]) == (
        admin, ORG_ID, ADMIN,
    )  # fmt: skip
    row = _get(org, f"/services/data/v51.0/sobjects/User/{admin}", token).json()
    assert (row["Username"], row["IsActive"], row["attributes"]["type"]) == (ADMIN, True, "User")
    versions = _get(org, "/services/data", token).json()
    assert versions[-1] == {"label": "Winter '25", "url": "/services/data/v62.0", "version": "62.0"}
    assert versions[0]["version"] == "31.0" and versions[0]["label"] == "Summer '14"
    resources = _get(org, "/services/data/v61.0", token).json()
    assert resources["query"] == "/services/data/v61.0/query"
    assert resources["identity"].endswith(f"/id/{ORG_ID}/{admin}")
    # Salesforce answers a bad token at userinfo with 403 Bad_OAuth_Token
    assert _get(org, "/services/oauth2/userinfo", "not-a-token").status_code == 403


def test_organization_and_query_columns(org: SalesforceOrg) -> None:
    token = org.token()
    answer = _get(org, "/services/data/v61.0/query?q=SELECT+Name,+IsSandbox+FROM+Organization",
                  token).json()  # fmt: skip
    assert [(r["Name"], r["IsSandbox"]) for r in answer["records"]] == [("crmctl sandbox", False)]
    columns = _get(
        org, "/services/data/v61.0/query?q=SELECT+Id,+UserRole.Name+FROM+User&columns=true", token
    ).json()
    assert (columns["entityName"], columns["keyPrefix"], columns["idSelected"]) == (
        "User", "005", True,
    )  # fmt: skip
    assert [
        (c["columnName"], [j["columnName"] for j in c["joinColumns"]])
        for c in columns["columnMetadata"]
    ] == [("Id", []), ("UserRole", ["Name"])]
    # Everything else is sobjects' answer, errors included.
    bad = _get(org, "/services/data/v61.0/query?q=SELECT+Nope+FROM+User", token)
    assert (bad.status_code, bad.json()[0]["errorCode"]) == (400, "INVALID_FIELD")
    tooling = _get(org, "/services/data/v61.0/tooling/sobjects/SourceMember/describe", token)
    assert (tooling.status_code, tooling.json()) == (
        404,
        [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}],
    )  # fmt: skip


def _soap(org: SalesforceOrg, body: str, path: str = "/services/Soap/m/61.0") -> str:
    envelope = (
        f'<soapenv:Envelope xmlns:soapenv="{SOAP}" xmlns:met="{NS}"><soapenv:Header>'
        f"<met:SessionHeader><met:sessionId>{org.token()}</met:sessionId></met:SessionHeader>"
        f"</soapenv:Header><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    )
    response = requests.post(f"{org.url}{path}", data=envelope.encode(),
                             headers={"Content-Type": "text/xml", "SOAPAction": '""'}, timeout=30)  # fmt: skip
    assert response.status_code == 200, response.text
    return response.text


@pytest.mark.parametrize("path", [f"/services/Soap/m/61.0/{ORG_ID}", "/services/Soap/m/61.0/"])
def test_soap_at_the_path_the_login_names(org: SalesforceOrg, path: str) -> None:
    listed = _soap(org, "<met:listMetadata><met:queries><met:type>CustomField</met:type>"
                        "</met:queries></met:listMetadata>", path)  # fmt: skip
    assert "<fullName>Ticket__c.Note__c</fullName>" in listed


def test_read_metadata_gives_an_object_with_its_fields(org: SalesforceOrg) -> None:
    answer = _soap(org, "<met:readMetadata><met:type>CustomObject</met:type>"
                        "<met:fullNames>Ticket__c</met:fullNames><met:fullNames>Account</met:fullNames>"
                        "<met:fullNames>Nothing__c</met:fullNames></met:readMetadata>")  # fmt: skip
    body = answer.partition("<result>")[2].partition("</result>")[0]
    records = body.split("<records ")[1:]
    assert len(records) == 3
    assert records[0].startswith('xsi:type="CustomObject"><fullName>Ticket__c</fullName>')
    assert "<fields><fullName>Note__c</fullName>" in records[0]
    assert "<fullName>Account</fullName><fields><fullName>Tier__c</fullName>" in records[1]
    assert records[2] == 'xsi:type="CustomObject" />'


def _poll(org: SalesforceOrg, check: str) -> str:
    for _ in range(50):  # the emulator answers "not done" once (asyncPolls) per job
        answer = _soap(org, check)
        if "<done>true</done>" in answer:
            return answer
    raise AssertionError(f"never done: {answer[:500]}")


def _deploy_and_retrieve(org: SalesforceOrg, files: dict[str, str], members: str) -> dict:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    job = _soap(org, f"<met:deploy><met:ZipFile>{base64.b64encode(buffer.getvalue()).decode()}"
                     "</met:ZipFile></met:deploy>").partition("<id>")[2].partition("</id>")[0]  # fmt: skip
    check = f"<met:checkDeployStatus><met:asyncProcessId>{job}</met:asyncProcessId><met:includeDetails>true</met:includeDetails></met:checkDeployStatus>"
    deployed = _poll(org, check)
    job = _soap(org, "<met:retrieve><met:request><met:apiVersion>61.0</met:apiVersion>"
                     f"<met:unpackaged>{members}</met:unpackaged></met:request></met:retrieve>"
                ).partition("<id>")[2].partition("</id>")[0]  # fmt: skip
    check = f"<met:checkRetrieveStatus><met:asyncProcessId>{job}</met:asyncProcessId></met:checkRetrieveStatus>"
    retrieved = _poll(org, check)
    encoded = retrieved.partition("<zipFile>")[2].partition("</zipFile>")[0]
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(encoded))) as archive:
        return {"deploy": deployed, **{n: archive.read(n).decode() for n in archive.namelist()}}


RULE = (
    f'<MatchingRules xmlns="{NS}"><matchingRules><fullName>Same_Name</fullName>'
    "<label>Same name</label><matchingRuleItems><blankValueBehavior>NullNotAllowed"
    "</blankValueBehavior><fieldName>Name</fieldName><matchingMethod>Exact</matchingMethod>"
    "</matchingRuleItems><ruleStatus>Inactive</ruleStatus></matchingRules></MatchingRules>"
)


def test_matching_rules_files_as_the_cli_names_them(org: SalesforceOrg) -> None:
    package = (f'<Package xmlns="{NS}"><types><members>Account</members><members>Lead</members>'
               "<name>MatchingRules</name></types><version>61.0</version></Package>")  # fmt: skip
    empty = f'<MatchingRules xmlns="{NS}"/>'
    out = _deploy_and_retrieve(
        org,
        {"package.xml": package, "matchingRules/Account.matchingRule": RULE,
         "matchingRules/Lead.matchingRule": empty},
        "<met:types><met:members>Account</met:members><met:members>Lead</met:members>"
        "<met:name>MatchingRules</met:name></met:types>",
    )  # fmt: skip
    assert "<status>Succeeded</status>" in out["deploy"]
    assert out["deploy"].count("<componentType>MatchingRules</componentType>") == 2
    account = out["unpackaged/matchingRules/Account.matchingRule"]
    assert "<fullName>Same_Name</fullName>" in account and "<fieldName>Name</fieldName>" in account
    assert "<matchingRules>" not in out["unpackaged/matchingRules/Lead.matchingRule"]


def test_a_missing_matching_rules_file_is_named(org: SalesforceOrg) -> None:
    package = (f'<Package xmlns="{NS}"><types><members>Contact</members>'
               "<name>MatchingRules</name></types><version>61.0</version></Package>")  # fmt: skip
    out = _deploy_and_retrieve(org, {"package.xml": package}, "")
    assert "<status>Failed</status>" in out["deploy"]
    assert (
        "<problem>An object 'Contact' of type MatchingRules was named in package.xml, "
        "but was not found in zipped directory</problem>"
    ) in out["deploy"]


def test_a_standard_object_retrieves_what_the_org_holds_of_it(org: SalesforceOrg) -> None:
    out = _deploy_and_retrieve(
        org,
        {"package.xml": f'<Package xmlns="{NS}"><version>61.0</version></Package>'},
        "<met:types><met:members>Account</met:members><met:members>Ticket__c</met:members>"
        "<met:name>CustomObject</met:name></met:types>",
    )
    account = out["unpackaged/objects/Account.object"]
    assert "<fullName>Tier__c</fullName>" in account
    ticket = out["unpackaged/objects/Ticket__c.object"]
    assert "<label>Ticket</label>" in ticket and "<fullName>Note__c</fullName>" in ticket
    assert "<members>Account</members>" in out["unpackaged/package.xml"]
