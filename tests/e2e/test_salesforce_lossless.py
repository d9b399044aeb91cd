"""A one-label change by crmctl leaves every other element of every component as it was.

Each shared Salesforce DX project is deployed through the emulator's raw
Metadata API (SOAP and a zip, as the Salesforce CLI would; not crmctl's
provider). crmctl then changes one field's label through the Salesforce
provider (read, plan, apply), and a raw retrieve must differ from the one
before only in that label.
"""

from __future__ import annotations

import base64
import copy
import io
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from crmctl.model import Resource
from crmctl.plan import PlanInputs, make_plan
from crmctl.providers.salesforce import SalesforceProvider
from tests.conftest import SHARED_SFDX, require_shared
from tests.salesforce_org import SalesforceOrg, salesforce_org
from tests.sfdx_source import canonical, jwt_auth, mdapi_files, package_xml, split

SFDX = SHARED_SFDX
PROJECTS = ["navikt-crm-arbeidsgiver-base", "dreamhouse-lwc"]
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
MET = "http://soap.sforce.com/2006/04/metadata"


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SalesforceOrg]:
    for item in salesforce_org(tmp_path):
        for name, value in item.env_variables().items():
            monkeypatch.setenv(name, value)
        yield item


def _call(org: SalesforceOrg, token: str, body: str) -> ET.Element:
    envelope = (
        f'<soapenv:Envelope xmlns:soapenv="{SOAP}" xmlns:met="{MET}"><soapenv:Header>'
        f"<met:SessionHeader><met:sessionId>{token}</met:sessionId></met:SessionHeader>"
        f"</soapenv:Header><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    )
    response = requests.post(f"{org.url}/services/Soap/m/61.0", data=envelope.encode(),
                             headers={"Content-Type": "text/xml", "SOAPAction": '""'}, timeout=120)  # fmt: skip
    assert response.status_code == 200, response.text[:500]
    root = ET.fromstring(response.content)
    for element in root.iter():
        element.tag = element.tag.rpartition("}")[2]
    return (
        root.find("Body")[0].find("result")
        if root.find("Body")[0].find("result") is not None
        else root
    )


def _poll(org: SalesforceOrg, token: str, body: str) -> ET.Element:
    while True:
        result = _call(org, token, body)
        if result.findtext("done") == "true":
            return result


def deploy(org: SalesforceOrg, files: dict[str, bytes]) -> ET.Element:
    """A raw Metadata API deploy (rollbackOnError false: what a real org takes is saved)."""
    token = org.token()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    encoded = base64.b64encode(buffer.getvalue()).decode()
    job = _call(org, token, f"<met:deploy><met:ZipFile>{encoded}</met:ZipFile><met:DeployOptions>"
                            "<met:rollbackOnError>false</met:rollbackOnError><met:singlePackage>true"
                            "</met:singlePackage></met:DeployOptions></met:deploy>").findtext("id")  # fmt: skip
    return _poll(org, token, f"<met:checkDeployStatus><met:asyncProcessId>{job}</met:asyncProcessId>"
                             "<met:includeDetails>true</met:includeDetails></met:checkDeployStatus>")  # fmt: skip


def retrieve(
    org: SalesforceOrg, members: dict[str, list[str]]
) -> dict[tuple[str, str], ET.Element]:
    """A raw retrieve (not singlePackage: the zip is rooted at unpackaged/), split in components."""
    token = org.token()
    manifest = ET.fromstring(package_xml(members))
    types = "".join(ET.tostring(t, encoding="unicode") for t in manifest.findall(f"{{{MET}}}types"))
    job = _call(org, token, "<met:retrieve><met:retrieveRequest><met:apiVersion>61.0</met:apiVersion>"
                            f"<met:unpackaged>{types}</met:unpackaged></met:retrieveRequest></met:retrieve>"
                ).findtext("id")  # fmt: skip
    result = _poll(org, token, f"<met:checkRetrieveStatus><met:asyncProcessId>{job}</met:asyncProcessId>"
                               "<met:includeZip>true</met:includeZip></met:checkRetrieveStatus>")  # fmt: skip
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(result.findtext("zipFile")))) as archive:
        names = archive.namelist()
        assert all(n.startswith("unpackaged/") for n in names), names[:3]
        return split({n: archive.read(n) for n in names if not n.endswith("package.xml")})


_DEPENDENCY_MISSING = ("names unknown object", "no CustomObject named", "is not a field of",
                       "unknown field")  # fmt: skip


