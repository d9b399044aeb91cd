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


def _zip(files: dict[str, str], members: dict[str, list[str]]) -> bytes:
    from tests.sfdx_source import package_xml

    data = {name: content.encode() for name, content in files.items()}
    data["package.xml"] = package_xml(members)
    return package.zip_files(data)


def _retrieve(org: SalesforceOrg, types: str, request_tag: str = "retrieveRequest") -> dict:
    import io
    import zipfile

    body = (f"<met:retrieve><met:{request_tag}><met:apiVersion>61.0</met:apiVersion><met:unpackaged>"
            f"{types}</met:unpackaged></met:{request_tag}></met:retrieve>")  # fmt: skip
    job = mx.text(_call(org, body)[1].find("Body/retrieveResponse/result"), "id")
    check = f"<met:checkRetrieveStatus><met:asyncProcessId>{job}</met:asyncProcessId></met:checkRetrieveStatus>"
    while True:
        result = _call(org, check)[1].find("Body/checkRetrieveStatusResponse/result")
        if mx.text(result, "done") == "true":
            break
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(mx.text(result, "zipFile")))) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


JOB = f"""<CustomObject xmlns="{mx.NS}">
    <enableHistory>true</enableHistory>
    <fields>
        <fullName>Title__c</fullName>
        <label>Title</label>
        <length>80</length>
        <trackHistory>true</trackHistory>
        <type>Text</type>
    </fields>
    <fields>
        <fullName>Score__c</fullName>
        <formula>LEN(Title__c)</formula>
        <label>Score</label>
        <type>Number</type>
    </fields>
    <label>Job</label>
    <listViews>
        <fullName>All</fullName>
        <filterScope>Everything</filterScope>
        <label>All</label>
    </listViews>
    <nameField>
        <label>Job Name</label>
        <type>Text</type>
    </nameField>
    <pluralLabel>Jobs</pluralLabel>
    <sharingModel>ReadWrite</sharingModel>
</CustomObject>"""


def test_an_object_is_retrieved_as_deployed_with_all_its_components(org: SalesforceOrg) -> None:
    members = {"CustomObject": ["Job__c"], "ListView": ["Job__c.All"],
               "CustomField": ["Job__c.Title__c", "Job__c.Score__c"]}  # fmt: skip
    result = _deploy(org, _zip({"objects/Job__c.object": JOB}, members))
    assert mx.text(result, "status") == "Succeeded", _failures(result)
    # The store enforces what it can (the text field); the formula field is kept as XML.
    assert org.store.get_config("CustomField", "Job__c.Title__c")["spec"]["length"] == 80
    assert org.store.get_config("CustomField", "Job__c.Score__c") is None
    types = (
        "<met:types><met:members>Job__c</met:members><met:name>CustomObject</met:name></met:types>"
    )
    files = _retrieve(org, types, request_tag="request")
    assert sorted(files) == ["unpackaged/objects/Job__c.object", "unpackaged/package.xml"]
    got = mx.parse(files["unpackaged/objects/Job__c.object"])
    assert [e.tag for e in got] == [e.tag for e in mx.parse(JOB)]
    assert [mx.text(f, "fullName") for f in got.findall("fields")] == ["Title__c", "Score__c"]
    assert mx.text(got.findall("fields")[1], "formula") == "LEN(Title__c)"
    assert mx.text(got.find("fields"), "trackHistory") == "true"


def test_a_type_this_org_does_not_take_is_refused_per_component_naming_it(
    org: SalesforceOrg,
) -> None:
    zip_bytes = _zip(
        {"roles/COO.role": f'<Role xmlns="{mx.NS}"><name>COO</name></Role>',
         "classes/Hello.cls": "public class Hello {}"},
        {"Role": ["COO"], "ApexClass": ["Hello"]},
    )  # fmt: skip
    result = _deploy(org, zip_bytes, rollback=False)
    assert _failures(result) == [
        ("ApexClass", "Hello",
         "Not available for deploy for this organization: the ApexClass metadata type")
    ]  # fmt: skip
    assert mx.text(result, "status") == "SucceededPartial"
    assert org.store.get_config("Role", "COO") is not None


