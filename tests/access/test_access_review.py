"""Quarterly access reviews: snapshot, signed attestations, completion, and the apply gate.

Real git, real SSH keys (tests.governance.keys), the embedded sandbox; attacks
on the attestations are made the way someone would make them by hand.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from crmctl.governance.access_review import (
    COMPLETED,
    Attestation,
    ReviewPolicy,
    read_snapshot,
    review_age_problem,
    snapshot_digest,
)
from crmctl.governance.sshsig import sign
from crmctl.history import current_actor
from crmctl.history.store import HistoryStore
from tests.governance.conftest import as_person, copy_back, governed_once
from tests.governance.gitrepo import AUTHOR, commit
from tests.governance.keys import key_of
from tests.testing.conftest import edit

TOMAS = "tomas.berg@northwind.example"  # security officer; holds the Security_Officer set
SAM = "sam.oduya@northwind.example"  # security officer; holds no access in the CRM
MARIA = AUTHOR  # a developer, not a reviewer

REVIEW_ENV = """\
description: The embedded sandbox with quarterly access reviews
provider:
  type: sandbox
  path: .crmctl/sandbox.db
manifests: [manifests]
history:
  path: .crmctl/history
  remote: {remote}
approvals:
  policyOwners: [security-officer]
  roles:
    security-officer: [tomas.berg@northwind.example, sam.oduya@northwind.example]
  accessReview:
    reviewers: [security-officer]
    maxAge: P90D
    requireBeforeApply: true
"""


@pytest.fixture(scope="session")
def reviewed_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return governed_once(tmp_path_factory, "reviewed", REVIEW_ENV)


@pytest.fixture
def reviewed(reviewed_template: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    """gov: a governed copy of the example organisation, applied once (v1), no review yet."""
    return copy_back(reviewed_template, monkeypatch)


def _sets(root: Path) -> list[str]:
    docs = yaml.safe_load_all((root / "manifests/access/permission-sets.yaml").read_text())
    return sorted((f"PermissionSet/{d['metadata']['name']}" for d in docs), key=str.lower)


def _start(crmctl, root: Path) -> str:
    r = crmctl("access", "review", "start", "-e", "gov")
    assert r.exit_code == 0, r.output
    review = r.out.split()[3]
    n = len(_sets(root))
    assert r.out.startswith(
        f"Started access review {review} of gov: {n} permission sets to attest, from the live CRM"
    )
    return review


def _attest(crmctl, who: str, *args: str):
    return crmctl("access", "review", "attest", "-e", "gov", *args, env=as_person(who))


def _status(crmctl) -> list[str]:
    r = crmctl("access", "review", "status", "-e", "gov")
    assert r.exit_code == 0, r.output
    return r.out.splitlines()


def _forge(root: Path, review: str, reviewer: str, key_owner: str | None, **changes) -> Path:
    """An attestation of every subject, written by hand and signed with `key_owner`'s key."""
    snapshot = read_snapshot(root, "gov", review)
    fields = {
        "path": "",
        "environment": "gov",
        "review": review,
        "snapshot": snapshot_digest(snapshot),
        "reviewer": reviewer,
        "role": "security-officer",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "subjects": tuple(
            (name, content["digest"], "keep") for name, content in snapshot["subjects"].items()
        ),
        **changes,
    }
    record = Attestation(**fields)
    data = record.content()
    if key_owner is not None:
        data["signature"] = sign(record.payload, key_of(key_owner))
    path = root / "approvals/gov/access-reviews" / review / f"by-hand-{reviewer.split('@')[0]}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_review_from_start_to_completion(reviewed: Path, crmctl) -> None:
    review = _start(crmctl, reviewed)
    snapshot = json.loads(
        (reviewed / f"approvals/gov/access-reviews/{review}/snapshot.json").read_text()
    )
    assert snapshot["subjects"]["PermissionSet/Security_Officer"]["members"] == [TOMAS]
    sets = _sets(reviewed)
    lines = _status(crmctl)
    assert lines[2 : 2 + len(sets)] == [f"  [ ] {s}" for s in sets]
    assert f"0 of {len(sets)} attested, {len(sets)} left." in lines
    assert "No access review of this environment was completed yet." in lines

    done = _attest(crmctl, TOMAS, "--role", "security-officer", "--all")
    assert done.exit_code == 0, done.output
    assert f"attestation (keep) of {len(sets) - 1} subjects of review {review}" in done.out
    assert "Left to another reviewer (your own access): PermissionSet/Security_Officer" in done.out
    lines = _status(crmctl)
    assert "  [ ] PermissionSet/Security_Officer" in lines
    assert f"  [x] PermissionSet/Sales_Rep: {TOMAS} (keep)" in lines

    refused = crmctl("access", "review", "complete", "-e", "gov")
    assert refused.exit_code == 1
    assert refused.err.startswith(
        f"Error: access review {review} is not complete; nothing was recorded:\n"
        "  - PermissionSet/Security_Officer: not attested\n"
    )
    own = _attest(crmctl, TOMAS, "--role", "security-officer", "PermissionSet/Security_Officer")
    assert own.exit_code == 1
    assert f"{TOMAS} holds the access of PermissionSet/Security_Officer: someone else" in own.err

    assert _attest(crmctl, SAM, "--role", "security-officer", "PermissionSet/Security_Officer").exit_code == 0  # fmt: skip
    completed = crmctl("access", "review", "complete", "-e", "gov")
    assert completed.exit_code == 0, completed.output
    assert completed.out == (
        f"Access review {review} of gov completed: {len(sets)} subjects attested by 2 signed "
        "attestations. Recorded in the history.\n"
    )
    events = HistoryStore(reviewed / ".crmctl" / "history").events("gov")
    assert [(e["event"], e["review"]) for e in events] == [
        ("access-review-started", review),
        ("access-review-completed", review),
    ]
    assert events[1]["actor"] == AUTHOR and events[1]["subjects"] == len(sets)


