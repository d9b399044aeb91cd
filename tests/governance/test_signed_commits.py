"""requireSignedCommits: every commit behind a change is SSH-signed by a listed key, and its
signer is a requester too (a security officer who signs someone else's commit cannot approve it).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.helpers import replace_in
from tests.governance.conftest import approve_governance_as, write_governed_env
from tests.governance.gitrepo import AUTHOR, commit
from tests.governance.keys import key_of
from tests.governance.test_approvals import (
    PERMS,
    SAM,
    TOMAS,
    apply,
    approve,
    refusal,
    signed_record,
)

UNSIGNED = (
    "commit {sha} is not signed by a key in approvals/allowed_signers, and the environment "
    "requires signed commits (requireSignedCommits)"
)


@pytest.fixture
def signed_gov(governed: Path, crmctl) -> Path:
    write_governed_env(governed, signed=True)
    commit(governed, AUTHOR, "Commits must be signed", "environments", ssh_key=key_of(AUTHOR))
    approve_governance_as(crmctl, TOMAS)
    assert apply(crmctl).exit_code == 0  # v2: the new settings
    return governed


def tier_edit(root: Path, email: str, ssh_key: Path | None) -> str:
    replace_in(root / PERMS, "    Account.Customer_Tier__c: [read]\n", "    Account.Customer_Tier__c: [read, edit]\n")  # fmt: skip
    return commit(root, email, "Sales reps may edit the customer tier", PERMS, ssh_key=ssh_key)


def test_an_unsigned_commit_behind_a_change_blocks_every_approval(signed_gov, crmctl):
    sha = tier_edit(signed_gov, AUTHOR, None)
    record = signed_record(signed_gov, TOMAS, "security-officer", crmctl)
    refused = apply(crmctl)
    assert refused.exit_code == 1
    assert refused.err == refusal(
        f"PermissionSet/Sales_Rep: security-officer: tomas.berg@northwind.example does not count: "
        f"{UNSIGNED.format(sha=sha)} [{record}]"
    )


def test_a_key_not_in_the_allowed_signers_does_not_sign_for_anyone(signed_gov, crmctl):
    stranger = Path(str(key_of("mallory@example.net")))
    sha = tier_edit(signed_gov, AUTHOR, stranger)
    record = signed_record(signed_gov, TOMAS, "security-officer", crmctl)
    assert f"{UNSIGNED.format(sha=sha)} [{record}]" in apply(crmctl).err


def test_the_signer_of_a_commit_is_a_requester(signed_gov, crmctl):
    tier_edit(signed_gov, AUTHOR, key_of(TOMAS))  # Maria's change, signed by Tomas's key
    own = signed_record(signed_gov, TOMAS, "security-officer", crmctl)
    refused = apply(crmctl)
    assert (
        "does not count: tomas.berg@northwind.example is among the requesters of this change"
    ) in refused.err
    assert own in refused.err
    approve(crmctl, SAM, "security-officer")
    done = apply(crmctl)
    assert done.exit_code == 0, done.output
    assert (
        "(requested by: maria.garcia@northwind.example, tomas.berg@northwind.example)" in done.out
    )
