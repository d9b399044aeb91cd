"""Entra ID, as far as a confidential client needs it: tenant discovery and client credentials.

    GET  /{tenant}/v2.0/.well-known/openid-configuration
    POST /{tenant}/oauth2/v2.0/token   grant_type=client_credentials, client_id,
                                       client_secret, scope={environment url}/.default

The token is opaque (real Entra issues a JWT; clients never read it). Its
audience is the resource of the scope, and the Web API accepts it only at
that environment URL. Errors are Entra's: `{"error", "error_description",
"error_codes", "timestamp", "trace_id", "correlation_id"}` with the AADSTS
numbers of the documented cases (invalid client secret AADSTS7000215,
unknown application AADSTS700016, bad scope AADSTS70011/AADSTS500011,
unsupported grant AADSTS70003).
"""

from __future__ import annotations

import base64
import uuid
from typing import Any
from urllib.parse import parse_qsl, unquote

from crmctl.sandbox.dataverse import state
from crmctl.sandbox.server import Request, Route

__all__ = ["routes", "TOKEN_SECONDS", "base_url"]

Response = tuple[int, Any, dict[str, str]]

#: How long an access token lives (Entra's default is 60 to 90 minutes).
TOKEN_SECONDS = 3599

_JSON = {"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store"}


def base_url(request: Request) -> str:
    """This server as the client reached it: scheme and Host."""
    host = request.headers.get("Host") or "127.0.0.1"
    return f"{'https' if request.secure else 'http'}://{host}"


def _openid(request: Request) -> Response:
    tenant = request.params["tenant"]
    root = f"{base_url(request)}/{tenant}"
    body = {
        "token_endpoint": f"{root}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
        "jwks_uri": f"{base_url(request)}/{tenant}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{base_url(request)}/{tenant}/v2.0",
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": f"{base_url(request)}/oidc/userinfo",
        "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{root}/oauth2/v2.0/logout",
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "tid"],
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
    }
    return 200, body, dict(_JSON)


def _error(status: int, error: str, number: int, description: str) -> Response:
    trace = str(uuid.uuid4())
    body = {
        "error": error,
        "error_description": f"AADSTS{number}: {description} Trace ID: {trace}",
        "error_codes": [number],
        "timestamp": "",
        "trace_id": trace,
        "correlation_id": str(uuid.uuid4()),
    }
    return status, body, dict(_JSON)


def _token(request: Request) -> Response:
    content_type = (request.headers.get("Content-Type") or "").lower()
    if "application/x-www-form-urlencoded" not in content_type:
        return _error(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'grant_type'.",
        )
    form = dict(parse_qsl(request.raw.decode("utf-8", "replace"), keep_blank_values=True))
    scheme, _, encoded = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() == "basic" and encoded:
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
            form.setdefault("client_id", unquote(user))
            form.setdefault("client_secret", unquote(password))
        except ValueError:
            pass
    grant = form.get("grant_type")
    if not grant:
        return _error(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'grant_type'.",
        )
    if grant != "client_credentials":
        return _error(
            400,
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{grant}'.",
        )
    client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    scope = form.get("scope", "")
    store = request.store
    with store.transaction() as conn:
        state.ensure(conn)
        app = state.app_by_client_id(conn, client_id) if client_id else None
        if app is None:
            return _error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{request.params['tenant']}'.",
            )
        if not secret or not app.secret_matches(secret):
            return _error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request "
                f"is the client secret value, not the client secret ID, for a secret added to "
                f"app '{app.client_id}'.",
            )
        scopes = scope.split()
        if len(scopes) != 1 or not scopes[0].endswith("/.default"):
            return _error(
                400,
                "invalid_scope",
                70011,
                f"The provided request must include a 'scope' input parameter. The provided "
                f"value for the input parameter 'scope' is not valid ({scope!r}): the "
                "client credentials flow takes one scope, {resource}/.default.",
            )
        audience = scopes[0].removesuffix("/.default").rstrip("/").lower()
        token = state.issue_token(conn, app.client_id, audience, store.now(), TOKEN_SECONDS)
    body = {
        "token_type": "Bearer",
        "expires_in": TOKEN_SECONDS,
        "ext_expires_in": TOKEN_SECONDS,
        "access_token": token,
    }
    return 200, body, dict(_JSON)


def routes() -> list[Route]:
    return [
        Route(
            "GET",
            "/{tenant}/v2.0/.well-known/openid-configuration",
            _openid,
            auth=False,
            faults=False,
        ),
        Route(
            "POST", "/{tenant}/oauth2/v2.0/token", _token, auth=False, json_body=False, faults=False
        ),
    ]