def _refused(result: ET.Element) -> set[tuple[str, str]]:
    return {
        (f.findtext("componentType"), f.findtext("fullName"))
        for f in result.findall("details/componentFailures")
    }


def _provider(org: SalesforceOrg, tmp_path: Path) -> SalesforceProvider:
    auth = jwt_auth(org)
    config = {"type": "salesforce", "instanceUrl": org.url, "loginUrl": org.url, "auth": auth}
    return SalesforceProvider.from_config(config, tmp_path)


def _relabel_one_field(provider: SalesforceProvider, pick) -> Resource:
    live = {r.address: r for r in provider.read(provider.supported_kinds())}
    target = pick([r for r in live.values() if r.kind == "CustomField"])
    desired = dict(live)
    desired[target.address] = Resource(
        target.kind, target.name, {**target.spec, "label": "Relabelled"}
    )
    plan = make_plan(PlanInputs("sf", desired, live, managed=set(live),
                                supported_kinds=provider.supported_kinds()))  # fmt: skip
    assert [(c.address, c.action.value) for c in plan.changes] == [(target.address, "~")]
    result = provider.apply(plan.changes)
    assert result.ok, result.failed
    return target


def _richest(source: dict[tuple[str, str], ET.Element]):
    """The managed field with the most of what crmctl does not model (a lookup filter,
    tracking, a relationship label …): those must survive the change."""

    def unmodelled(field: Resource) -> tuple[int, str]:
        element = source[("CustomField", field.name)]
        extra = {"lookupFilter", "trackHistory", "trackFeedHistory", "relationshipLabel",
                 "deleteConstraint", "securityClassification", "businessStatus"}  # fmt: skip
        return (-sum(1 for item in element if item.tag in extra), field.name)

    return lambda fields: sorted(fields, key=unmodelled)[0]


@pytest.mark.parametrize("project", PROJECTS)
def test_a_label_change_by_crmctl_changes_only_that_label(
    project: str, org: SalesforceOrg, tmp_path: Path
) -> None:
    files = mdapi_files(require_shared(SFDX / project))
    source = split(files)
    result = deploy(org, files)
    refused = _refused(result)
    assert result.findtext("status") in ("Succeeded", "SucceededPartial")
    # What it refuses, a real org refuses too: a dependency from another package. It takes
    # every type of the projects, profiles too.
    fields = {name for kind, name in source if kind == "CustomField"}
    for failure in result.findall("details/componentFailures"):
        problem = failure.findtext("problem")
        assert any(reason in problem for reason in _DEPENDENCY_MISSING), problem
        obj = failure.findtext("fullName").partition(".")[0]
        owners = (obj, "Activity") if obj in ("Task", "Event") else (obj,)
        for name in re.findall(r"unknown field (\w+)", problem):  # not one of the project's
            assert not {f"{owner}.{name}" for owner in owners} & fields, problem
    members = ET.fromstring(files["package.xml"])
    wanted = {t.findtext(f"{{{MET}}}name"): [m.text for m in t.findall(f"{{{MET}}}members")]
              for t in members.findall(f"{{{MET}}}types")}  # fmt: skip
    before = retrieve(org, wanted)
    # What the org took back equals the source, element for element.
    taken = {key: el for key, el in source.items() if key not in refused}
    assert ("Profile", "Admin") in taken if project.startswith("navikt") else True
    assert {k: canonical(v) for k, v in before.items()} == {
        k: canonical(v) for k, v in taken.items()
    }

    provider = _provider(org, tmp_path)
    try:
        target = _relabel_one_field(provider, _richest(source))
    finally:
        provider.close()

    assert before[("CustomField", target.name)].find("trackHistory") is not None
    after = retrieve(org, wanted)
    key = ("CustomField", target.name)
    expected = {k: canonical(v) for k, v in before.items()}
    changed = copy.deepcopy(before[key])
    changed.find("label").text = "Relabelled"
    expected[key] = canonical(changed)
    assert {k: canonical(v) for k, v in after.items()} == expected


ALL = {t: ["*"] for t in ("CustomObject", "CustomField", "ValidationRule", "Role",
                          "PermissionSet", "DuplicateRule", "MatchingRule")}  # fmt: skip


def _files_of(components: dict[tuple[str, str], ET.Element]) -> dict[str, bytes]:
    """Deploy files for components of objects and roles (as an admin's change set would)."""
    files: dict[str, bytes] = {}
    objects: dict[str, ET.Element] = {}
    members: dict[str, list[str]] = {}
    for (type_name, name), element in components.items():
        members.setdefault(type_name, []).append(name)
        if type_name == "CustomField":
            objects.setdefault(name.partition(".")[0], ET.Element("CustomObject")).append(element)
        else:
            element.set("xmlns", MET)
            files[f"roles/{name}.role"] = ET.tostring(element)
    for obj, root in objects.items():
        root.set("xmlns", MET)
        files[f"objects/{obj}.object"] = ET.tostring(root)
    files["package.xml"] = package_xml(members)
    return files


