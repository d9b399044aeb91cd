"""A deploy whose answer is lost: its id is noted when queued, and resolving waits for its end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crmctl.errors import TransportError
from crmctl.model import Resource
from crmctl.plan import PlanInputs, make_plan
from crmctl.providers.base import ResolvesWrites
from crmctl.providers.salesforce import SalesforceProvider
from tests.salesforce_org import SalesforceOrg, salesforce_org
from tests.sfdx_source import jwt_auth

ROLES = [Resource("Role", "CEO", {"label": "CEO"}), Resource("Role", "VP", {"label": "VP"})]


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SalesforceOrg]:
    for made in salesforce_org(tmp_path):
        for name, value in made.env_variables().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("CRMCTL_HTTP_RETRIES", "0")
        yield made


def _provider(org: SalesforceOrg, tmp_path: Path) -> SalesforceProvider:
    return SalesforceProvider.from_config(
        {"type": "salesforce", "instanceUrl": org.url, "loginUrl": org.url, "auth": jwt_auth(org)},
        tmp_path,
    )


def _changes(provider: SalesforceProvider):
    live = {r.address: r for r in provider.read(provider.supported_kinds())}
    desired = {r.address: r for r in ROLES}
    plan = make_plan(
        PlanInputs("t", desired, live, managed=set(), supported_kinds=provider.supported_kinds())
    )
    return plan.changes


def test_the_deploy_id_is_noted_and_a_lost_status_is_settled(org: SalesforceOrg, tmp_path):
    provider = _provider(org, tmp_path)
    assert isinstance(provider, ResolvesWrites)
    changes = _changes(provider)
    noted: list[str] = []
    # Write 1 is the deploy (queued, its id answered); write 2, its first status check,
    # loses its answer: the client cannot tell how the deploy ended.
    org.server.faults.configure({"failNthWrite": {"n": 2, "when": "drop"}})
    with pytest.raises(TransportError, match="the connection dropped while the CRM was answering"):
        provider.apply_write(changes, "w1", noted.append)
    org.server.faults.clear()
    assert len(noted) == 1 and noted[0].startswith("0Af")
    # Resolving waits for the deploy to end; then the read is final.
    assert provider.resolve_write("w1", noted) is True
    live = {r.address for r in provider.read(["Role"])}
    assert {"Role/CEO", "Role/VP"} <= live
    provider.close()


def test_a_deploy_that_saved_nothing_resolves_as_not_landed(org: SalesforceOrg, tmp_path):
    provider = _provider(org, tmp_path)
    bad = [Resource("Role", "Orphan", {"label": "Orphan", "parent": "Nowhere"})]
    live = {r.address: r for r in provider.read(["Role"])}
    changes = make_plan(
        PlanInputs("t", {r.address: r for r in bad}, live, set(), supported_kinds=("Role",))
    ).changes
    noted: list[str] = []
    result = provider.apply_write(changes, "w2", noted.append)
    assert result.failed and len(noted) == 1
    assert provider.resolve_write("w2", noted) is False
    assert provider.resolve_write("w3", []) is False  # no deploy was ever queued
    provider.close()


def test_a_lost_status_answer_is_asked_again(org: SalesforceOrg, tmp_path, monkeypatch):
    monkeypatch.setenv("CRMCTL_HTTP_RETRIES", "2")
    provider = _provider(org, tmp_path)
    changes = _changes(provider)
    org.server.faults.configure({"failNthWrite": {"n": 2, "when": "drop"}})
    result = provider.apply_write(changes, "w4", None)
    assert result.ok and result.applied == ["Role/CEO", "Role/VP"]
    provider.close()
