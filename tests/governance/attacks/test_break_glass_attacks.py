"""Break-glass cannot be claimed by a name or hidden by deleting a file."""

from __future__ import annotations

import re

from tests.governance.conftest import as_person
from tests.governance.gitrepo import AUTHOR
from tests.governance.keys import key_of
from tests.governance.test_approvals import PRIYA, apply, grant_tier_edit


def test_claiming_the_break_glass_role_with_crmctl_actor_is_refused(governed, crmctl):
    grant_tier_edit(governed)
    # Maria says she is Priya, but can only sign with her own key.
    refused = crmctl(
        "apply", "-e", "gov", "--auto-approve", "--break-glass", "--reason", "outage",
        env={"CRMCTL_ACTOR": PRIYA, "CRMCTL_SIGNING_KEY": str(key_of(AUTHOR))},
    )  # fmt: skip
    assert refused.exit_code == 1
    assert refused.err.startswith(
        f"Error: signing as {PRIYA} with {key_of(AUTHOR)} would not count: it would be signed by "
        f"the key of {AUTHOR} in approvals/allowed_signers, not by a key of {PRIYA}; nothing was "
        "recorded\n"
    )
    assert "Apply complete" not in refused.out
    assert "security-officer: missing" in apply(crmctl).err  # still not applied


def test_deleting_the_break_glass_file_does_not_hide_the_apply(governed, crmctl):
    grant_tier_edit(governed)
    done = crmctl(
        "apply", "-e", "gov", "--auto-approve", "--break-glass", "--reason", "outage",
        env=as_person(PRIYA),
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    path = re.search(r"A copy is in (approvals/gov/break-glass/\S+\.yaml):", done.out).group(1)
    (governed / path).unlink()
    (governed / path).parent.rmdir()
    listed = crmctl("approvals", "-e", "gov")
    assert "1 break-glass apply awaiting review.\n" in listed.out
    assert "waiting for: security-officer\n" in listed.out


def test_a_fresh_runner_sees_the_break_glass_apply_through_the_history_remote(governed, crmctl):
    import shutil

    grant_tier_edit(governed)
    done = crmctl(
        "apply", "-e", "gov", "--auto-approve", "--break-glass", "--reason", "outage",
        env=as_person(PRIYA),
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    shutil.rmtree(governed / ".crmctl" / "history")  # a new CI runner has no local history
    assert "1 break-glass apply awaiting review.\n" in crmctl("approvals", "-e", "gov").out
