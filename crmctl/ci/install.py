"""How the generated CI installs crmctl: a pip requirement CI can reach, pinned.

By default it is the exact source the running crmctl was installed from, as its
distribution's PEP 610 `direct_url.json` records it (a VCS URL at a commit, a wheel
or archive URL). A distribution without that file came from a package index, where
that version is published. A local source (a folder, an editable checkout, a
file:// wheel) is written too, with a warning: a CI runner cannot reach it.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from crmctl.errors import CrmctlError

__all__ = [
    "InstallSource",
    "install_command",
    "running_install_source",
    "source_from_direct_url",
]

DISTRIBUTION = "crmctl"


@dataclass(frozen=True)
class InstallSource:
    """A pip requirement for crmctl, and why CI may not be able to use it (None: it can)."""

    requirement: str
    warning: str | None = None


def install_command(requirement: str) -> str:
    """The shell command a CI job runs: pip install of one requirement, quoted for the shell."""
    return f"pip install {shlex.quote(requirement)}"


def source_from_direct_url(info: dict[str, Any]) -> InstallSource | None:
    """The requirement a PEP 610 direct_url.json record stands for (None: not one)."""
    url = info.get("url")
    if not isinstance(url, str) or not url:
        return None
    if isinstance(info.get("vcs_info"), dict):
        vcs = info["vcs_info"]
        commit = vcs.get("commit_id") or vcs.get("requested_revision")
        pinned = f"{vcs.get('vcs', 'git')}+{url}" + (f"@{commit}" if commit else "")
        requirement = f"{DISTRIBUTION} @ {pinned}"
    elif isinstance(info.get("archive_info"), dict):
        archive = info["archive_info"]
        hashes = archive.get("hashes") or {}
        digest = (
            f"#sha256={hashes['sha256']}"
            if "sha256" in hashes
            else (f"#{archive['hash']}" if archive.get("hash") and "#" not in url else "")
        )
        requirement = f"{DISTRIBUTION} @ {url}{digest}"
    else:  # dir_info: a folder, editable or not
        requirement = f"{DISTRIBUTION} @ {url}"
    if url.startswith("file:"):
        editable = isinstance(info.get("dir_info"), dict) and info["dir_info"].get("editable")
        what = "an editable checkout" if editable else "a local path"
        return InstallSource(
            requirement,
            f"this crmctl was installed from {what} ({url}), which a CI runner cannot reach; "
            "the generated jobs will fail at 'Install crmctl' until you pass --install with a "
            "source CI can reach, e.g. --install 'crmctl @ git+https://HOST/OWNER/crmctl@COMMIT' "
            "or the URL of a wheel",
        )
    return InstallSource(requirement)


def running_install_source() -> InstallSource:
    """Where the running crmctl was installed from, as a pinned pip requirement."""
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise CrmctlError(
            "this crmctl is not installed as a package (it runs from a source folder), so "
            "there is no source the generated CI could install it from",
            hint="pass --install with a pip requirement CI can reach, e.g. "
            "--install 'crmctl @ git+https://HOST/OWNER/crmctl@COMMIT'",
        ) from None
    text = dist.read_text("direct_url.json")
    if text:
        try:
            info = json.loads(text)
        except ValueError:
            info = None
        found = source_from_direct_url(info) if isinstance(info, dict) else None
        if found is not None:
            return found
    # No direct_url.json: pip installed it from a package index, which publishes this version.
    return InstallSource(f"{DISTRIBUTION}=={dist.version}")
