"""Entra ID's client-credentials flow as the emulator serves it, and msal against it."""

from __future__ import annotations

import requests

from tests.dataverse_emulator.conftest import CLIENT_ID, TENANT, Env


def test_tenant_discovery_names_the_token_endpoint(dv: Env) -> None:
    response = requests.get(f"{dv.url}/{TENANT}/v2.0/.well-known/openid-configuration", timeout=30)
    assert response.status_code == 200
    config = response.json()
    assert config["token_endpoint"] == f"{dv.url}/{TENANT}/oauth2/v2.0/token"
    assert config["issuer"] == f"{dv.url}/{TENANT}/v2.0"
    assert config["authorization_endpoint"] == f"{dv.url}/{TENANT}/oauth2/v2.0/authorize"


def test_token_answers_in_entra_shape(dv: Env) -> None:
    response = requests.post(
        f"{dv.url}/{TENANT}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
              "client_secret": "emulator-secret-value", "scope": f"{dv.url}/.default"},
        timeout=30,
    )  # fmt: skip
    body = response.json()
    assert response.status_code == 200
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == body["ext_expires_in"] == 3599
    assert body["access_token"].startswith("dvsbx_")


def test_a_wrong_secret_is_invalid_client(dv: Env) -> None:
    response = requests.post(
        f"{dv.url}/{TENANT}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
              "client_secret": "wrong", "scope": f"{dv.url}/.default"},
        timeout=30,
    )  # fmt: skip
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "invalid_client"
    assert body["error_description"].startswith("AADSTS7000215: Invalid client secret provided.")
    assert body["error_codes"] == [7000215]
    assert "wrong" not in response.text


def test_an_unknown_application_and_a_bad_scope_are_refused(dv: Env) -> None:
    unknown = requests.post(
        f"{dv.url}/{TENANT}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x",
              "scope": f"{dv.url}/.default"},
        timeout=30,
    )  # fmt: skip
    assert unknown.status_code == 400 and unknown.json()["error"] == "unauthorized_client"
    scope = requests.post(
        f"{dv.url}/{TENANT}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
              "client_secret": "emulator-secret-value", "scope": f"{dv.url}/user_impersonation"},
        timeout=30,
    )  # fmt: skip
    assert scope.status_code == 400 and scope.json()["error"] == "invalid_scope"


def test_the_web_api_wants_a_bearer_token_for_this_environment(dv: Env) -> None:
    bare = requests.get(f"{dv.api}/WhoAmI", timeout=30)
    assert bare.status_code == 401
    assert bare.text == ""
    assert bare.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")
    forged = requests.get(f"{dv.api}/WhoAmI", headers={"Authorization": "Bearer nope"}, timeout=30)
    assert forged.status_code == 401
    other = requests.post(
        f"{dv.url}/{TENANT}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
              "client_secret": "emulator-secret-value",
              "scope": "https://other.crm.dynamics.com/.default"},
        timeout=30,
    ).json()["access_token"]  # fmt: skip
    wrong_audience = requests.get(
        f"{dv.api}/WhoAmI", headers={"Authorization": f"Bearer {other}"}, timeout=30
    )
    assert wrong_audience.status_code == 401


def test_msal_gets_a_token_and_whoami_names_the_application_user(dv: Env) -> None:
    import msal

    app = msal.ConfidentialClientApplication(
        CLIENT_ID,
        authority=f"{dv.url}/{TENANT}",
        client_credential="emulator-secret-value",
        instance_discovery=False,
    )
    result = app.acquire_token_for_client(scopes=[f"{dv.url}/.default"])
    assert "access_token" in result, result
    who = requests.get(
        f"{dv.api}/WhoAmI",
        headers={"Authorization": f"Bearer {result['access_token']}"},
        timeout=30,
    )
    assert who.status_code == 200
    body = who.json()
    user = dv.get(f"systemusers({body['UserId']})?$select=applicationid,_businessunitid_value")
    assert user.json()["applicationid"] == CLIENT_ID
    assert user.json()["_businessunitid_value"] == body["BusinessUnitId"]
    bad = msal.ConfidentialClientApplication(
        CLIENT_ID, authority=f"{dv.url}/{TENANT}", client_credential="wrong",
        instance_discovery=False,
    ).acquire_token_for_client(scopes=[f"{dv.url}/.default"])  # fmt: skip
    assert bad["error"] == "invalid_client"
