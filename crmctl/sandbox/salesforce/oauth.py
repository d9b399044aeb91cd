"""`POST /services/oauth2/token`: the JWT bearer and client-credentials flows.

JWT bearer: the assertion's `iss` names a connected app (its client id), its
RS256 signature must verify against the app's certificate, `aud` must be the
login URL (this server, login.salesforce.com or test.salesforce.com), `exp`
must lie ahead, and `sub` must be an active user. Client credentials: the
app's id and secret (form fields or HTTP Basic), and the app's run-as user.

Answers: `{access_token, instance_url, id, token_type, scope, issued_at,
signature}`, or 400 `{"error", "error_description"}` as Salesforce does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any
from urllib.parse import parse_qsl

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from crmctl.sandbox import auth
from crmctl.sandbox.salesforce import state
from crmctl.sandbox.salesforce.api import base_url
from crmctl.sandbox.salesforce.ids import ORG_ID, sf_id
from crmctl.sandbox.server import Request, Route

__all__ = ["routes", "public_key", "ORG_ID"]

_GRANT_JWT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
_SIGNING_KEY = b"crmctl sandbox"  # the response `signature` only proves the answer is ours


class _OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


def public_key(pem: str) -> RSAPublicKey:
    """The RSA public key of a PEM certificate or public key (ValueError otherwise)."""
    data = pem.encode("utf-8")
    key: Any
    if b"BEGIN CERTIFICATE" in data:
        key = x509.load_pem_x509_certificate(data).public_key()
    else:
        key = load_pem_public_key(data)
    if not isinstance(key, RSAPublicKey):
        raise ValueError("the key is not an RSA key (the JWT flow signs with RS256)")
    return key


def _base_url(request: Request) -> str:
    return base_url(request)


def _token(request: Request) -> tuple[int, Any, dict[str, str]]:
    form = dict(parse_qsl(request.raw.decode("utf-8", "replace"), keep_blank_values=True))
    try:
        grant = form.get("grant_type")
        if grant == _GRANT_JWT:
            username, client_id = _jwt_user(request, form.get("assertion") or "")
        elif grant == "client_credentials":
            username, client_id = _client_credentials_user(request, form)
        else:
            raise _OAuthError("unsupported_grant_type", "grant type not supported")
        store = request.store
        with store.transaction() as conn:
            seconds = state.settings_in(conn)["sessionSeconds"]
            token = state.issue_session(conn, username, client_id, store.now(), seconds)
    except _OAuthError as err:
        return err.status, {"error": err.error, "error_description": err.description}, {}
    base = _base_url(request)
    issued = str(int(time.time() * 1000))
    identity = f"{base}/id/{ORG_ID}/{sf_id('User', username)}"
    signature = base64.b64encode(
        hmac.new(_SIGNING_KEY, (identity + issued).encode(), hashlib.sha256).digest()
    ).decode()
    body = {
        "access_token": token,
        "scope": "api",
        "instance_url": base,
        "id": identity,
        "token_type": "Bearer",
        "issued_at": issued,
        "signature": signature,
    }
    return 200, body, {"Cache-Control": "no-store"}


def _jwt_user(request: Request, assertion: str) -> tuple[str, str]:
    try:
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise _OAuthError("invalid_grant", "invalid assertion") from None
    client_id = str(unverified.get("iss") or "")
    with request.store.transaction() as conn:
        app = state.app_by_client_id(conn, client_id)
    if app is None:
        raise _OAuthError("invalid_client_id", "client identifier invalid")
    if app.certificate is None:
        raise _OAuthError("invalid_grant", "the connected app has no certificate for the JWT flow")
    try:
        claims = jwt.decode(
            assertion,
            public_key(app.certificate),
            algorithms=["RS256"],
            audience=[_base_url(request), *_AUDIENCES],
            options={"require": ["exp", "sub", "aud", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise _OAuthError("invalid_grant", "expired authorization code") from None
    except jwt.InvalidAudienceError:
        raise _OAuthError("invalid_grant", "audience is invalid") from None
    except jwt.PyJWTError:
        raise _OAuthError("invalid_grant", "invalid assertion") from None
    return _active_user(request, str(claims["sub"])), client_id


def _client_credentials_user(request: Request, form: dict[str, str]) -> tuple[str, str]:
    client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    scheme, _, value = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() == "basic" and value:
        try:
            client_id, _, secret = base64.b64decode(value).decode("utf-8").partition(":")
        except ValueError:
            raise _OAuthError("invalid_client", "invalid client credentials") from None
    with request.store.transaction() as conn:
        app = state.app_by_client_id(conn, client_id)
    if app is None:
        raise _OAuthError("invalid_client_id", "client identifier invalid")
    if not app.secret_matches(secret):
        raise _OAuthError("invalid_client", "invalid client credentials")
    if not app.run_as:
        raise _OAuthError("invalid_grant", "no client credentials user enabled")
    return _active_user(request, app.run_as), client_id


def _active_user(request: Request, username: str) -> str:
    with request.store.transaction() as conn:
        principal = auth.principal_of(conn, username)
    if principal is None:
        raise _OAuthError("invalid_grant", "user hasn't approved this consumer")
    if not principal.active:
        raise _OAuthError("invalid_grant", "inactive user")
    return username


def routes() -> list[Route]:
    return [Route("POST", "/services/oauth2/token", _token, auth=False, json_body=False)]
