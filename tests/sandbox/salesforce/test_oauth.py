"""The sandbox's OAuth token endpoint: JWT bearer and client credentials, Salesforce's errors."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
import requests

from crmctl.sandbox.salesforce import state
from tests.salesforce_org import (
    ADMIN,
    CLIENT_ID,
    CLIENT_SECRET,
    SalesforceOrg,
    key_pair,
    salesforce_org,
)

GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@pytest.fixture
def org(tmp_path: Path) -> Iterator[SalesforceOrg]:
    yield from salesforce_org(tmp_path)


def _token(org: SalesforceOrg, **form) -> requests.Response:
    return requests.post(f"{org.url}/services/oauth2/token", data=form, timeout=30)


def _assertion(org: SalesforceOrg, key: str | None = None, **claims) -> str:
    body = {"iss": CLIENT_ID, "sub": ADMIN, "aud": org.url, "exp": int(time.time()) + 120, **claims}
    return jwt.encode(
        {k: v for k, v in body.items() if v is not None}, key or key_pair()[0], algorithm="RS256"
    )


def test_the_jwt_flow_answers_a_token_like_salesforce(org: SalesforceOrg) -> None:
    response = _token(org, grant_type=GRANT, assertion=_assertion(org))
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {
        "access_token",
        "scope",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
        "signature",
    }
    assert body["instance_url"] == org.url and body["token_type"] == "Bearer"
    assert body["id"].startswith(f"{org.url}/id/00D")
    query = requests.get(
        f"{org.url}/services/data/v61.0/query",
        params={"q": "SELECT Id FROM Profile"},
        headers={"Authorization": f"Bearer {body['access_token']}"},
        timeout=30,
    )
    assert query.status_code == 200 and query.json()["totalSize"] == 2


@pytest.mark.parametrize(
    ("claims", "error"),
    [
        ({"iss": "nobody"}, ("invalid_client_id", "client identifier invalid")),
        ({"exp": int(time.time()) - 60}, ("invalid_grant", "expired authorization code")),
        ({"aud": "https://elsewhere.example"}, ("invalid_grant", "audience is invalid")),
        ({"sub": "ghost@example.com"}, ("invalid_grant", "user hasn't approved this consumer")),
        ({"exp": None}, ("invalid_grant", "invalid assertion")),
    ],
)
def test_bad_assertions_are_refused(
    org: SalesforceOrg, claims: dict, error: tuple[str, str]
) -> None:
    response = _token(org, grant_type=GRANT, assertion=_assertion(org, **claims))
    assert response.status_code == 400
    assert response.json() == {"error": error[0], "error_description": error[1]}


def test_an_assertion_signed_by_another_key_is_refused(org: SalesforceOrg) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    response = _token(org, grant_type=GRANT, assertion=_assertion(org, key=other.decode()))
    assert response.json() == {"error": "invalid_grant", "error_description": "invalid assertion"}


def test_an_inactive_user_cannot_log_in(org: SalesforceOrg) -> None:
    org.store.put_config(
        "User",
        "gone@example.com",
        {"email": "gone@example.com", "lastName": "Gone", "active": False},
        "t",
    )
    response = _token(org, grant_type=GRANT, assertion=_assertion(org, sub="gone@example.com"))
    assert response.json() == {"error": "invalid_grant", "error_description": "inactive user"}


def test_client_credentials_in_the_form_or_basic_auth(org: SalesforceOrg) -> None:
    ok = _token(
        org, grant_type="client_credentials", client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )
    assert ok.status_code == 200, ok.text
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    response = requests.post(
        f"{org.url}/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    wrong = _token(org, grant_type="client_credentials", client_id=CLIENT_ID, client_secret="nope")
    assert wrong.json() == {
        "error": "invalid_client",
        "error_description": "invalid client credentials",
    }


def test_an_unknown_grant_type(org: SalesforceOrg) -> None:
    response = _token(org, grant_type="password", username="x", password="y")
    assert response.json() == {
        "error": "unsupported_grant_type",
        "error_description": "grant type not supported",
    }


def test_an_expired_session_is_invalid_session_id(org: SalesforceOrg) -> None:
    token = org.token()
    state.expire_sessions(org.store)
    response = requests.get(
        f"{org.url}/services/data/v61.0/query",
        params={"q": "SELECT Id FROM User"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 401
    assert response.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID", "fields": []}
    ]


def test_only_secret_hashes_are_stored(org: SalesforceOrg) -> None:
    token = org.token()
    with org.store.transaction() as conn:
        dump = "\n".join(str(row) for table in ("sf_connected_apps", "sf_sessions")
                         for row in conn.execute(f"SELECT * FROM {table}"))  # fmt: skip
    assert CLIENT_SECRET not in dump and token not in dump
