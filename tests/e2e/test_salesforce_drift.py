"""crmctl drift on Salesforce names who changed the org by hand: the Setup Audit Trail.

Another admin changes a field through the org's Metadata API and a user over
REST; `crmctl drift` reads SetupAuditTrail by SOQL and names that admin.
"""

from __future__ import annotations

import base64
import io
import re
import time
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from crmctl.sandbox.salesforce.ids import sf_id
from tests.e2e.helpers import manifest
from tests.salesforce_org import ADMIN, SalesforceOrg, salesforce_org

OPS = "ops@example.com"
MD = "http://soap.sforce.com/2006/04/metadata"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
V = "/services/data/v61.0"

MANIFESTS = [
    manifest("CustomObject", "Invoice__c", label="Invoice", sharingModel="Private"),
    manifest("CustomField", "Invoice__c.Amount__c", type="Currency", label="Amount",
             precision=16, scale=2),
    manifest("CustomField", "Account.Region__c", type="Picklist", label="Region",
             values=["EMEA", "AMER"]),
    manifest("Role", "CEO", label="Chief Executive"),
    manifest("PermissionSet", "Setup_Admin", label="Setup admin",
             system=["ModifyAllData", "CustomizeApplication", "ViewSetup"]),
    manifest("User", OPS, email=OPS, lastName="Ops", permissionSets=["Setup_Admin"]),
    manifest("User", "rep@example.com", email="rep@example.com", firstName="Rita",
             lastName="Rep", role="CEO"),
]  # fmt: skip

REGION_BY_HAND = f"""<?xml version="1.0" encoding="UTF-8"?>
<CustomObject xmlns="{MD}">
    <fields>
        <fullName>Region__c</fullName>
        <label>Sales Region</label>
        <type>Picklist</type>
        <valueSet>
            <restricted>true</restricted>
            <valueSetDefinition>
                <sorted>false</sorted>
                <value><fullName>EMEA</fullName><default>false</default><label>EMEA</label></value>
                <value><fullName>AMER</fullName><default>false</default><label>AMER</label></value>
            </valueSetDefinition>
        </valueSet>
    </fields>
</CustomObject>
"""
PACKAGE = f"""<?xml version="1.0" encoding="UTF-8"?>
<Package xmlns="{MD}">
    <types><members>Account.Region__c</members><name>CustomField</name></types>
    <version>61.0</version>
</Package>
"""


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SalesforceOrg]:
    for item in salesforce_org(tmp_path):
        for name, value in item.env_variables().items():
            monkeypatch.setenv(name, value)
        yield item


