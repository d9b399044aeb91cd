"""jsforce (pinned in tests/clients/package.json) drives the emulator's Metadata API.

Each case is a small Node script in tests/clients/jsforce/ that prints its
answer as JSON: metadata.list, read, retrieve, and deploy with checkOnly and
rollbackOnError.
"""

from __future__ import annotations

import base64
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clients.conftest import node, require_node_clients
from tests.salesforce_org import SalesforceOrg, salesforce_org

NS = "http://soap.sforce.com/2006/04/metadata"
REGION = (
    f'<CustomObject xmlns="{NS}"><fields><fullName>Region__c</fullName><label>Region</label>'
    "<length>40</length><type>Text</type><trackHistory>true</trackHistory></fields></CustomObject>"
)


def _package(members: dict[str, list[str]]) -> str:
    types = "".join(
        "<types>" + "".join(f"<members>{m}</members>" for m in names) + f"<name>{t}</name></types>"
        for t, names in members.items()
    )
    return f'<Package xmlns="{NS}">{types}<version>61.0</version></Package>'


def _zip(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return path


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SalesforceOrg]:
    require_node_clients()
    for item in salesforce_org(tmp_path_factory.mktemp("jsforce")):
        item.store.batch(
            [
                {"op": "put", "kind": "CustomObject", "name": "Ticket__c",
                 "spec": {"label": "Ticket", "pluralLabel": "Tickets"}},
                {"op": "put", "kind": "CustomField", "name": "Ticket__c.Note__c",
                 "spec": {"type": "Text", "label": "Note", "length": 80}},
                {"op": "put", "kind": "Role", "name": "CEO", "spec": {"label": "Chief Executive"}},
            ],
            "tests",
        )  # fmt: skip
        yield item


@pytest.fixture
def js(org: SalesforceOrg):
    env = {"SF_INSTANCE_URL": org.url, "SF_ACCESS_TOKEN": org.token()}

    def run(script: str, *args: str):
        return node(script, *args, env=env)

    return run


def test_metadata_list(js) -> None:
    listed = js("list.mjs", "CustomField", "Role")
    assert sorted((r["type"], r["fullName"], r["fileName"]) for r in listed) == [
        ("CustomField", "Ticket__c.Note__c", "objects/Ticket__c.object"),
        ("Role", "CEO", "roles/CEO.role"),
    ]
    assert {r["manageableState"] for r in listed} == {"unmanaged"}


def test_metadata_read_gives_an_object_with_its_fields(js) -> None:
    [ticket] = js("read.mjs", "CustomObject", "Ticket__c")
    assert ticket["fullName"] == "Ticket__c"
    assert ticket["label"] == "Ticket"
    fields = ticket["fields"] if isinstance(ticket["fields"], list) else [ticket["fields"]]
    assert [(f["fullName"], f["type"], f["label"]) for f in fields] == [("Note__c", "Text", "Note")]
    ceo, missing = js("read.mjs", "Role", "CEO", "Nobody")
    assert (ceo["fullName"], ceo["name"]) == ("CEO", "Chief Executive")
    assert "fullName" not in missing


def test_metadata_deploy_check_only_then_rollback_on_error(
    js, org: SalesforceOrg, tmp_path: Path
) -> None:
    require_node_clients()
    good = _zip(tmp_path / "good.zip", {
        "package.xml": _package({"CustomField": ["Account.Region__c"]}),
        "objects/Account.object": REGION,
    })  # fmt: skip
    before = org.store.list_all_config()
    checked = js("deploy.mjs", str(good), json.dumps({"checkOnly": True}))
    assert (checked["status"], checked["success"], checked["checkOnly"]) == (
        "Succeeded", True, True,
    )  # fmt: skip
    assert org.store.list_all_config() == before  # checkOnly saves nothing

    bad = _zip(tmp_path / "bad.zip", {
        "package.xml": _package({"CustomField": ["Account.Region__c"], "ApexClass": ["Hello"],
                                 "Role": ["VP"]}),
        "objects/Account.object": REGION,
        "classes/Hello.cls": "public class Hello {}",
        "roles/VP.role": f'<Role xmlns="{NS}"><name>VP</name><parentRole>Missing</parentRole></Role>',
    })  # fmt: skip
    refused = js("deploy.mjs", str(bad), json.dumps({"rollbackOnError": True}))
    assert (refused["status"], refused["success"]) == ("Failed", False)
    failures = refused["details"]["componentFailures"]
    assert sorted((f["componentType"], f["fullName"], f["problem"]) for f in failures) == [
        ("ApexClass", "Hello",
         "Not available for deploy for this organization: the ApexClass metadata type"),
        ("Role", "VP", "Role/VP: parent role 'Missing' is not declared"),
    ]  # fmt: skip
    assert org.store.list_all_config() == before  # rolled back as a whole

    partial = js("deploy.mjs", str(bad), json.dumps({"rollbackOnError": False}))
    assert (partial["status"], partial["numberComponentsDeployed"]) == ("SucceededPartial", 1)
    assert org.store.get_config("CustomField", "Account.Region__c")["spec"]["label"] == "Region"


def test_metadata_retrieve_is_rooted_at_unpackaged_with_objects_whole(
    js, org: SalesforceOrg
) -> None:
    org.store.put_config(
        "CustomField", "Account.Tier__c", {"type": "Text", "label": "Tier", "length": 10}, "tests"
    )
    result = js("retrieve.mjs", json.dumps({"CustomObject": ["Ticket__c", "Account"]}))
    assert result["success"] is True
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(result["zipFile"]))) as archive:
        names = sorted(archive.namelist())
        ticket = archive.read("unpackaged/objects/Ticket__c.object").decode()
        account = archive.read("unpackaged/objects/Account.object").decode()
    assert names[-1] == "unpackaged/package.xml"
    assert all(n.startswith("unpackaged/objects/") for n in names[:-1]), names
    # An object comes with its fields; a standard object with what the org holds of it.
    assert "<label>Ticket</label>" in ticket and "<fullName>Note__c</fullName>" in ticket
    assert "<fullName>Tier__c</fullName>" in account
