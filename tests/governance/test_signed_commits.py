"""requireSignedCommits: an approval counts only when its commit carries the approver's good signature.

Keys are made for the test in a temporary GNUPGHOME with `gpg --quick-gen-key`.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.governance.conftest import write_governed_env
from tests.governance.gitrepo import AUTHOR, commit
from tests.governance.test_approvals import TOMAS, apply, approve, grant_tier_edit, refusal

pytestmark = pytest.mark.skipif(shutil.which("gpg") is None, reason="gpg is not installed")

MALLORY = "mallory@example.net"


@pytest.fixture
def gnupg(monkeypatch: pytest.MonkeyPatch):
    """A keyring with signing keys for Tomas and for Mallory (short path: gpg-agent's socket).

    Yields the id of Tomas's key.
    """
    home = Path(tempfile.mkdtemp(prefix="gpg", dir="/tmp"))
    home.chmod(0o700)
    monkeypatch.setenv("GNUPGHOME", str(home))
    for uid in (f"Tomas Berg <{TOMAS}>", f"Mallory <{MALLORY}>"):
        subprocess.run(
            [
                "gpg",
                "--batch",
                "--passphrase",
                "",
                "--quick-gen-key",
                uid,
                "ed25519",
                "sign",
                "never",
            ],
            check=True,
            capture_output=True,
        )
    listing = subprocess.run(
        ["gpg", "--list-keys", "--with-colons", TOMAS], check=True, capture_output=True, text=True
    ).stdout
    key = next(line.split(":")[4] for line in listing.splitlines() if line.startswith("pub:"))
    try:
        yield key  # Tomas's key id
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], capture_output=True, check=False)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def signed_gov(governed: Path) -> Path:
    write_governed_env(governed, signed=True)
    commit(governed, AUTHOR, "Approvals must be signed", "environments")
    # That policy change needs the policy owners too; approve it with a signed commit.
    return governed


def test_signed_commits_are_required_and_verified(signed_gov, gnupg, crmctl):
    policy = approve(crmctl, TOMAS, "security-officer", "Environment/gov")
    commit(signed_gov, TOMAS, "Approve the signing policy", policy, sign_key=TOMAS)
    grant_tier_edit(signed_gov)

    record = approve(crmctl, TOMAS, "security-officer", "PermissionSet/*")
    unsigned = commit(signed_gov, TOMAS, "Approve", record)
    refused = apply(crmctl)
    assert refused.exit_code == 1
    assert refused.err == refusal(
        "PermissionSet/Sales_Rep: security-officer: tomas.berg@northwind.example does not count: "
        f"commit {unsigned} is not signed, and gov requires signed commits [{record}]"
    )

    other = approve(crmctl, TOMAS, "security-officer", "PermissionSet/*")
    wrong_key = commit(signed_gov, TOMAS, "Approve", other, sign_key=MALLORY)
    refused = apply(crmctl)
    assert (
        f"commit {wrong_key} is signed by {MALLORY}, not by tomas.berg@northwind.example [{other}]"
    ) in refused.err

    good = approve(crmctl, TOMAS, "security-officer", "PermissionSet/*")
    commit(signed_gov, TOMAS, "Approve", good, sign_key=TOMAS)
    done = apply(crmctl)
    assert done.exit_code == 0, done.output


def test_a_signature_that_does_not_verify_is_refused(signed_gov, gnupg, crmctl, monkeypatch):
    policy = approve(crmctl, TOMAS, "security-officer", "Environment/gov")
    commit(signed_gov, TOMAS, "Approve the signing policy", policy, sign_key=TOMAS)
    grant_tier_edit(signed_gov)
    record = approve(crmctl, TOMAS, "security-officer", "PermissionSet/*")
    sha = commit(signed_gov, TOMAS, "Approve", record, sign_key=TOMAS)
    # Verified by someone who does not have Tomas's public key: the signature cannot be checked.
    empty = Path(tempfile.mkdtemp(prefix="gpg", dir="/tmp"))
    empty.chmod(0o700)
    monkeypatch.setenv("GNUPGHOME", str(empty))
    try:
        refused = apply(crmctl)
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], capture_output=True, check=False)
        shutil.rmtree(empty, ignore_errors=True)
    assert refused.exit_code == 1
    assert refused.err == refusal(
        "PermissionSet/Sales_Rep: security-officer: tomas.berg@northwind.example does not count: "
        f"the signature of commit {sha} does not verify: the signing key {gnupg} is not in your "
        f"keyring [{record}]"
    )