def test_a_field_of_an_object_the_org_does_not_have_is_refused(org: SalesforceOrg) -> None:
    field = f'<CustomObject xmlns="{mx.NS}"><fields><fullName>X__c</fullName><label>X</label><type>Checkbox</type><defaultValue>false</defaultValue></fields></CustomObject>'
    result = _deploy(org, _zip({"objects/Elsewhere__c.object": field},
                               {"CustomField": ["Elsewhere__c.X__c"]}))  # fmt: skip
    assert _failures(result) == [
        ("CustomField", "Elsewhere__c.X__c",
         "In field: fullName - no CustomObject named Elsewhere__c found")
    ]  # fmt: skip


def test_a_deploy_is_queued_and_answers_its_id_at_once(org: SalesforceOrg) -> None:
    from crmctl.sandbox.salesforce import metadata

    zip_bytes = _zip({"roles/COO.role": f'<Role xmlns="{mx.NS}"><name>COO</name></Role>'},
                     {"Role": ["COO"]})  # fmt: skip
    body = f"<met:deploy><met:ZipFile>{base64.b64encode(zip_bytes).decode()}</met:ZipFile></met:deploy>"
    check = "<met:checkDeployStatus><met:asyncProcessId>{}</met:asyncProcessId><met:includeDetails>true</met:includeDetails></met:checkDeployStatus>"
    with metadata.deploy_queue(org.store):  # another deploy runs: this one waits its turn
        job = mx.text(_call(org, body)[1].find("Body/deployResponse/result"), "id")
        for _ in range(3):
            result = _call(org, check.format(job))[1].find("Body/checkDeployStatusResponse/result")
            assert (mx.text(result, "done"), mx.text(result, "status")) == ("false", "Pending")
        assert org.store.get_config("Role", "COO") is None
    while mx.text(result, "done") != "true":
        result = _call(org, check.format(job))[1].find("Body/checkDeployStatusResponse/result")
    assert mx.text(result, "status") == "Succeeded"
    assert mx.text(result.find("details/componentSuccesses"), "fullName") == "COO"


def test_the_sandbox_api_changes_show_in_the_xml_and_a_recreated_role_is_not_the_old_one(
    org: SalesforceOrg,
) -> None:
    role = f'<Role xmlns="{mx.NS}"><caseAccessLevel>None</caseAccessLevel><name>Ops</name></Role>'
    result = _deploy(org, _zip({"roles/Ops.role": role}, {"Role": ["Ops"]}))
    assert mx.text(result, "status") == "Succeeded", _failures(result)
    types = "<met:types><met:members>Ops</met:members><met:name>Role</met:name></met:types>"
    org.store.put_config("Role", "Ops", {"label": "Operations"}, "someone")  # the sandbox's API
    got = mx.parse(_retrieve(org, types)["unpackaged/roles/Ops.role"])
    assert (mx.text(got, "name"), mx.text(got, "caseAccessLevel")) == ("Operations", "None")
    org.store.delete_config("Role", "Ops", "someone")
    org.store.put_config("Role", "Ops", {"label": "Ops"}, "someone")
    got = mx.parse(_retrieve(org, types)["unpackaged/roles/Ops.role"])
    assert (mx.text(got, "name"), got.find("caseAccessLevel")) == ("Ops", None)


def test_a_retrieve_adds_the_defaults_a_real_org_adds(org: SalesforceOrg) -> None:
    role = f'<Role xmlns="{mx.NS}"><name>Ops</name><parentRole>CEO</parentRole></Role>'
    result = _deploy(org, _zip({"roles/Ops.role": role}, {"Role": ["Ops"]}))
    assert mx.text(result, "status") == "Succeeded", _failures(result)
    types = "<met:types><met:members>Ops</met:members><met:name>Role</met:name></met:types>"
    got = mx.parse(_retrieve(org, types)["unpackaged/roles/Ops.role"])
    assert [(e.tag, e.text) for e in got] == [
        ("mayForecastManagerShare", "false"), ("name", "Ops"), ("parentRole", "CEO")]  # fmt: skip


