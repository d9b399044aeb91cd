"""Logging in to Salesforce: OAuth 2.0 JWT bearer and client-credentials flows.

Secrets come only from environment variables (or a key file an environment
variable names) and are never part of a message: every error raised here is
an `AuthError` built from the OAuth error code and description, with the
connected app named by its environment variable, not by its value.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import jwt

from crmctl.config.files import FileRefused, read_limited
from crmctl.errors import AuthError
from crmctl.providers.http import HttpClient

__all__ = ["Credentials", "Session", "login", "jwt_assertion", "audience", "DEFAULT_LOGIN_URL"]

DEFAULT_LOGIN_URL = "https://login.salesforce.com"
_GRANT_JWT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_ASSERTION_LIFETIME = 180  # seconds; Salesforce accepts up to a few minutes
#: A PEM private key is a few KB; anything much larger is not one (or is /dev/zero).
MAX_KEY_FILE_BYTES = 64 * 1024


@dataclass(frozen=True)
class Session:
    """An access token and the instance it is valid for."""

    access_token: str
    instance_url: str


@dataclass(frozen=True)
class Credentials:
    """How to log in, resolved from the environment (the values themselves stay in memory)."""

    method: str  # jwt | client_credentials
    login_url: str  # where the token endpoint is (also the JWT audience)
    client_id: str
    username: str | None = None
    private_key: str | None = None  # PEM, jwt only
    client_secret: str | None = None  # client_credentials only

    @property
    def secrets(self) -> list[str]:
        """Values that must never appear in output."""
        return [s for s in (self.private_key, self.client_secret) if s]

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Credentials:
        """Read an environment file's `provider.auth` block and the variables it names."""
        auth = config["auth"]
        method = auth["method"]
        login_url = (config.get("loginUrl") or config["instanceUrl"]).rstrip("/")
        client_id = _variable(auth["clientIdEnv"], "the connected app's consumer key")
        if method == "jwt":
            key_file = Path(_variable(auth["keyFileEnv"], "the path of the JWT private key file"))
            hint = "point the variable at the PEM file of the key whose certificate the connected app holds"
            try:
                key = read_limited(key_file, MAX_KEY_FILE_BYTES).decode("utf-8")
            except FileRefused as exc:
                raise AuthError(
                    f"refusing to read the private key file {key_file} (named by "
                    f"${auth['keyFileEnv']}): {exc.reason}",
                    hint=hint,
                ) from None
            except UnicodeDecodeError:
                raise AuthError(
                    f"the private key file named by ${auth['keyFileEnv']} is not a PEM text file",
                    hint=hint,
                ) from None
            except OSError as exc:
                raise AuthError(
                    f"cannot read the private key file named by ${auth['keyFileEnv']}: {exc.strerror}",
                    hint=hint,
                ) from None
            return cls(method, login_url, client_id, username=auth["username"], private_key=key)
        secret = _variable(auth["clientSecretEnv"], "the connected app's consumer secret")
        return cls(method, login_url, client_id, client_secret=secret)


def _variable(name: str, what: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise AuthError(
            f"environment variable {name} is not set (it holds {what})",
            hint=f"export {name}=... (secrets never go in the environment file)",
        )
    return value


def audience(login_url: str) -> str:
    """The JWT's `aud`: login.salesforce.com, or test.salesforce.com for a sandbox org; any
    other host (an Experience Cloud site, the crmctl sandbox) is its own audience."""
    host = urlparse(login_url).hostname or ""
    if host == "test.salesforce.com" or host.endswith(".sandbox.my.salesforce.com"):
        return "https://test.salesforce.com"
    if host.endswith(".salesforce.com"):  # login.salesforce.com and My Domain hosts
        return DEFAULT_LOGIN_URL
    return login_url


def jwt_assertion(credentials: Credentials, now: float | None = None) -> str:
    """The RS256-signed JWT of the bearer flow: iss, sub, aud, exp."""
    issued = int(now if now is not None else time.time())
    if not credentials.private_key:
        raise AuthError("the JWT bearer flow needs a private key")
    claims = {
        "iss": credentials.client_id,
        "sub": credentials.username,
        "aud": audience(credentials.login_url),
        "exp": issued + _ASSERTION_LIFETIME,
    }
    try:
        return jwt.encode(claims, _signing_key(credentials.private_key), algorithm="RS256")
    except (ValueError, TypeError, jwt.PyJWTError):
        # The library's message may quote the key; say only what is wrong.
        raise AuthError(
            "the JWT private key is not a usable RSA private key (PEM)",
            hint="the file must hold the PEM private key that matches the connected app's certificate",
        ) from None


@lru_cache(maxsize=8)
def _signing_key(pem: str) -> Any:
    """The RS256 key of a PEM text, as PyJWT reads it (errors as it raises them), read once
    a process: loading an RSA key checks it, some 70 ms each time, which every login paid."""
    return jwt.get_algorithm_by_name("RS256").prepare_key(pem)


def login(http: HttpClient, credentials: Credentials) -> Session:
    """Ask the token endpoint for an access token."""
    if credentials.method == "jwt":
        form = {"grant_type": _GRANT_JWT, "assertion": jwt_assertion(credentials)}
        http.secrets.append(form["assertion"])
    else:
        form = {
            "grant_type": "client_credentials",
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret or "",
        }
    response = http.request(
        "POST",
        f"{credentials.login_url}/services/oauth2/token",
        data=form,
        headers={"Accept": "application/json", "Authorization": None},
        accept=(400, 401, 403),
    )
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code >= 400 or not body.get("access_token"):
        error = body.get("error") or f"HTTP {response.status_code}"
        description = body.get("error_description") or "no description"
        raise AuthError(
            f"Salesforce refused the {credentials.method} login at {credentials.login_url}: "
            f"{error}: {description}",
            hint=_hint(credentials.method, str(error)),
        )
    http.secrets.append(body["access_token"])
    return Session(body["access_token"], body.get("instance_url") or "")


def _hint(method: str, error: str) -> str:
    if error == "invalid_client_id":
        return "check the consumer key in the clientIdEnv variable"
    if method == "jwt":
        return (
            "check that the connected app holds the certificate of this key, that the user "
            "is pre-authorised for the app, and that the username and loginUrl are right"
        )
    return "check the consumer key and secret, and that the app has a run-as user for this flow"
