"""Real SSH signing keys for governance tests, made with `ssh-keygen -t ed25519` (once per run)."""

from __future__ import annotations

import atexit
import shutil
import subprocess
import tempfile
from pathlib import Path

_DIR: Path | None = None


def key_of(email: str) -> Path:
    """The private key file of `email` (made on first use; no passphrase)."""
    global _DIR
    if _DIR is None:
        _DIR = Path(tempfile.mkdtemp(prefix="crmctl-keys-"))
        atexit.register(shutil.rmtree, _DIR, True)
    path = _DIR / email.split("@")[0].replace(".", "_")
    if not path.exists():
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", email, "-f", str(path)],
            check=True,
            capture_output=True,
        )
    return path


def public_key(email: str) -> str:
    """`ssh-ed25519 AAAA...` of `email`'s key."""
    return " ".join(Path(f"{key_of(email)}.pub").read_text().split()[:2])


def signers_line(email: str, key_owner: str | None = None) -> str:
    """An allowed_signers line listing `key_owner`'s key (default: their own) for `email`."""
    return f"{email} {public_key(key_owner or email)}\n"


def write_signers(root: Path, *emails: str) -> Path:
    path = root / "approvals" / "allowed_signers"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# email  key\n" + "".join(signers_line(e) for e in emails))
    return path