def test_a_changed_global_value_set_gives_its_picklists_the_new_values(org: SalesforceOrg) -> None:
    def value_set(*values: str) -> str:
        items = "".join(f"<customValue><fullName>{v}</fullName><default>false</default>"
                        f"<label>{v}</label></customValue>" for v in values)  # fmt: skip
        return f'<GlobalValueSet xmlns="{mx.NS}">{items}<masterLabel>Sizes</masterLabel></GlobalValueSet>'

    field = (f'<CustomObject xmlns="{mx.NS}"><fields><fullName>Size__c</fullName><label>Size</label>'
             "<type>Picklist</type><valueSet><restricted>true</restricted><valueSetName>Sizes"
             "</valueSetName></valueSet></fields></CustomObject>")  # fmt: skip
    files = {"globalValueSets/Sizes.globalValueSet": value_set("S", "M"),
             "objects/Ticket__c.object": field}  # fmt: skip
    members = {"GlobalValueSet": ["Sizes"], "CustomField": ["Ticket__c.Size__c"]}
    assert mx.text(_deploy(org, _zip(files, members)), "status") == "Succeeded"
    spec = org.store.get_config("CustomField", "Ticket__c.Size__c")["spec"]
    assert [v["value"] for v in spec["values"]] == ["S", "M"]
    files = {"globalValueSets/Sizes.globalValueSet": value_set("S", "M", "L")}
    assert (
        mx.text(_deploy(org, _zip(files, {"GlobalValueSet": ["Sizes"]})), "status") == "Succeeded"
    )
    spec = org.store.get_config("CustomField", "Ticket__c.Size__c")["spec"]
    assert [v["value"] for v in spec["values"]] == ["S", "M", "L"]
    types = "<met:types><met:members>Ticket__c.Size__c</met:members><met:name>CustomField</met:name></met:types>"
    got = mx.parse(_retrieve(org, types)["unpackaged/objects/Ticket__c.object"]).find("fields")
    assert mx.text(got.find("valueSet"), "valueSetName") == "Sizes"  # still the global set's


def test_a_rule_on_a_formula_field_is_taken_as_the_org_takes_it(org: SalesforceOrg) -> None:
    obj = (f'<CustomObject xmlns="{mx.NS}"><fields><fullName>Late__c</fullName>'
           "<formula>TODAY() &gt; DATE(2020,1,1)</formula><label>Late</label><type>Checkbox</type>"
           "</fields><validationRules><fullName>Not_Late</fullName><active>true</active>"
           "<errorConditionFormula>Late__c</errorConditionFormula><errorMessage>Late</errorMessage>"
           "</validationRules><validationRules><fullName>Typo</fullName><active>true</active>"
           "<errorConditionFormula>Lat__c</errorConditionFormula><errorMessage>Typo</errorMessage>"
           "</validationRules></CustomObject>")  # fmt: skip
    members = {"CustomField": ["Ticket__c.Late__c"],
               "ValidationRule": ["Ticket__c.Not_Late", "Ticket__c.Typo"]}  # fmt: skip
    result = _deploy(org, _zip({"objects/Ticket__c.object": obj}, members), rollback=False)
    assert _failures(result) == [
        ("ValidationRule", "Ticket__c.Typo",
         "ValidationRule/Ticket__c.Typo: spec.condition: unknown field Lat__c (formula line 1, column 1)")
    ]  # fmt: skip
    # Kept as XML (the sandbox cannot evaluate a formula field, so it does not enforce it).
    assert org.store.get_config("ValidationRule", "Ticket__c.Not_Late") is None
    types = "<met:types><met:members>Ticket__c.Not_Late</met:members><met:name>ValidationRule</met:name></met:types>"
    got = mx.parse(_retrieve(org, types)["unpackaged/objects/Ticket__c.object"])
    assert mx.text(got.find("validationRules"), "errorConditionFormula") == "Late__c"


def test_time_html_and_auto_number_fields_are_enforced_on_record_writes(org: SalesforceOrg) -> None:
    from crmctl.sandbox.records import OrgModel

    obj = (f'<CustomObject xmlns="{mx.NS}"><fields><fullName>Body__c</fullName><label>Body</label>'
           "<length>1000</length><type>Html</type><visibleLines>25</visibleLines></fields>"
           "<fields><fullName>Opens__c</fullName><label>Opens</label><type>Time</type></fields>"
           "<fields><fullName>No__c</fullName><displayFormat>T-{0000}</displayFormat>"
           "<label>No</label><type>AutoNumber</type></fields>"
           "<fields><fullName>Late__c</fullName><formula>TODAY() &gt; DATE(2020,1,1)</formula>"
           "<label>Late</label><type>Checkbox</type></fields></CustomObject>")  # fmt: skip
    names = ["Ticket__c.Body__c", "Ticket__c.Opens__c", "Ticket__c.No__c", "Ticket__c.Late__c"]
    result = _deploy(org, _zip({"objects/Ticket__c.object": obj}, {"CustomField": names}))
    assert _failures(result) == []
    body_spec = org.store.get_config("CustomField", "Ticket__c.Body__c")["spec"]
    assert {k: body_spec[k] for k in ("type", "length", "visibleLines")} == {
        "type": "Html", "length": 1000, "visibleLines": 25,
    }  # fmt: skip
    assert org.store.get_config("CustomField", "Ticket__c.Late__c") is None  # XML only
    ticket = OrgModel.from_config(org.store.list_all_config()).object("Ticket__c")
    assert ticket is not None
    body, opens, number = (ticket.field(n) for n in ("Body__c", "Opens__c", "No__c"))
    assert (body.type, body.length, body.writable) == ("Html", 1000, True)
    assert (opens.type, opens.writable) == ("Time", True)
    assert (number.type, number.writable) == ("AutoNumber", False)  # the org numbers records
    types = "<met:types><met:members>Ticket__c.No__c</met:members><met:name>CustomField</met:name></met:types>"
    got = mx.parse(_retrieve(org, types)["unpackaged/objects/Ticket__c.object"])
    assert mx.text(got.find("fields"), "displayFormat") == "T-{0000}"


