"""The sandbox's Metadata API over SOAP: envelopes, polling, deploys, faults."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from crmctl.model import Resource
from crmctl.providers.salesforce import metadata_xml as mx
from crmctl.providers.salesforce import package
from tests.salesforce_org import SalesforceOrg, salesforce_org

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"


@pytest.fixture
def org(tmp_path: Path) -> Iterator[SalesforceOrg]:
    for item in salesforce_org(tmp_path):
        item.store.batch(
            [
                {"op": "put", "kind": "CustomObject", "name": "Ticket__c", "spec": {"label": "Ticket"}},
                {"op": "put", "kind": "CustomField", "name": "Ticket__c.Note__c",
                 "spec": {"type": "Text", "label": "Note"}},
                {"op": "put", "kind": "Role", "name": "CEO", "spec": {"label": "CEO"}},
            ],
            "tests",
        )  # fmt: skip
        yield item


def _call(org: SalesforceOrg, body: str, token: str | None = None) -> tuple[int, object]:
    session = token if token is not None else org.token()
    envelope = (
        f'<soapenv:Envelope xmlns:soapenv="{SOAP}" xmlns:met="{mx.NS}"><soapenv:Header>'
        f"<met:SessionHeader><met:sessionId>{session}</met:sessionId></met:SessionHeader>"
        f"</soapenv:Header><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    )
    response = requests.post(
        f"{org.url}/services/Soap/m/61.0",
        data=envelope.encode(),
        headers={"Content-Type": "text/xml", "SOAPAction": '""'},
        timeout=30,
    )
    assert response.headers["Content-Type"].startswith("text/xml")
    return response.status_code, mx.parse(response.content)


def test_list_metadata_answers_file_properties(org: SalesforceOrg) -> None:
    status, root = _call(org, "<met:listMetadata><met:queries><met:type>CustomField</met:type></met:queries>"
                              "<met:queries><met:type>Role</met:type></met:queries>"
                              "<met:asOfVersion>61.0</met:asOfVersion></met:listMetadata>")  # fmt: skip
    assert status == 200
    assert root.find("Header/LimitInfoHeader/limitInfo/type").text == "API REQUESTS"
    results = root.findall("Body/listMetadataResponse/result")
    assert sorted(
        (mx.text(r, "type"), mx.text(r, "fullName"), mx.text(r, "fileName")) for r in results
    ) == [
        ("CustomField", "Ticket__c.Note__c", "objects/Ticket__c.object"),
        ("Role", "CEO", "roles/CEO.role"),
    ]
    assert mx.text(results[0], "manageableState") == "unmanaged"


def test_a_retrieve_is_polled_then_answers_a_zip(org: SalesforceOrg) -> None:
    status, root = _call(org, "<met:retrieve><met:retrieveRequest><met:apiVersion>61.0</met:apiVersion>"
                              "<met:singlePackage>true</met:singlePackage><met:unpackaged>"
                              "<met:types><met:members>*</met:members><met:name>CustomObject</met:name></met:types>"
                              "<met:types><met:members>Ticket__c.Note__c</met:members><met:members>Ticket__c.Gone__c</met:members>"
                              "<met:name>CustomField</met:name></met:types><met:version>61.0</met:version>"
                              "</met:unpackaged></met:retrieveRequest></met:retrieve>")  # fmt: skip
    result = root.find("Body/retrieveResponse/result")
    assert (status, mx.text(result, "done"), mx.text(result, "state")) == (200, "false", "Queued")
    check = f"<met:checkRetrieveStatus><met:asyncProcessId>{mx.text(result, 'id')}</met:asyncProcessId>" \
            "<met:includeZip>true</met:includeZip></met:checkRetrieveStatus>"  # fmt: skip
    first = _call(org, check)[1].find("Body/checkRetrieveStatusResponse/result")
    assert (mx.text(first, "done"), mx.text(first, "status")) == ("false", "InProgress")
    done = _call(org, check)[1].find("Body/checkRetrieveStatusResponse/result")
    assert (mx.text(done, "done"), mx.text(done, "status"), mx.text(done, "success")) == (
        "true",
        "Succeeded",
        "true",
    )
    assert (
        mx.text(done.find("messages"), "problem")
        == "Entity of type 'CustomField' named 'Ticket__c.Gone__c' cannot be found"
    )
    contents = package.read_zip(base64.b64decode(mx.text(done, "zipFile")))
    assert {r.address for r in contents.resources()} == {
        "CustomObject/Ticket__c",
        "CustomField/Ticket__c.Note__c",
    }


def _deploy(org: SalesforceOrg, zip_bytes: bytes, check_only: bool = False, rollback: bool = True):
    body = (f"<met:deploy><met:ZipFile>{base64.b64encode(zip_bytes).decode()}</met:ZipFile><met:DeployOptions>"
            f"<met:checkOnly>{str(check_only).lower()}</met:checkOnly>"
            f"<met:rollbackOnError>{str(rollback).lower()}</met:rollbackOnError></met:DeployOptions></met:deploy>")  # fmt: skip
    job = mx.text(_call(org, body)[1].find("Body/deployResponse/result"), "id")
    check = f"<met:checkDeployStatus><met:asyncProcessId>{job}</met:asyncProcessId><met:includeDetails>true</met:includeDetails></met:checkDeployStatus>"
    while True:
        result = _call(org, check)[1].find("Body/checkDeployStatusResponse/result")
        if mx.text(result, "done") == "true":
            return result


def _failures(result) -> list[tuple[str, str, str]]:
    return [(mx.text(f, "componentType"), mx.text(f, "fullName"), mx.text(f, "problem"))
            for f in result.findall("details/componentFailures")]  # fmt: skip


BAD = [
    Resource(
        "CustomField",
        "Ticket__c.Owner_Role__c",
        {"type": "Lookup", "label": "R", "referenceTo": "Nowhere__c"},
    ),
    Resource("Role", "VP", {"label": "VP", "parent": "Missing"}),
    Resource("Role", "COO", {"label": "COO", "parent": "CEO"}),
]


def test_a_failing_deploy_reports_every_component_and_saves_nothing(org: SalesforceOrg) -> None:
    before = org.store.list_all_config()
    result = _deploy(org, package.deploy_zip(BAD, delete_post=[("Role", "Nobody")]))
    assert (
        mx.text(result, "status"),
        mx.text(result, "success"),
        mx.text(result, "numberComponentErrors"),
    ) == ("Failed", "false", "3")
    assert _failures(result) == [
        (
            "CustomField",
            "Ticket__c.Owner_Role__c",
            "CustomField/Ticket__c.Owner_Role__c: referenceTo names unknown object 'Nowhere__c'",
        ),
        ("Role", "VP", "Role/VP: parent role 'Missing' is not declared"),
        ("Role", "Nobody", "No Role named: Nobody found"),
    ]
    assert org.store.list_all_config() == before


def test_without_rollback_on_error_what_passes_is_saved(org: SalesforceOrg) -> None:
    result = _deploy(org, package.deploy_zip(BAD), rollback=False)
    assert (mx.text(result, "status"), mx.text(result, "numberComponentsDeployed")) == (
        "SucceededPartial",
        "1",
    )
    assert org.store.get_config("Role", "COO") is not None


def test_a_check_only_deploy_saves_nothing(org: SalesforceOrg) -> None:
    result = _deploy(
        org,
        package.deploy_zip(BAD[2:], delete_post=[("CustomObject", "Ticket__c")]),
        check_only=True,
    )
    assert (mx.text(result, "status"), mx.text(result, "checkOnly")) == ("Succeeded", "true")
    assert org.store.get_config("Role", "COO") is None
    assert org.store.get_config("CustomField", "Ticket__c.Note__c") is not None


def test_deleting_an_object_deletes_its_fields(org: SalesforceOrg) -> None:
    result = _deploy(org, package.deploy_zip([], delete_post=[("CustomObject", "Ticket__c")]))
    assert mx.text(result, "status") == "Succeeded", _failures(result)
    assert org.store.get_config("CustomField", "Ticket__c.Note__c") is None


def test_a_component_named_but_not_in_the_zip(org: SalesforceOrg) -> None:
    zip_bytes = package.zip_files({"package.xml": mx.package_xml({"Role": ["Ghost"]}, "61.0")})
    assert _failures(_deploy(org, zip_bytes)) == [
        (
            "Role",
            "Ghost",
            "An object 'Ghost' of type Role was named in package.xml, but was not found in zipped directory",
        )
    ]


def test_faults(org: SalesforceOrg) -> None:
    status, root = _call(org, "<met:listMetadata/>", token="00Dnot-a-session")
    fault = root.find("Body/Fault")
    assert status == 500
    assert (mx.text(fault, "faultcode"), mx.text(fault, "faultstring")) == (
        "sf:INVALID_SESSION_ID",
        "INVALID_SESSION_ID: Session expired or invalid",
    )
    status, root = _call(org, "<met:describeEverything/>")
    assert mx.text(root.find("Body/Fault"), "faultcode") == "sf:INVALID_OPERATION"
    status, root = _call(
        org,
        "<met:checkDeployStatus><met:asyncProcessId>0AfNOPE</met:asyncProcessId></met:checkDeployStatus>",
    )
    assert mx.text(root.find("Body/Fault"), "faultcode") == "sf:INVALID_ID_FIELD"
