"""Signing in to Dataverse: OAuth 2.0 client credentials through msal.

The application user's client id and secret come from the environment
variables the environment file names (`clientIdEnv`, `clientSecretEnv`); the
values stay in memory and never appear in a message. msal keeps the token in
its cache and asks Microsoft Entra ID (or the authority the environment names)
for a new one shortly before it expires, so a long apply never runs on an
expired token.

TLS: msal and requests both honour REQUESTS_CA_BUNDLE, which is how tests
trust the sandbox's local certificate authority.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import requests

from crmctl.errors import AuthError, TransportError
from crmctl.providers.http import redact

__all__ = ["Credentials", "TokenSource", "DEFAULT_AUTHORITY", "BearerAuth"]

#: Microsoft Entra ID; another authority (the sandbox's) is named by `provider.authority`.
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
_MICROSOFT_HOSTS = (
    "login.microsoftonline.com",
    "login.microsoftonline.us",
    "login.chinacloudapi.cn",
    "login.partner.microsoftonline.cn",
)


def _variable(name: str, what: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise AuthError(
            f"environment variable {name} is not set ({what})",
            hint=f"export {name}=... (the application user's {what})",
        )
    return value


@dataclass(frozen=True)
class Credentials:
    """Who crmctl signs in as, resolved from the environment (values stay in memory)."""

    url: str  # the environment URL; the token scope is {url}/.default
    tenant: str
    authority_host: str
    client_id: str
    client_secret: str = field(repr=False)
    client_id_env: str = ""
    client_secret_env: str = ""

    @property
    def secrets(self) -> list[str]:
        """Values that must never appear in output."""
        return [self.client_secret]

    @property
    def authority(self) -> str:
        return f"{self.authority_host}/{self.tenant}"

    @property
    def scope(self) -> str:
        return f"{self.url}/.default"

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Credentials:
        """Read an environment file's `provider:` block and the variables it names."""
        return cls(
            url=str(config["url"]).rstrip("/"),
            tenant=str(config["tenantId"]),
            authority_host=str(config.get("authority") or DEFAULT_AUTHORITY).rstrip("/"),
            client_id=_variable(config["clientIdEnv"], "client id"),
            client_secret=_variable(config["clientSecretEnv"], "client secret"),
            client_id_env=config["clientIdEnv"],
            client_secret_env=config["clientSecretEnv"],
        )


class TokenSource:
    """Access tokens for one application user, from msal's cache or a fresh request."""

    def __init__(self, credentials: Credentials, timeout: float = 30.0) -> None:
        self.credentials = credentials
        self.timeout = timeout
        self._app: Any = None
        self._lock = threading.Lock()
        self.issued: list[str] = []  # every token handed out, for redaction
        self.requests_made = 0  # token requests that reached the authority

    def _application(self) -> Any:
        if self._app is None:
            import msal  # heavy: imported only when a Dataverse environment signs in

            host = urlparse(self.credentials.authority_host).hostname or ""
            session = requests.Session()
            session.request = _counting(session.request, self)  # type: ignore[method-assign]
            try:
                self._app = msal.ConfidentialClientApplication(
                    self.credentials.client_id,
                    client_credential=self.credentials.client_secret,
                    authority=self.credentials.authority,
                    # Instance discovery asks Microsoft about the authority: only for its hosts.
                    instance_discovery=host in _MICROSOFT_HOSTS,
                    http_client=session,
                    timeout=self.timeout,
                )
            except requests.RequestException as exc:
                raise self._unreachable(exc) from None
            except ValueError as exc:  # msal: the authority's metadata is not usable
                raise AuthError(
                    f"{self.credentials.authority}: not a usable OAuth authority ({self._safe(str(exc))})",
                    hint="check provider.authority and provider.tenantId",
                ) from None
        return self._app

    def token(self) -> str:
        """A valid access token (msal refreshes it before it expires)."""
        with self._lock:
            app = self._application()
            try:
                answer = app.acquire_token_for_client(scopes=[self.credentials.scope])
            except requests.RequestException as exc:
                raise self._unreachable(exc) from None
            token = answer.get("access_token") if isinstance(answer, dict) else None
            if not token:
                error = answer.get("error", "no token") if isinstance(answer, dict) else "no token"
                description = (
                    answer.get("error_description", "") if isinstance(answer, dict) else ""
                )
                first = str(description).splitlines()[0] if description else ""
                raise AuthError(
                    f"sign-in to {self.credentials.authority} as the client in "
                    f"${self.credentials.client_id_env} failed: {error}"
                    + (f" ({self._safe(first)})" if first else ""),
                    hint=f"check ${self.credentials.client_id_env}, "
                    f"${self.credentials.client_secret_env} and provider.tenantId",
                )
            if token not in self.issued:
                self.issued.append(token)
            return str(token)

    def _unreachable(self, exc: Exception) -> TransportError:
        return TransportError(
            f"cannot reach the sign-in authority {self.credentials.authority} "
            f"({self._safe(str(exc))[:200]})",
            hint="check provider.authority, the network, and REQUESTS_CA_BUNDLE for a private CA",
        )

    def _safe(self, text: str) -> str:
        return redact(text, [*self.credentials.secrets, *self.issued])


def _counting(send: Any, source: TokenSource) -> Any:
    def request(*args: Any, **kwargs: Any) -> Any:
        source.requests_made += 1
        return send(*args, **kwargs)

    return request


class BearerAuth(requests.auth.AuthBase):
    """Sets the Authorization header of every request from a TokenSource."""

    def __init__(self, tokens: TokenSource, secrets: list[str]) -> None:
        self.tokens = tokens
        self.secrets = secrets  # the HTTP client's redaction list: new tokens join it

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        token = self.tokens.token()
        if token not in self.secrets:
            self.secrets.append(token)
        request.headers["Authorization"] = f"Bearer {token}"
        return request