def _profile(body: str) -> str:
    return f'<Profile xmlns="{mx.NS}">{body}</Profile>'


_FLS = "<fieldPermissions><editable>{e}</editable><field>{f}</field><readable>true</readable></fieldPermissions>"
_USER = "<userPermissions><enabled>true</enabled><name>{n}</name></userPermissions>"


def test_a_profile_is_kept_and_a_deploy_overlays_it_as_a_real_org_does(org: SalesforceOrg) -> None:
    first = _profile(
        "<custom>true</custom>"
        + _FLS.format(e="false", f="Ticket__c.Note__c") + _FLS.format(e="true", f="Account.Site")
        + "<layoutAssignments><layout>Ticket__c-Ticket Layout</layout></layoutAssignments>"
        + "<userLicense>Salesforce</userLicense>" + _USER.format(n="ApiEnabled")
    )  # fmt: skip
    result = _deploy(
        org, _zip({"profiles/Support Agent.profile": first}, {"Profile": ["Support Agent"]})
    )
    assert (mx.text(result, "status"), _failures(result)) == ("Succeeded", [])
    types = "<met:types><met:members>Support Agent</met:members><met:name>Profile</met:name></met:types>"
    files = _retrieve(org, types)
    assert _canonical(files["unpackaged/profiles/Support Agent.profile"]) == _canonical(first)
    # A second deploy sets what it names and keeps the rest (Salesforce: a profile deploy
    # overlays the profile the org has).
    second = _profile(
        _FLS.format(e="true", f="Ticket__c.Note__c")
        + "<layoutAssignments><layout>Ticket__c-Ticket Layout 2</layout></layoutAssignments>"
        + "<objectPermissions><allowRead>true</allowRead><object>Ticket__c</object></objectPermissions>"
        + _USER.format(n="ViewSetup")
    )  # fmt: skip
    result = _deploy(
        org, _zip({"profiles/Support Agent.profile": second}, {"Profile": ["Support Agent"]})
    )
    assert (mx.text(result, "status"), _failures(result)) == ("Succeeded", [])
    expected = _profile(
        "<custom>true</custom>"
        + _FLS.format(e="true", f="Ticket__c.Note__c") + _FLS.format(e="true", f="Account.Site")
        + "<layoutAssignments><layout>Ticket__c-Ticket Layout 2</layout></layoutAssignments>"
        + "<objectPermissions><allowRead>true</allowRead><object>Ticket__c</object></objectPermissions>"
        + "<userLicense>Salesforce</userLicense>" + _USER.format(n="ApiEnabled")
        + _USER.format(n="ViewSetup")
    )  # fmt: skip
    assert _canonical(_retrieve(org, types)["unpackaged/profiles/Support Agent.profile"]) == (
        _canonical(expected)
    )
    listed = _call(org, "<met:listMetadata><met:queries><met:type>Profile</met:type></met:queries>"
                        "</met:listMetadata>")[1].findall("Body/listMetadataResponse/result")  # fmt: skip
    assert [
        (mx.text(r, "fullName"), mx.text(r, "fileName"), mx.text(r, "id")[:3]) for r in listed
    ] == [("Support Agent", "profiles/Support Agent.profile", "00e")]


def _canonical(xml: str) -> str:
    import xml.etree.ElementTree as ET

    root = mx.parse(xml)
    for item in root.iter():
        item.text = (item.text or "").strip() or None
        item.tail = None
    return ET.tostring(root, encoding="unicode")
