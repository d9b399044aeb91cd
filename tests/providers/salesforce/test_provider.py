"""The Salesforce provider against the sandbox's Salesforce API: login, refresh, reads, writes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from crmctl.errors import AuthError
from crmctl.model import Resource
from crmctl.plan import PlanInputs, make_plan
from crmctl.providers.salesforce import SalesforceProvider, package, rest
from crmctl.providers.salesforce.auth import Credentials, audience, jwt_assertion
from crmctl.sandbox.salesforce import state
from tests.salesforce_org import ADMIN, CLIENT_ID, SalesforceOrg, key_pair, salesforce_org


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SalesforceOrg]:
    for item in salesforce_org(tmp_path):
        for name, value in item.env_variables().items():
            monkeypatch.setenv(name, value)
        yield item


def _config(org: SalesforceOrg, method: str = "jwt") -> dict:
    auth = {"method": method, "clientIdEnv": "CRMCTL_SF_CLIENT_ID"}
    if method == "jwt":
        auth.update(username=ADMIN, keyFileEnv="CRMCTL_SF_JWT_KEY")
    else:
        auth["clientSecretEnv"] = "CRMCTL_SF_CLIENT_SECRET"
    return {"type": "salesforce", "instanceUrl": org.url, "loginUrl": org.url, "auth": auth}


@pytest.fixture
def provider(org: SalesforceOrg, tmp_path: Path) -> Iterator[SalesforceProvider]:
    made = SalesforceProvider.from_config(_config(org), tmp_path)
    yield made
    made.close()


def _apply(provider: SalesforceProvider, *resources: Resource) -> None:
    live = {r.address: r for r in provider.read(provider.supported_kinds())}
    desired = {r.address: r for r in resources}
    plan = make_plan(
        PlanInputs(
            "t",
            desired,
            live,
            # the logged-in admin is one of the org's users that crmctl never managed
            managed=set(live) - {f"User/{ADMIN}"},
            supported_kinds=provider.supported_kinds(),
        )
    )
    result = provider.apply(plan.changes)
    assert result.ok, result.failed


def test_the_jwt_assertion_carries_iss_sub_aud_exp() -> None:
    credentials = Credentials("jwt", "https://login.example", CLIENT_ID, ADMIN, key_pair()[0])
    claims = jwt.decode(jwt_assertion(credentials, now=1000.0), key_pair()[1], algorithms=["RS256"],
                        audience="https://login.example", options={"verify_exp": False})  # fmt: skip
    assert claims == {"iss": CLIENT_ID, "sub": ADMIN, "aud": "https://login.example", "exp": 1180}


@pytest.mark.parametrize(
    ("login_url", "aud"),
    [
        ("https://login.salesforce.com", "https://login.salesforce.com"),
        ("https://northwind.my.salesforce.com", "https://login.salesforce.com"),
        ("https://test.salesforce.com", "https://test.salesforce.com"),
        ("https://northwind--uat.sandbox.my.salesforce.com", "https://test.salesforce.com"),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
    ],
)
def test_the_audience_follows_the_login_url(login_url: str, aud: str) -> None:
    assert audience(login_url) == aud


def test_a_missing_variable_is_named(org: SalesforceOrg, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRMCTL_SF_JWT_KEY")
    with pytest.raises(AuthError, match="environment variable CRMCTL_SF_JWT_KEY is not set"):
        Credentials.from_config(_config(org))


def test_a_key_that_is_not_a_key_is_refused_without_quoting_it(tmp_path: Path) -> None:
    credentials = Credentials(
        "jwt", "https://x", CLIENT_ID, ADMIN, "-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n"
    )
    with pytest.raises(AuthError) as caught:
        jwt_assertion(credentials)
    assert "c2VjcmV0" not in str(caught.value)
    assert caught.value.message == "the JWT private key is not a usable RSA private key (PEM)"


def test_an_expired_token_is_refreshed_once(
    provider: SalesforceProvider, org: SalesforceOrg
) -> None:
    _apply(provider, Resource("Role", "CEO", {"label": "CEO"}))
    assert provider.connection.logins == 1
    assert state.expire_sessions(org.store) >= 1
    assert [r.name for r in provider.read(["Role"])] == ["CEO"]
    assert provider.connection.logins == 2


def test_client_credentials_log_in_as_the_run_as_user(org: SalesforceOrg, tmp_path: Path) -> None:
    provider = SalesforceProvider.from_config(_config(org, "client_credentials"), tmp_path)
    try:
        assert provider.read(["Role"]) == []
        assert provider.connection.logins == 1
    finally:
        provider.close()


def _soap_calls(provider: SalesforceProvider) -> dict[str, int]:
    return {k: v for k, v in provider.connection.calls.items() if k.startswith("soap:")}


def test_reads_take_a_constant_number_of_metadata_calls(
    provider: SalesforceProvider, org: SalesforceOrg
) -> None:
    provider.read(provider.supported_kinds())
    small = _soap_calls(provider)
    provider.connection.calls.clear()
    operations = [{"op": "put", "kind": "CustomObject", "name": "Big__c", "spec": {"label": "Big"}}]
    operations += [
        {
            "op": "put",
            "kind": "CustomField",
            "name": f"Big__c.F{i}__c",
            "spec": {"type": "Text", "label": f"F{i}"},
        }
        for i in range(300)
    ]
    org.store.batch(operations, "tests")
    live = provider.read(provider.supported_kinds())
    assert len(live) == 302  # the object, its 300 fields and the logged-in admin (a User)
    assert _soap_calls(provider) == small == {
        "soap:listMetadata": 3, "soap:retrieve": 1, "soap:checkRetrieveStatus": 2}  # fmt: skip


def test_users_go_in_collections_of_200_and_queries_page(
    provider: SalesforceProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rest, "_BATCH_SIZE", 200)
    calls: list[tuple[str, str]] = []
    original = provider.connection.rest

    def spy(method: str, path: str, **kwargs):
        calls.append((method, path.split("?")[0]))
        return original(method, path, **kwargs)

    monkeypatch.setattr(provider.connection, "rest", spy)
    users = [
        Resource(
            "User",
            f"u{i}@example.com",
            {"email": f"u{i}@example.com", "lastName": f"U{i}", "permissionSets": ["Reader"]},
        )  # fmt: skip
        for i in range(250)
    ]
    _apply(provider, Resource("PermissionSet", "Reader", {"label": "Reader"}), *users)
    writes = [c for c in calls if c[1].endswith("composite/sobjects")]
    assert writes == [("POST", "composite/sobjects")] * 4  # 250 users, 250 assignments
    calls.clear()
    live = [r for r in provider.read(["User"]) if r.kind == "User" and r.name != ADMIN]
    assert len(live) == 250 and all(r.spec["permissionSets"] == ["Reader"] for r in live)
    follow_ups = [c for c in calls if c[1].startswith("/services/data/v61.0/query/")]
    assert len(follow_ups) == 2  # 250 users and 250 assignments, 200 a page


def test_what_crmctl_cannot_manage_becomes_a_warning(
    provider: SalesforceProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    formula = Resource("CustomField", "Account.Score__c", {"type": "Number", "label": "S"})
    data = package.deploy_zip([formula])
    zipped = package.read_zip(data)
    zipped.components[0].converted.spec = None
    zipped.components[0].converted.notes.append("a formula field (Number) has no crmctl equivalent")
    monkeypatch.setattr(
        provider.metadata, "list_metadata", lambda types: {"CustomField": ["Account.Score__c"]}
    )
    monkeypatch.setattr(provider.metadata, "retrieve", lambda members: data)
    monkeypatch.setattr(package, "read_zip", lambda _data, *a: zipped)
    assert provider.read(["CustomField"]) == []
    messages = [w.message for w in provider.warnings]
    assert messages == [
        "1 Salesforce component(s): a formula field (Number) has no crmctl equivalent (CustomField/Account.Score__c)",
        "1 Salesforce component(s): left alone (cannot be managed by crmctl) (CustomField/Account.Score__c)",
    ]


def test_usage_above_80_percent_is_one_warning(provider: SalesforceProvider) -> None:
    for used in (700, 810, 900):
        provider.connection._note_usage(f"api-usage={used}/1000; per-app-api-usage=1/10(appName=x)")
    assert provider.connection.usage == (900, 1000)
    assert provider.connection.warnings == [
        "the org has used 810 of its 1000 daily API calls (81 %); crmctl stops when the limit is reached"
    ]


@pytest.mark.parametrize(
    ("before", "after", "replace"),
    [
        ({"type": "Text"}, {"type": "LongTextArea"}, False),
        ({"type": "Text"}, {"type": "Lookup", "referenceTo": "Account"}, True),
        (
            {"type": "Lookup", "referenceTo": "Account"},
            {"type": "Lookup", "referenceTo": "Contact"},
            True,
        ),
        (
            {"type": "MasterDetail", "referenceTo": "Account"},
            {"type": "Lookup", "referenceTo": "Account"},
            False,
        ),
    ],
)
def test_requires_replace(provider: SalesforceProvider, before, after, replace: bool) -> None:
    assert (provider.requires_replace("CustomField", before, after) is not None) is replace


def test_a_slow_deploy_is_polled_until_done(
    provider: SalesforceProvider, org: SalesforceOrg
) -> None:
    state.configure(org.store, asyncPolls=3)
    _apply(provider, Resource("Role", "CEO", {"label": "CEO"}))
    assert provider.connection.calls["soap:checkDeployStatus"] == 4


def test_a_session_refused_right_after_logging_in_is_an_auth_error(
    provider: SalesforceProvider, org: SalesforceOrg
) -> None:
    state.configure(org.store, sessionSeconds=0)  # every token is born expired
    with pytest.raises(AuthError, match="the session was refused again right after logging in"):
        provider.read(["Role"])
    assert provider.connection.logins == 2  # one refresh, no loop
