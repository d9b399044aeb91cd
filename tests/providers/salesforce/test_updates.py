"""Updates through the provider: the org's XML from the plan's read, one deploy, no extra calls."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from crmctl.model import Resource
from crmctl.plan import PlanInputs, make_plan
from crmctl.providers.salesforce import SalesforceProvider
from tests.salesforce_org import ADMIN, salesforce_org
from tests.sfdx_source import jwt_auth

BASE = [
    Resource("CustomObject", "Ticket__c", {"label": "Ticket", "sharingModel": "Private"}),
    Resource("CustomField", "Ticket__c.Note__c", {"type": "Text", "label": "Note", "length": 80}),
    Resource("Role", "CEO", {"label": "CEO"}),
]


@pytest.fixture
def provider(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SalesforceProvider]:
    for org in salesforce_org(tmp_path):
        for name, value in org.env_variables().items():
            monkeypatch.setenv(name, value)
        auth = jwt_auth(org)
        made = SalesforceProvider.from_config(
            {"type": "salesforce", "instanceUrl": org.url, "loginUrl": org.url, "auth": auth},
            tmp_path,
        )
        _converge(made, BASE)
        yield made
        made.close()


def _plan(provider: SalesforceProvider, resources: list[Resource]):
    live = {r.address: r for r in provider.read(provider.supported_kinds())}
    desired = {r.address: r for r in resources}
    # the logged-in admin is one of the org's users that crmctl never managed
    managed = set(live) - {f"User/{ADMIN}"}
    return make_plan(PlanInputs("t", desired, live, managed=managed,
                                supported_kinds=provider.supported_kinds()))  # fmt: skip


def _converge(provider: SalesforceProvider, resources: list[Resource]) -> None:
    result = provider.apply(_plan(provider, resources).changes)
    assert result.ok, result.failed


def _files(zip_bytes: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


CHANGED = [
    Resource("CustomObject", "Ticket__c", {"label": "Case ticket", "sharingModel": "Private"}),
    Resource("CustomField", "Ticket__c.Note__c", {"type": "Text", "label": "Notes", "length": 80}),
    Resource("Role", "CEO", {"label": "Chief Executive"}),
]


def test_plan_validate_deploys_exactly_what_apply_deploys(
    provider: SalesforceProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployed: list[tuple[bool, bytes]] = []
    original = provider.metadata.deploy

    def record(zip_bytes: bytes, check_only: bool = False, **options):
        deployed.append((check_only, zip_bytes))
        return original(zip_bytes, check_only=check_only, **options)

    monkeypatch.setattr(provider.metadata, "deploy", record)
    changes = _plan(provider, CHANGED).changes
    assert [c.action.value for c in changes] == ["~", "~", "~"]
    assert provider.validate(changes) == []
    assert provider.apply(changes).ok
    assert [flag for flag, _ in deployed] == [True, False]
    assert _files(deployed[0][1]) == _files(deployed[1][1])


def test_updates_take_no_metadata_call_besides_the_deploy(provider: SalesforceProvider) -> None:
    changes = _plan(provider, CHANGED).changes
    provider.connection.calls.clear()
    assert provider.apply(changes).ok
    calls = {k: v for k, v in provider.connection.calls.items() if k.startswith("soap:")}
    assert set(calls) == {"soap:deploy", "soap:checkDeployStatus"}
    assert calls["soap:deploy"] == 1


def test_an_update_without_a_read_fetches_the_org_xml_in_one_retrieve(
    provider: SalesforceProvider, tmp_path: Path
) -> None:
    changes = _plan(provider, CHANGED).changes
    provider._xml.clear()  # as if this process had not read the org (a saved plan's apply)
    provider.connection.calls.clear()
    assert provider.apply(changes).ok
    assert provider.connection.calls["soap:retrieve"] == 1
    assert _plan(provider, CHANGED).changes == []


def test_a_global_value_set_picklist_change_fails_on_its_change_and_deploys_nothing(
    provider: SalesforceProvider,
) -> None:
    from crmctl.providers.salesforce.metadata_xml import NS
    from tests.sfdx_source import package_xml

    gvs = (f'<GlobalValueSet xmlns="{NS}"><customValue><fullName>A</fullName><default>false'
           "</default><label>A</label></customValue><masterLabel>Kinds</masterLabel></GlobalValueSet>")  # fmt: skip
    field = (f'<CustomObject xmlns="{NS}"><fields><fullName>Kind__c</fullName><label>Kind</label>'
             "<type>Picklist</type><valueSet><restricted>true</restricted><valueSetName>Kinds"
             "</valueSetName></valueSet></fields></CustomObject>")  # fmt: skip
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("globalValueSets/Kinds.globalValueSet", gvs)
        archive.writestr("objects/Ticket__c.object", field)
        archive.writestr("package.xml", package_xml(
            {"GlobalValueSet": ["Kinds"], "CustomField": ["Ticket__c.Kind__c"]}))  # fmt: skip
    assert provider.metadata.deploy(buffer.getvalue()).success
    kind = Resource("CustomField", "Ticket__c.Kind__c",
                    {"type": "Picklist", "label": "Kind", "values": ["A", "B"]})  # fmt: skip
    kinds = Resource("GlobalValueSet", "Kinds", {"label": "Kinds", "values": ["A"]})
    changes = _plan(provider, [*BASE, kinds, kind]).changes
    assert [c.address for c in changes] == ["CustomField/Ticket__c.Kind__c"]
    provider.connection.calls.clear()
    result = provider.apply(changes)
    assert [(f.address, f.message) for f in result.failed] == [
        ("CustomField/Ticket__c.Kind__c", "its values come from the global value set Kinds: "
         "change them there (Salesforce would turn the field into one with its own values); "
         "declare valueSetName: Kinds instead of values, and the values in GlobalValueSet/Kinds")
    ]  # fmt: skip
    assert "soap:deploy" not in provider.connection.calls
