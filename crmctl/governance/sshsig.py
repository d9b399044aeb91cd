"""OpenSSH signatures (SSHSIG) over approval records, made and checked with `ssh-keygen -Y`.

An approval's identity is the key that signed it: the signature counts for
an approver only when the project's allowed-signers file lists that key for
that approver's email (the OpenSSH `allowed_signers` format, the one git
uses for SSH-signed commits). Nothing here trusts a name a user can type.

Signing and verifying run the real `ssh-keygen` (OpenSSH 8.2 or later), so
the format is exactly the one `ssh-keygen -Y verify` checks by hand.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from crmctl.errors import ApprovalError

__all__ = ["NAMESPACE", "SIGNERS_FILE", "sign", "signature_problem", "key_problem"]

#: The signature namespace: a signature made for git commits (or anything else) never counts here.
NAMESPACE = "crmctl-approval"

#: Where the project keeps its allowed signers, relative to the project folder.
SIGNERS_FILE = "approvals/allowed_signers"


def _ssh_keygen() -> str:
    found = shutil.which("ssh-keygen")
    if found is None:
        raise ApprovalError(
            "ssh-keygen is not installed, so approval signatures cannot be made or checked",
            hint="install OpenSSH (8.2 or later): apt-get install openssh-client",
        )
    return found


def _run(args: list[str], stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [_ssh_keygen(), *args],
        input=stdin,
        capture_output=True,
        check=False,
        env={**os.environ, "LC_ALL": "C"},
    )


def sign(payload: bytes, key: Path) -> str:
    """The armored SSH signature of `payload` by the private key in `key` (or its agent)."""
    if not key.is_file():
        raise ApprovalError(
            f"signing key {key} does not exist",
            hint="pass --key PATH, set $CRMCTL_SIGNING_KEY, or git config user.signingkey",
        )
    with tempfile.TemporaryDirectory(prefix="crmctl-sign-") as tmp:
        data = Path(tmp) / "record"
        data.write_bytes(payload)
        done = _run(["-Y", "sign", "-q", "-n", NAMESPACE, "-f", str(key), str(data)])
        sig = Path(tmp) / "record.sig"
        if done.returncode != 0 or not sig.is_file():
            why = done.stderr.decode(errors="replace").strip().splitlines()
            raise ApprovalError(
                f"ssh-keygen could not sign with {key}: {why[-1] if why else 'unknown error'}",
                hint="the key must be an SSH private key (ed25519 recommended), or its .pub with "
                "the private key loaded in ssh-agent",
            )
        return sig.read_text(encoding="ascii")


def _principals(signers: Path, sig: Path) -> list[str]:
    done = _run(["-Y", "find-principals", "-f", str(signers), "-s", str(sig)])
    if done.returncode != 0:
        return []
    return [p for line in done.stdout.decode().splitlines() for p in line.split(",") if p]


def signature_problem(
    payload: bytes, signature: str, signers_text: str, identity: str, signers_name: str
) -> str | None:
    """Why `signature` does not prove that `identity` signed `payload`, or None when it does.

    `signers_text` is the allowed-signers file's content; `signers_name` is
    how messages call it (the file, or "the allowed signers last applied").
    """
    with tempfile.TemporaryDirectory(prefix="crmctl-verify-") as tmp:
        signers = Path(tmp) / "allowed_signers"
        signers.write_text(signers_text, encoding="utf-8")
        sig = Path(tmp) / "record.sig"
        sig.write_text(signature, encoding="ascii", errors="replace")
        good = _run(
            ["-Y", "verify", "-f", str(signers), "-I", identity, "-n", NAMESPACE, "-s", str(sig)],
            payload,
        )
        if good.returncode == 0:
            return None
        intact = _run(["-Y", "check-novalidate", "-n", NAMESPACE, "-s", str(sig)], payload)
        if intact.returncode != 0:
            return "its signature does not match its content (it was changed after it was signed)"
        others = [p for p in _principals(signers, sig) if p.lower() != identity.lower()]
        if others:
            return (
                f"it is signed by the key of {', '.join(others)} in {signers_name}, "
                f"not by a key of {identity}"
            )
        return f"it is signed by a key that {signers_name} does not list for {identity}"


def key_problem(key: Path, signers_text: str, identity: str, signers_name: str) -> str | None:
    """Why signing as `identity` with `key` would not count (checked before writing a record)."""
    probe = b"crmctl signing-key check"
    return signature_problem(probe, sign(probe, key), signers_text, identity, signers_name)