def test_an_apply_that_changes_access_needs_a_recent_review(reviewed: Path, crmctl) -> None:
    edit(
        reviewed / "manifests/access/permission-sets.yaml",
        "    Account.Customer_Tier__c: [read]\n",
        "    Account.Customer_Tier__c: [read, edit]\n",
    )
    commit(reviewed, AUTHOR, "Tier edits", "manifests")
    planned = crmctl("plan", "-e", "gov")
    assert planned.exit_code == 0
    assert planned.out.startswith(
        "apply will refuse: it changes access (PermissionSet), and gov requires an access "
        "review completed in the last 90 days; none was completed [warning]\n"
    )
    refused = crmctl("apply", "-e", "gov", "--auto-approve")
    assert refused.exit_code == 1
    assert (
        "Error: it changes access (PermissionSet), and gov requires an access review completed "
        "in the last 90 days; none was completed; nothing was applied\n"
        "hint: review access first: crmctl access review start -e gov" in refused.err
    )
    # An old review does not count either (written to the history as `complete` would).
    store = HistoryStore(reviewed / ".crmctl" / "history")
    old = (datetime.now(UTC) - timedelta(days=91)).isoformat(timespec="seconds")
    store.record_event(
        "gov",
        {"event": COMPLETED, "review": "20250101T000000Z", "completedAt": old},
        current_actor(reviewed),
        "an old review",
    )
    refused = crmctl("apply", "-e", "gov", "--auto-approve")
    assert "; the last, 20250101T000000Z, was completed 91 days ago; nothing was applied" in (
        refused.err
    )

    review = _start(crmctl, reviewed)
    assert _attest(crmctl, TOMAS, "--role", "security-officer", "--all").exit_code == 0
    assert _attest(crmctl, SAM, "--role", "security-officer", "--all").exit_code == 0
    assert crmctl("access", "review", "complete", "-e", "gov", "--review", review).exit_code == 0
    done = crmctl("apply", "-e", "gov", "--auto-approve")
    assert done.exit_code == 0, done.output
    assert "Recorded as v2 of gov." in done.out


def test_changes_that_do_not_touch_access_need_no_review(reviewed: Path, crmctl) -> None:
    edit(reviewed / "manifests/standard/contact.yaml", "  label: National ID", "  label: National ID number")  # fmt: skip
    commit(reviewed, AUTHOR, "Label", "manifests")
    done = crmctl("apply", "-e", "gov", "--auto-approve")
    assert done.exit_code == 0, done.output


def _not_counted(crmctl, subject: str = "PermissionSet/Sales_Rep") -> list[str]:
    lines = _status(crmctl)
    at = lines.index(f"  [ ] {subject}")
    out = []
    for line in lines[at + 1 :]:
        if not line.startswith("        "):
            break
        out.append(line.strip())
    return out


def test_an_unsigned_attestation_does_not_count(reviewed: Path, crmctl) -> None:
    review = _start(crmctl, reviewed)
    path = _forge(reviewed, review, SAM, None)
    rel = path.relative_to(reviewed).as_posix()
    assert _not_counted(crmctl) == [f"{SAM} [{rel}] does not count: it is not signed"]
    assert crmctl("access", "review", "complete", "-e", "gov").exit_code == 1


