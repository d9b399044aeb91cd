"""Where an environment file may send credentials, and which variables it may read them from.

An environment file names environment variables (`tokenEnv`, `clientIdEnv`,
`clientSecretEnv`, `keyFileEnv`: every provider key ending in `Env`) and the
URLs crmctl sends them to. Whoever can edit the file chooses both, so:

- a variable name must start with `CRMCTL_`, or be listed in the project's
  allow list (`credentials.allowVariables` in `crmctl.yaml` at the project
  root): a file cannot read `AWS_SECRET_ACCESS_KEY` or a CI token;
- a provider URL must be https, except to loopback (127.0.0.0/8, ::1,
  localhost); it may not carry a user name or password, control characters
  (CR, LF, tab...), or point at a link-local address (169.254.0.0/16,
  fe80::/10) or a cloud metadata endpoint (METADATA_HOSTS).

Pure: no network access, no DNS lookups. Numeric host spellings
(`2852039166`, `0xa9.0xfe.0xa9.0xfe`, `::ffff:169.254.169.254`) are
normalised the way the C library would read them before they are checked.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crmctl.config.schema_check import schema_diagnostics
from crmctl.config.yamlsource import SourceMap, read_yaml_file
from crmctl.errors import Diagnostic, EnvironmentFileError, SourceLocation

__all__ = [
    "PROJECT_FILE",
    "VARIABLE_PREFIX",
    "METADATA_HOSTS",
    "ProjectSettings",
    "load_project_settings",
    "credential_diagnostics",
    "url_problem",
]

#: The project-level settings file, at the project root (next to environments/).
PROJECT_FILE = "crmctl.yaml"
#: Secret variables must start with this, unless the project allows them by name.
VARIABLE_PREFIX = "CRMCTL_"
#: Cloud metadata endpoints (AWS, GCP, Azure, Alibaba, Oracle…): never a CRM.
METADATA_HOSTS = frozenset(
    {
        "169.254.169.254",
        "169.254.170.2",
        "fd00:ec2::254",
        "100.100.100.200",
        "192.0.0.192",
        "metadata.google.internal",
        "metadata.goog",
        "metadata",
    }
)
_URL_KEYS = ("url", "instanceUrl", "loginUrl")
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})
_NUMERIC_V4 = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+)){0,3}$")


@dataclass(frozen=True)
class ProjectSettings:
    """What `crmctl.yaml` says (defaults when the project has none)."""

    allowed_variables: frozenset[str] = frozenset()
    file: Path | None = None


def load_project_settings(project_dir: Path, shown: str = PROJECT_FILE) -> ProjectSettings:
    """Read `crmctl.yaml`; raise EnvironmentFileError with file:line for a bad one."""
    path = project_dir / PROJECT_FILE
    if not path.exists():
        return ProjectSettings()
    if not path.is_file():
        raise EnvironmentFileError(f"{shown} is not a regular file")
    docs, diagnostics = read_yaml_file(path, shown)
    if not diagnostics:
        if len(docs) != 1 or not isinstance(docs[0].data, dict):
            diagnostics = [
                Diagnostic(
                    "the project file holds exactly one YAML mapping",
                    SourceLocation(shown, 1),
                    code="project",
                )
            ]
        else:
            diagnostics = schema_diagnostics("project", docs[0].data, docs[0].source)
    if diagnostics:
        n = len(diagnostics)
        raise EnvironmentFileError(
            f"project file {shown} has {n} problem{'s' * (n != 1)}", diagnostics=diagnostics
        )
    section = docs[0].data.get("credentials") or {}
    return ProjectSettings(frozenset(section.get("allowVariables") or ()), path)


def _secret_variables(node: Any, path: tuple) -> Iterator[tuple[tuple, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str) and key.endswith("Env") and isinstance(value, str):
                yield (*path, key), value
            else:
                yield from _secret_variables(value, (*path, key))


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if not _NUMERIC_V4.match(host):
            return None
        try:  # 2852039166, 0xa9fea9fe, 169.254.43518: what inet_aton (and so the resolver) reads
            address = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        address = ipaddress.IPv6Address(str(address).split("%")[0])
    return address


def url_problem(url: str) -> str | None:
    """Why crmctl may not send credentials to `url`, or None when it may."""
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in url):
        return "contains a control character or whitespace (CR, LF, tab, space…)"
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".").lower()
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if parts.scheme not in ("http", "https") or not host:
        return "must be an http(s) URL with a host name"
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return "carries a user name or password (user@host); credentials come only from variables"
    address = _ip(host)
    if host in METADATA_HOSTS or (address is not None and str(address) in METADATA_HOSTS):
        return "points at a cloud metadata endpoint"
    if address is not None and address.is_link_local:
        return "points at a link-local address (169.254.0.0/16, fe80::/10)"
    loopback = host in _LOOPBACK_NAMES or (address is not None and address.is_loopback)
    if parts.scheme != "https" and not loopback:
        return "must use https (plain http only to loopback: 127.0.0.1, ::1, localhost)"
    return None


def credential_diagnostics(
    data: dict[str, Any], source: SourceMap, settings: ProjectSettings
) -> list[Diagnostic]:
    """Every secret-variable name and provider URL of an environment file that is not allowed."""
    provider = data.get("provider") or {}
    out: list[Diagnostic] = []
    allow = PROJECT_FILE if settings.file is None else str(settings.file.name)
    for path, name in _secret_variables(provider, ("provider",)):
        if name.startswith(VARIABLE_PREFIX) or name in settings.allowed_variables:
            continue
        out.append(
            Diagnostic(
                f"{'.'.join(path)}: {name} may not hold crmctl's credentials: secret variables "
                f"start with {VARIABLE_PREFIX} or are listed in the project's allow list",
                source.location(path),
                hint=f"rename it to {VARIABLE_PREFIX}{name}, or add it to "
                f"credentials.allowVariables in {allow} (a governance change)",
                code="credentials",
            )
        )
    for key in _URL_KEYS:
        url = provider.get(key)
        if not isinstance(url, str):
            continue
        problem = url_problem(url)
        if problem:
            out.append(
                Diagnostic(
                    f"provider.{key} {url!r} {problem}",
                    source.location(("provider", key)),
                    hint="crmctl sends the environment's credentials to this URL: give the "
                    "CRM's own https:// address",
                    code="credentials",
                )
            )
    remote = (data.get("history") or {}).get("remote")
    if isinstance(remote, str):
        problem = _remote_problem(remote)
        if problem:
            out.append(
                Diagnostic(
                    f"history.remote {remote!r} {problem}",
                    source.location(("history", "remote")),
                    hint="give git its credentials the usual way (an SSH key, a credential "
                    "helper), never in the environment file",
                    code="credentials",
                )
            )
    out.sort(key=Diagnostic.sort_key)
    return out


def _remote_problem(remote: str) -> str | None:
    """A history remote may be any git URL or path, but never hold a secret or a control character."""
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in remote):
        return "contains a control character (CR, LF, tab…)"
    try:
        parts = urlsplit(remote)
        has_password = parts.password is not None
    except ValueError:
        return None  # scp-like (git@host:org/repo.git) or a path: git reads it
    return "carries a password or token (user:secret@host)" if has_password else None
