"""simple-salesforce (pinned in pyproject's test extra) over https: REST and its Metadata API.

simple-salesforce speaks https only, and its Metadata API goes through zeep
with Salesforce's WSDL, so this is the emulator as such a client meets an org.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from crmctl.sandbox.salesforce.sobjects import sf_id
from tests.clients.tls import tls_salesforce_org
from tests.salesforce_org import ADMIN, CLIENT_ID, CLIENT_SECRET

simple_salesforce = pytest.importorskip("simple_salesforce")
NS = "http://soap.sforce.com/2006/04/metadata"


@pytest.fixture
def sf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    for org, ca_file in tls_salesforce_org(tmp_path):
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_file))  # zeep's own session too
        org.store.batch(
            [
                {"op": "put", "kind": "CustomObject", "name": "Ticket__c", "spec": {"label": "Ticket"}},
                {"op": "put", "kind": "CustomField", "name": "Ticket__c.Note__c",
                 "spec": {"type": "Text", "label": "Note", "length": 80}},
                {"op": "put", "kind": "Role", "name": "CEO", "spec": {"label": "Chief Executive"}},
            ],
            "tests",
        )  # fmt: skip
        # The client-credentials flow (its run-as user is the admin).
        token = requests.post(
            f"{org.url}/services/oauth2/token",
            data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
                  "client_secret": CLIENT_SECRET},
            timeout=30,
        ).json()["access_token"]  # fmt: skip
        client = simple_salesforce.Salesforce(
            instance_url=org.url, session_id=token, version="61.0"
        )
        client.org = org  # type: ignore[attr-defined]
        yield client


def test_rest_over_https(sf) -> None:
    assert sf.base_url.startswith("https://127.0.0.1:")
    roles = sf.query("SELECT Id, Name FROM UserRole")
    assert [(r["Id"], r["Name"]) for r in roles["records"]] == [
        (sf_id("UserRole", "CEO"), "Chief Executive")
    ]
    me = sf.User.get(sf_id("User", ADMIN))
    assert (me["Username"], me["IsActive"]) == (ADMIN, True)
    versions = sf.restful("", method="GET")
    assert versions["sobjects"] == "/services/data/v61.0/sobjects"


def test_metadata_api_list_and_read(sf) -> None:
    mdapi = sf.mdapi
    listed = mdapi.list_metadata([mdapi.ListMetadataQuery(type="CustomField")])
    assert [(f.type, f.fullName, f.fileName) for f in listed] == [
        ("CustomField", "Ticket__c.Note__c", "objects/Ticket__c.object")
    ]
    ticket = mdapi.CustomObject.read(["Ticket__c"])
    assert (ticket.fullName, ticket.label) == ("Ticket__c", "Ticket")
    assert [(f.fullName, f.type, f.length) for f in ticket.fields] == [("Note__c", "Text", 80)]
    role = mdapi.Role.read(["CEO"])
    assert (role.fullName, role.name) == ("CEO", "Chief Executive")


def test_metadata_api_deploy(sf, tmp_path: Path) -> None:
    archive = tmp_path / "deploy.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr(
            "package.xml",
            f'<Package xmlns="{NS}"><types><members>COO</members>'
            "<name>Role</name></types><version>61.0</version></Package>",
        )
        out.writestr("roles/COO.role", f'<Role xmlns="{NS}"><name>Operations</name>'
                                       "<parentRole>CEO</parentRole></Role>")  # fmt: skip
    started = sf.deploy(str(archive), sandbox=False)
    job = started["asyncId"]
    assert job.startswith("0Af") and started["state"] == "Queued"
    for _ in range(100):  # the emulator answers "not done" once (asyncPolls) per job
        status = sf.checkDeployStatus(job)
        if status["state"] not in ("Pending", "InProgress"):
            break
    assert status["state"] == "Succeeded"
    assert status["deployment_detail"]["errors"] == []
    assert status["deployment_detail"]["deployed_count"] == "1"
    assert sf.org.store.get_config("Role", "COO")["spec"] == {
        "label": "Operations",
        "parent": "CEO",
    }