def test_a_signature_by_a_non_reviewer_does_not_count(reviewed: Path, crmctl) -> None:
    review = _start(crmctl, reviewed)
    # Maria signs with her own key, in her own name: she holds no reviewer role.
    mine = _forge(reviewed, review, MARIA, MARIA).relative_to(reviewed).as_posix()
    # Maria signs with her own key, in Sam's name.
    sams = _forge(reviewed, review, SAM, MARIA).relative_to(reviewed).as_posix()
    assert _not_counted(crmctl) == [
        f"{MARIA} [{mine}] does not count: {MARIA} does not hold the role security-officer",
        f"{SAM} [{sams}] does not count: it is signed by the key of {MARIA} in "
        f"approvals/allowed_signers, not by a key of {SAM}",
    ]
    # And the CLI refuses her outright.
    r = _attest(crmctl, MARIA, "--role", "security-officer", "--all")
    assert r.exit_code == 1
    assert r.err.startswith(
        f"Error: {MARIA} does not hold the role security-officer in gov; nothing was recorded"
    )


def test_an_attestation_of_a_stale_snapshot_does_not_count(reviewed: Path, crmctl) -> None:
    first = _start(crmctl, reviewed)
    assert _attest(crmctl, SAM, "--role", "security-officer", "--all").exit_code == 0
    [old] = (reviewed / f"approvals/gov/access-reviews/{first}").glob("*sam*.yaml")
    old_digest = snapshot_digest(read_snapshot(reviewed, "gov", first))
    # The next quarter: Sam's attestation of the old snapshot is copied into the new review.
    import time

    time.sleep(1.1)  # review ids are per second
    second = _start(crmctl, reviewed)
    copy = reviewed / f"approvals/gov/access-reviews/{second}/{old.name}"
    shutil.copy(old, copy)
    new_digest = snapshot_digest(read_snapshot(reviewed, "gov", second))
    rel = copy.relative_to(reviewed).as_posix()
    assert _not_counted(crmctl) == [
        f"{SAM} [{rel}] does not count: it attests review {first} (snapshot "
        f"{old_digest[:12]}), not this review's snapshot {new_digest[:12]}"
    ]
    # Editing it to name the new review breaks its signature.
    text = copy.read_text().replace(first, second).replace(old_digest, new_digest)
    copy.write_text(text)
    assert _not_counted(crmctl) == [
        f"{SAM} [{rel}] does not count: its signature does not match its content (it was "
        "changed after it was signed)"
    ]


def test_an_edited_snapshot_is_noticed(reviewed: Path, crmctl) -> None:
    review = _start(crmctl, reviewed)
    path = reviewed / f"approvals/gov/access-reviews/{review}/snapshot.json"
    data = json.loads(path.read_text())
    recorded = snapshot_digest(data)
    # Hide Maria's membership of Sales_Rep from the reviewers.
    members = data["subjects"]["PermissionSet/Sales_Rep"]["members"]
    members.remove(MARIA)
    path.write_text(json.dumps(data))
    assert _attest(crmctl, TOMAS, "--role", "security-officer", "--all").exit_code == 0
    assert _attest(crmctl, SAM, "--role", "security-officer", "--all").exit_code == 0
    lines = _status(crmctl)
    assert lines[2] == (
        f"  problem: the snapshot of review {review} was changed after it was started (the "
        f"history recorded {recorded[:12]}, the file is {snapshot_digest(data)[:12]})"
    )
    refused = crmctl("access", "review", "complete", "-e", "gov")
    assert refused.exit_code == 1 and "was changed after it was started" in refused.err


def test_the_age_rule_alone() -> None:
    policy = ReviewPolicy(("security-officer",), 90, True)
    now = datetime(2026, 6, 1, tzinfo=UTC)
    done = [{"event": COMPLETED, "review": "R1", "completedAt": "2026-03-03T00:00:00+00:00"}]
    assert review_age_problem(policy, ["CustomField"], [], "prod", now) is None
    assert review_age_problem(policy, ["User"], done, "prod", now) is None  # 90 days
    assert review_age_problem(policy, ["Role"], done, "prod", now + timedelta(days=1)) == (
        "it changes access (Role), and prod requires an access review completed in the last 90 "
        "days; the last, R1, was completed 91 days ago"
    )
    assert review_age_problem(ReviewPolicy(("x",)), ["User"], [], "prod", now) is None
