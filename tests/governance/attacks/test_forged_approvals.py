"""Forged approvals: each is refused, and the refusal says why.

Maria (the requester) tries to make an approval appear to come from Tomas
(a security officer) without Tomas's private key.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

from crmctl.governance.records import ApprovedChange, write_approval
from crmctl.governance.sshsig import sign
from crmctl.plan import fingerprint
from tests.e2e.helpers import replace_in
from tests.governance.conftest import approve_governance_as
from tests.governance.gitrepo import AUTHOR, commit, git
from tests.governance.keys import key_of, signers_line
from tests.governance.test_approvals import (
    PERMS,
    SAM,
    TOMAS,
    apply,
    approve,
    grant_tier_edit,
    refusal,
    signed_record,
)

FORGED = "does not count: it is signed by a key that approvals/allowed_signers does not list for tomas.berg@northwind.example"
TAMPERED = (
    "does not count: its signature does not match its content (it was changed after it was signed)"
)
UNSIGNED = "does not count: it is not signed, and gov counts only signed approvals (crmctl approve signs with your SSH key)"


def test_a_commit_with_a_forged_author_is_not_an_approval(governed, crmctl):
    grant_tier_edit(governed)
    change_entry = _entry(crmctl)
    path = write_approval(governed, "gov", TOMAS, "security-officer", [change_entry])
    record = path.relative_to(governed).as_posix()
    git(governed, "add", record)
    git(governed, "commit", "-q", "--author", f"Tomas <{TOMAS}>", "-m", "Approve")  # by Maria
    refused = apply(crmctl)
    assert refused.exit_code == 1
    assert refused.err == refusal(
        f"PermissionSet/Sales_Rep: security-officer: {TOMAS} {UNSIGNED} [{record}]"
    )


def test_a_record_signed_with_someone_elses_key_is_refused(governed, crmctl):
    grant_tier_edit(governed)
    path = write_approval(
        governed, "gov", TOMAS, "security-officer", [_entry(crmctl)],
        sign=lambda payload: sign(payload, key_of(AUTHOR)),
    )  # fmt: skip
    record = path.relative_to(governed).as_posix()
    refused = apply(crmctl)
    assert refused.err == refusal(
        f"PermissionSet/Sales_Rep: security-officer: {TOMAS} does not count: it is signed by the "
        f"key of {AUTHOR} in approvals/allowed_signers, not by a key of {TOMAS} [{record}]"
    )


def test_an_amended_approval_that_widens_the_change_is_refused(governed, crmctl):
    grant_tier_edit(governed)
    record = approve(crmctl, TOMAS, "security-officer")
    commit(governed, TOMAS, "Approve", record)
    # Maria widens the change (ModifyAllData) and amends Tomas's commit to approve the new digest.
    replace_in(
        governed / PERMS, "  system: [ApiEnabled]\n", "  system: [ApiEnabled, ModifyAllData]\n"
    )
    commit(governed, AUTHOR, "Also modify all data", PERMS)
    data = yaml.safe_load((governed / record).read_text())
    data["changes"][0]["desired"] = fingerprint(_after(crmctl))
    (governed / record).write_text(yaml.safe_dump(data, sort_keys=False))
    git(governed, "add", record)
    git(governed, "commit", "-q", "--amend", "--no-edit", "--author", f"Tomas <{TOMAS}>")
    refused = apply(crmctl)
    assert refused.exit_code == 1
    assert refused.err == refusal(
        f"PermissionSet/Sales_Rep: security-officer: {TOMAS} {TAMPERED} [{record}]"
    )


def test_a_signed_record_edited_and_hidden_with_skip_worktree_is_refused(governed, crmctl):
    grant_tier_edit(governed)
    record = approve(crmctl, TOMAS, "security-officer", "--ticket", "CHG-1")
    commit(governed, TOMAS, "Approve", record)
    git(governed, "update-index", "--skip-worktree", record)
    replace_in(governed / record, "ticket: CHG-1", "ticket: CHG-2")
    assert git(governed, "status", "--porcelain", "--", record).strip() == ""  # git sees nothing
    refused = apply(crmctl)
    assert refused.err == refusal(
        f"PermissionSet/Sales_Rep: security-officer: {TOMAS} (CHG-2) {TAMPERED} [{record}]"
    )


def test_a_key_added_to_the_allowed_signers_for_someone_else_counts_for_nothing(governed, crmctl):
    # Maria lists her own key for Tomas and signs both the change and the governance change.
    with (governed / "approvals" / "allowed_signers").open("a") as out:
        out.write(signers_line(TOMAS, key_owner=AUTHOR))
    commit(governed, AUTHOR, "Add Tomas's new key", "approvals/allowed_signers")
    grant_tier_edit(governed)
    forged = _signed_as_tomas_with(governed, crmctl, AUTHOR, "Environment/gov")
    refused = apply(crmctl)
    assert refused.exit_code == 1
    assert (
        f"  - Environment/gov: security-officer: {TOMAS} does not count: it is signed by the key "
        f"of {AUTHOR} in the allowed signers as last applied (v1), not by a key of {TOMAS} "
        f"[{forged}]\n"
    ) in refused.err
    assert "  - PermissionSet/Sales_Rep: security-officer: missing\n" in refused.err


def test_an_unsigned_record_is_refused_even_when_committed_by_its_approver(governed, crmctl):
    grant_tier_edit(governed)
    path = write_approval(governed, "gov", TOMAS, "security-officer", [_entry(crmctl)])
    record = path.relative_to(governed).as_posix()
    commit(governed, TOMAS, "Approve", record)
    assert f"{UNSIGNED} [{record}]" in apply(crmctl).err


@pytest.mark.skipif(shutil.which("gpg") is None, reason="gpg is not installed")
def test_a_gpg_signature_by_an_untrusted_key_with_the_approvers_name_is_refused(
    governed, crmctl, monkeypatch
):
    home = Path(tempfile.mkdtemp(prefix="gpg", dir="/tmp"))
    home.chmod(0o700)
    monkeypatch.setenv("GNUPGHOME", str(home))
    try:
        subprocess.run(
            ["gpg", "--batch", "--passphrase", "", "--quick-gen-key", f"Tomas Berg <{TOMAS}>",
             "ed25519", "sign", "never"],
            check=True, capture_output=True,
        )  # fmt: skip
        grant_tier_edit(governed)
        path = write_approval(governed, "gov", TOMAS, "security-officer", [_entry(crmctl)])
        record = path.relative_to(governed).as_posix()
        git(governed, "add", record, email=TOMAS)
        git(governed, "-c", f"user.signingkey={TOMAS}", "commit", "-S", "-q", "-m", "Approve",
            email=TOMAS)  # fmt: skip
        refused = apply(crmctl)
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], capture_output=True, check=False)
        shutil.rmtree(home, ignore_errors=True)
    assert refused.err == refusal(
        f"PermissionSet/Sales_Rep: security-officer: {TOMAS} {UNSIGNED} [{record}]"
    )


def test_approve_refuses_a_key_that_is_not_listed_for_the_approver(governed, crmctl):
    grant_tier_edit(governed)
    before = sorted((governed / "approvals" / "gov").glob("*.yaml"))
    refused = crmctl(
        "approve", "-e", "gov", "--role", "security-officer", "--key", str(key_of(AUTHOR)),
        env={"CRMCTL_ACTOR": TOMAS},
    )  # fmt: skip
    assert refused.exit_code == 1
    assert refused.err.startswith(
        f"Error: signing as {TOMAS} with {key_of(AUTHOR)} would not count: it would be signed by "
        f"the key of {AUTHOR} in approvals/allowed_signers, not by a key of {TOMAS}; nothing was "
        "recorded\n"
    )
    assert sorted((governed / "approvals" / "gov").glob("*.yaml")) == before


def test_a_policy_owner_still_approves_a_key_change_legitimately(governed, crmctl):
    with (governed / "approvals" / "allowed_signers").open("a") as out:
        out.write(signers_line("new.admin@northwind.example"))
    commit(governed, AUTHOR, "Add the new admin's key", "approvals/allowed_signers")
    approve_governance_as(crmctl, SAM)
    assert apply(crmctl).exit_code == 0


# --- helpers -------------------------------------------------------------------------
def _plan(crmctl) -> dict:
    import json

    return json.loads(crmctl("plan", "-e", "gov", "--format", "json").out)


def _after(crmctl) -> dict:
    return _plan(crmctl)["changes"][0]["after"]


def _entry(crmctl) -> ApprovedChange:
    change = _plan(crmctl)["changes"][0]
    return ApprovedChange(
        change["address"], change["action"], fingerprint(change["after"]), change["liveFingerprint"]
    )


def _signed_as_tomas_with(root: Path, crmctl, key_owner: str, *addresses: str) -> str:
    plan = _plan(crmctl)
    changes = [*plan["changes"], plan["policyChange"]]
    entries = [
        ApprovedChange(c["address"], c["action"], fingerprint(c["after"]), c["liveFingerprint"])
        for c in changes
        if c["address"] in addresses
    ]
    path = write_approval(
        root, "gov", TOMAS, "security-officer", entries,
        sign=lambda payload: sign(payload, key_of(key_owner)),
    )  # fmt: skip
    return path.relative_to(root).as_posix()


__all__ = ["signed_record"]