def test_the_example_org_keeps_what_an_admin_added_when_crmctl_changes_a_label(
    project: Path, org: SalesforceOrg, crmctl
) -> None:
    org.write_env(project, "sf", manifests="manifests")
    r = crmctl("apply", "-e", "sf", "--auto-approve")
    assert r.exit_code == 0, r.output
    # In Setup, an admin turns on history tracking for a field and cuts a role's case access.
    created = retrieve(org, ALL)
    amount = copy.deepcopy(created[("CustomField", "Invoice__c.Amount__c")])
    ET.SubElement(amount, "trackHistory").text = "true"
    role_key = next(k for k in sorted(created) if k[0] == "Role")
    role = copy.deepcopy(created[role_key])
    ET.SubElement(role, "caseAccessLevel").text = "None"
    result = deploy(
        org, _files_of({("CustomField", "Invoice__c.Amount__c"): amount, role_key: role})
    )
    assert result.findtext("status") == "Succeeded", _refused(result)
    before = retrieve(org, ALL)
    assert before[role_key].findtext("caseAccessLevel") == "None"

    invoice = project / "manifests" / "objects" / "invoice.yaml"
    text = invoice.read_text()
    assert text.count("label: Amount\n") == 1
    invoice.write_text(text.replace("label: Amount\n", "label: Invoice amount\n"))
    r = crmctl("apply", "-e", "sf", "--auto-approve")
    assert r.exit_code == 0, r.output
    assert "Apply complete: 0 added, 1 changed, 0 destroyed." in r.out

    after = retrieve(org, ALL)
    expected = {k: canonical(v) for k, v in before.items()}
    changed = copy.deepcopy(before[("CustomField", "Invoice__c.Amount__c")])
    changed.find("label").text = "Invoice amount"
    expected[("CustomField", "Invoice__c.Amount__c")] = canonical(changed)
    assert {k: canonical(v) for k, v in after.items()} == expected
    assert after[("CustomField", "Invoice__c.Amount__c")].findtext("trackHistory") == "true"


def test_a_change_crmctl_cannot_make_without_loss_is_refused_on_its_change(
    project: Path, org: SalesforceOrg, crmctl
) -> None:
    value_set = (f'<GlobalValueSet xmlns="{MET}"><customValue><fullName>North</fullName>'
                 "<default>false</default><label>North</label></customValue>"
                 "<masterLabel>Regions</masterLabel></GlobalValueSet>")  # fmt: skip
    field = (f'<CustomObject xmlns="{MET}"><fields><fullName>Region__c</fullName>'
             "<label>Region</label><type>Picklist</type><valueSet><restricted>true</restricted>"
             "<valueSetName>Regions</valueSetName></valueSet></fields></CustomObject>")  # fmt: skip
    files = {"globalValueSets/Regions.globalValueSet": value_set.encode(),
             "objects/Account.object": field.encode(),
             "package.xml": package_xml({"GlobalValueSet": ["Regions"],
                                         "CustomField": ["Account.Region__c"]})}  # fmt: skip
    assert deploy(org, files).findtext("status") == "Succeeded"
    (project / "sf").mkdir()
    (project / "sf" / "region.yaml").write_text(
        "apiVersion: crmctl/v1\nkind: CustomField\nmetadata: {name: Account.Region__c}\n"
        "spec: {type: Picklist, label: Region, values: [North, South]}\n"
    )
    org.write_env(project, "sf", manifests="sf")
    before = retrieve(org, {"CustomField": ["Account.Region__c"]})
    r = crmctl("plan", "-e", "sf", "--validate")
    assert r.exit_code == 1, r.output
    assert (
        "  CustomField/Account.Region__c: its values come from the global value set Regions: "
        "change them there (Salesforce would turn the field into one with its own values)"
    ) in r.out
    r = crmctl("apply", "-e", "sf", "--auto-approve")
    assert r.exit_code == 1, r.output
    assert "FAILED: its values come from the global value set Regions" in r.out
    after = retrieve(org, {"CustomField": ["Account.Region__c"]})
    assert {k: canonical(v) for k, v in after.items()} == {
        k: canonical(v) for k, v in before.items()
    }