def _soap(org: SalesforceOrg, token: str, body: str) -> ET.Element:
    envelope = (
        f'<soapenv:Envelope xmlns:soapenv="{SOAP}" xmlns:met="{MD}"><soapenv:Header>'
        f"<met:SessionHeader><met:sessionId>{token}</met:sessionId></met:SessionHeader>"
        f"</soapenv:Header><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    )
    response = requests.post(
        f"{org.url}/services/Soap/m/61.0",
        data=envelope.encode(),
        headers={"Content-Type": "text/xml", "SOAPAction": '""'},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    root = ET.fromstring(response.content)
    for element in root.iter():
        element.tag = element.tag.rpartition("}")[2]
    return root


def _deploy_by_hand(org: SalesforceOrg, token: str) -> None:
    """A Metadata API deploy as an admin would send it from another tool."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("package.xml", PACKAGE)
        archive.writestr("objects/Account.object", REGION_BY_HAND)
    zipped = base64.b64encode(buffer.getvalue()).decode()
    root = _soap(org, token, f"<met:deploy><met:ZipFile>{zipped}</met:ZipFile><met:DeployOptions>"
                             "<met:rollbackOnError>true</met:rollbackOnError></met:DeployOptions>"
                             "</met:deploy>")  # fmt: skip
    job = root.findtext("Body/deployResponse/result/id")
    deadline = time.monotonic() + 60
    while True:
        status = _soap(org, token, f"<met:checkDeployStatus><met:asyncProcessId>{job}"
                                   "</met:asyncProcessId></met:checkDeployStatus>")  # fmt: skip
        result = status.find("Body/checkDeployStatusResponse/result")
        assert result is not None
        if result.findtext("done") == "true":
            assert result.findtext("status") == "Succeeded", ET.tostring(result)
            return
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_drift_names_the_admin_who_changed_the_org_by_hand(
    project: Path, org: SalesforceOrg, crmctl
) -> None:
    (project / "sf").mkdir()
    (project / "sf" / "org.yaml").write_text(yaml.safe_dump_all(MANIFESTS, sort_keys=False))
    org.write_env(project, "sf", manifests="sf")
    r = crmctl("apply", "-e", "sf", "--auto-approve")
    assert r.exit_code == 0, r.output
    r = crmctl("drift", "-e", "sf")
    assert r.exit_code == 0, r.output

    ops = org.token(OPS)
    _deploy_by_hand(org, ops)
    patched = requests.patch(
        f"{org.url}{V}/sobjects/User/{sf_id('User', 'rep@example.com')}",
        json={"FirstName": "Rita-Marie"},
        headers={"Authorization": f"Bearer {ops}"},
        timeout=30,
    )
    assert patched.status_code == 204, patched.text

    # The org's own record of it, as any Salesforce client reads it
    trail = requests.get(
        f"{org.url}{V}/query",
        params={"q": "SELECT Action, Section, Display, CreatedBy.Username, CreatedDate "
                     "FROM SetupAuditTrail WHERE CreatedBy.Username = 'ops@example.com' "
                     "ORDER BY CreatedDate"},
        headers={"Authorization": f"Bearer {org.token()}"},
        timeout=30,
    ).json()["records"]  # fmt: skip
    assert [(t["Action"], t["Section"], t["Display"]) for t in trail] == [
        ("changedCF", "Customize Accounts", "Changed custom field Sales Region (Account.Region__c)"),
        ("changedUser", "Manage Users", "Changed user rep@example.com (rep@example.com)"),
    ]  # fmt: skip
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", t["CreatedDate"])
               for t in trail)  # fmt: skip

    r = crmctl("drift", "-e", "sf")
    assert r.exit_code == 2, r.output
    heads = [line for line in r.out.splitlines() if line.startswith("  ~ ")]
    assert [h.split(" at ")[0] for h in heads] == [
        f"  ~ CustomField/Account.Region__c  modified out of band by {OPS}",
        f"  ~ User/rep@example.com  modified out of band by {OPS}",
    ]
    assert '      ~ label: "Region" -> "Sales Region"' in r.out.splitlines()


def test_setup_audit_trail_needs_view_setup(org: SalesforceOrg) -> None:
    org.store.put_config("User", "rep@example.com", {"email": "rep@example.com",
                                                     "lastName": "Rep"}, ADMIN)  # fmt: skip
    response = requests.get(
        f"{org.url}{V}/query",
        params={"q": "SELECT Id FROM SetupAuditTrail"},
        headers={"Authorization": f"Bearer {org.token('rep@example.com')}"},
        timeout=30,
    )
    assert response.status_code == 403
    assert response.json()[0]["errorCode"] == "INSUFFICIENT_ACCESS"
    admin = requests.get(
        f"{org.url}{V}/query",
        params={"q": "SELECT Action, Display, CreatedBy.Username FROM SetupAuditTrail "
                     "WHERE CreatedDate >= 2000-01-01T00:00:00Z"},
        headers={"Authorization": f"Bearer {org.token()}"},
        timeout=30,
    ).json()["records"]  # fmt: skip
    assert [(r["Action"], r["Display"], r["CreatedBy"]["Username"]) for r in admin] == [
        ("createduser", "Created user rep@example.com (rep@example.com)", ADMIN)
    ]
    later = requests.get(
        f"{org.url}{V}/query",
        params={"q": "SELECT Id FROM SetupAuditTrail WHERE CreatedDate > 2999-01-01T00:00:00Z"},
        headers={"Authorization": f"Bearer {org.token()}"},
        timeout=30,
    ).json()
    assert later["totalSize"] == 0
