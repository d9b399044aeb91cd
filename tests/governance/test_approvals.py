"""Approvals end to end: real git repositories, real SSH keys, the in-process sandbox.

`gov` is a governed environment whose governance settings were approved and
applied as v1 (see conftest.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from crmctl.governance.records import ApprovedChange, write_approval
from crmctl.governance.sshsig import sign
from crmctl.plan import fingerprint
from tests.e2e.helpers import replace_in
from tests.governance.conftest import as_person
from tests.governance.gitrepo import AUTHOR, commit, git
from tests.governance.keys import key_of

TOMAS = "tomas.berg@northwind.example"  # security-officer
SAM = "sam.oduya@northwind.example"  # security-officer
AMARA = "amara.okafor@northwind.example"  # data-steward
LENA = "lena.fischer@northwind.example"  # data-steward and legal-compliance
JONAS = "jonas.lindqvist@northwind.example"  # legal-compliance
PRIYA = "priya.shah@northwind.example"  # crm-admin
PERMS = "manifests/access/permission-sets.yaml"
DUTIES = (
    "{who} is among the requesters of this change (authors, committers, co-authors and signers "
    "of its commits since the last apply), and gov separates duties (separationOfDuties)"
)
HINT = (
    "hint: crmctl approvals -e gov shows who approved what; an approver records one with: "
    "crmctl approve -e gov --role ROLE --ticket ID\n"
)


def grant_tier_edit(root: Path, email: str = AUTHOR) -> None:
    """The author lets sales reps edit the customer tier, and commits it."""
    replace_in(
        root / PERMS,
        "    Account.Customer_Tier__c: [read]\n",
        "    Account.Customer_Tier__c: [read, edit]\n",
    )
    commit(root, email, "Sales reps may edit the customer tier", PERMS)


def approve(crmctl, who: str, role: str, *args: str) -> str:
    """Record an approval signed by `who`; return the record's path (relative to the project)."""
    result = crmctl("approve", "-e", "gov", "--role", role, *args, env=as_person(who))
    assert result.exit_code == 0, result.output
    return re.search(r" in (approvals/gov/\S+\.yaml)", result.out).group(1)


def signed_record(root: Path, who: str, role: str, crmctl, ticket: str | None = None) -> str:
    """A record of the first planned change written by hand (as an older or a modified crmctl
    would) and signed with `who`'s key; returns its path."""
    change = json.loads(crmctl("plan", "-e", "gov", "--format", "json").out)["changes"][0]
    entry = ApprovedChange(
        change["address"], change["action"], fingerprint(change["after"]), change["liveFingerprint"]
    )
    path = write_approval(
        root, "gov", who, role, [entry], ticket, sign=lambda payload: sign(payload, key_of(who))
    )
    return path.relative_to(root).as_posix()


def apply(crmctl, *args: str):
    return crmctl("apply", "-e", "gov", "--auto-approve", *args)


def refusal(*problems: str) -> str:
    n = len(problems)
    head = (
        "1 required approval is missing or does not count"
        if n == 1
        else f"{n} required approvals are missing or do not count"
    )
    return f"Error: {head}; nothing was applied:\n" + "".join(f"  - {p}\n" for p in problems) + HINT


def test_an_approval_by_the_right_role_lets_apply_go_ahead(governed, crmctl):
    grant_tier_edit(governed)
    planned = crmctl("plan", "-e", "gov")
    assert planned.exit_code == 0, planned.output
    assert planned.out == (
        "crmctl will make these changes in gov (sandbox .crmctl/sandbox.db (in-process)):\n"
        "\n"
        "  ~ PermissionSet/Sales_Rep\n"
        '      ~ fields.Account.Customer_Tier__c: ["read"] -> ["read", "edit"]\n'
        "      approvals required: security-officer (requested by: maria.garcia@northwind.example)\n"
        "        [ ] security-officer: missing\n"
        "\n"
        "Approvals: 1 change needs approvals: 0 approved, 1 waiting. "
        "Apply refuses until they are complete (crmctl approvals -e gov).\n"
        "Plan: 0 to add, 1 to change, 0 to destroy.\n"
    )
    refused = apply(crmctl)
    assert refused.exit_code == 1
    assert refused.err == refusal("PermissionSet/Sales_Rep: security-officer: missing")

    result = crmctl(
        "approve", "-e", "gov", "--role", "security-officer", "--ticket", "CHG-1234",
        env=as_person(TOMAS),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    record = re.search(r" in (approvals/gov/\S+\.yaml)", result.out).group(1)
    # The governed fixture approved as Tomas too: within the same second the name gets "-2".
    assert re.fullmatch(
        r"approvals/gov/\d{8}T\d{6}Z-tomas\.berg-security-officer(-\d+)?\.yaml", record
    )
    assert result.out == (
        f"Recorded {TOMAS}'s approval as security-officer of 1 change in {record}:\n"
        "  ~ PermissionSet/Sales_Rep\n"
        "It is signed with your key and counts wherever it is read; commit it to the pull request:\n"
        f'  git add {record} && git commit -m "Approve CHG-1234 as security-officer"\n'
    )
    change = json.loads(crmctl("plan", "-e", "gov", "--format", "json").out)["changes"][0]
    data = yaml.safe_load((governed / record).read_text())
    assert data == {
        "apiVersion": "crmctl/v1",
        "kind": "Approval",
        "environment": "gov",
        "approver": TOMAS,
        "role": "security-officer",
        "at": data["at"],
        "ticket": "CHG-1234",
        "comment": None,
        "changes": [
            {
                "address": "PermissionSet/Sales_Rep",
                "action": "update",
                "desired": fingerprint(change["after"]),
                "live": change["liveFingerprint"],
            }
        ],
        "signature": data["signature"],
    }
    assert data["signature"].startswith("-----BEGIN SSH SIGNATURE-----\n")
    commit(governed, AUTHOR, "Approve CHG-1234", record)  # whoever commits it: the key says who

    approved = crmctl("plan", "-e", "gov", "--format", "json")
    state = json.loads(approved.out)["changes"][0]["approvals"]
    assert state["satisfied"] is True
    assert state["lines"] == [
        {
            "role": "security-officer",
            "state": "approved",
            "approver": TOMAS,
            "ticket": "CHG-1234",
            "record": record,
            "recordId": state["lines"][0]["recordId"],
            "detail": "",
        }
    ]
    done = apply(crmctl)
    assert done.exit_code == 0, done.output
    assert "        [x] security-officer: tomas.berg@northwind.example (CHG-1234)\n" in done.out
    assert done.out.endswith(
        "Apply complete: 0 added, 1 changed, 0 destroyed. Recorded as v2 of gov.\n"
    )
    assert crmctl("plan", "-e", "gov").out == "No changes. The CRM matches the manifests.\n"


def test_the_markdown_plan_carries_an_approvals_checklist(governed, crmctl):
    replace_in(governed / PERMS, "    Invoice__c.Status__c: [read]\n", "    Invoice__c.Status__c: [read]\n    Contact.Personal_Mobile__c: [read]\n")  # fmt: skip
    commit(governed, AUTHOR, "Sales reps see personal mobiles", PERMS)
    commit(
        governed,
        TOMAS,
        "Approve",
        approve(crmctl, TOMAS, "security-officer", "--ticket", "CHG-1234"),
    )
    markdown = crmctl("plan", "-e", "gov", "--format", "markdown")
    assert markdown.exit_code == 0, markdown.output
    assert (
        "#### Approvals\n"
        "\n"
        "**~ `PermissionSet/Sales_Rep`** (requested by: maria.garcia@northwind.example)\n"
        "\n"
        "- ✅ security-officer: tomas.berg@northwind.example (CHG-1234)\n"
        "- ⏳ data-steward: missing\n"
        "\n"
        "Approvals: 1 change needs approvals: 0 approved, 1 waiting. "
        "Apply refuses until they are complete (crmctl approvals -e gov).\n"
    ) in markdown.out


def test_a_missing_role_is_refused(governed, crmctl):
    # Granting read on a PII field needs the security officer and the data steward.
    replace_in(governed / PERMS, "    Invoice__c.Status__c: [read]\n", "    Invoice__c.Status__c: [read]\n    Contact.Personal_Mobile__c: [read]\n")  # fmt: skip
    commit(governed, AUTHOR, "Sales reps see personal mobiles", PERMS)
    commit(governed, TOMAS, "Approve", approve(crmctl, TOMAS, "security-officer"))
    refused = apply(crmctl)
    assert refused.exit_code == 1
    assert refused.err == refusal("PermissionSet/Sales_Rep: data-steward: missing")
    assert (
        "      approvals required: security-officer, data-steward (requested by: maria.garcia@northwind.example)\n"
        "        [x] security-officer: tomas.berg@northwind.example\n"
        "        [ ] data-steward: missing\n"
    ) in refused.out
    commit(governed, AMARA, "Approve", approve(crmctl, AMARA, "data-steward"))
    assert apply(crmctl).exit_code == 0


def test_an_edit_after_the_approval_makes_it_stale(governed, crmctl):
    grant_tier_edit(governed)
    commit(
        governed,
        TOMAS,
        "Approve",
        approve(crmctl, TOMAS, "security-officer", "--ticket", "CHG-1234"),
    )
    replace_in(governed / PERMS, "label: Sales Representative", "label: Sales Rep")
    commit(governed, AUTHOR, "Shorter label", PERMS)
    refused = apply(crmctl)
    assert refused.exit_code == 1
    assert refused.err == refusal(
        "PermissionSet/Sales_Rep: security-officer: stale: tomas.berg@northwind.example (CHG-1234) "
        "approved an earlier version of the desired spec"
    )


def test_a_change_of_the_live_resource_makes_the_approval_stale(governed, crmctl):
    from crmctl.sandbox.store import SandboxStore

    grant_tier_edit(governed)
    commit(governed, TOMAS, "Approve", approve(crmctl, TOMAS, "security-officer"))
    store = SandboxStore.open(governed / ".crmctl" / "sandbox.db")
    try:
        spec = {
            i["name"]: i["spec"] for i in store.list_all_config() if i["kind"] == "PermissionSet"
        }
        store.put_config(
            "PermissionSet", "Sales_Rep", {**spec["Sales_Rep"], "label": "By hand"}, "x@y.z"
        )
    finally:
        store.close()
    refused = apply(crmctl)
    assert refused.err == refusal(
        "PermissionSet/Sales_Rep: security-officer: stale: tomas.berg@northwind.example "
        "approved it against a different live state"
    )


def test_self_approval_does_not_count_under_separation_of_duties(governed, crmctl):
    grant_tier_edit(governed, email=TOMAS)  # a security officer authors the change
    own = crmctl("approve", "-e", "gov", "--role", "security-officer", env={"CRMCTL_ACTOR": TOMAS})
    assert own.exit_code == 1
    assert own.err == (
        f"Skipped PermissionSet/Sales_Rep: {DUTIES.format(who=TOMAS)}.\n"
        "Error: nothing left to approve: separation of duties keeps you from every change that "
        "needs security-officer\n"
    )
    # A record written and signed by hand (or by an older crmctl) is refused at apply time.
    record = signed_record(governed, TOMAS, "security-officer", crmctl, "CHG-9")
    commit(governed, TOMAS, "Approve my own change", record)
    refused = apply(crmctl)
    assert refused.err == refusal(
        "PermissionSet/Sales_Rep: security-officer: tomas.berg@northwind.example (CHG-9) does not "
        f"count: {DUTIES.format(who=TOMAS)} [{record}]"
    )
    commit(governed, SAM, "Approve", approve(crmctl, SAM, "security-officer"))
    assert apply(crmctl).exit_code == 0


def test_who_commits_a_signed_record_does_not_matter_and_it_counts_uncommitted(governed, crmctl):
    grant_tier_edit(governed)
    record = approve(crmctl, TOMAS, "security-officer", "--ticket", "CHG-1234")
    listed = crmctl("approvals", "-e", "gov")  # not committed: the signature is what counts
    assert "        [x] security-officer: tomas.berg@northwind.example (CHG-1234)\n" in listed.out
    commit(governed, AUTHOR, "Approved (the requester commits it)", record)
    done = apply(crmctl)
    assert done.exit_code == 0, done.output


def test_a_record_changed_after_it_was_signed_does_not_count(governed, crmctl):
    grant_tier_edit(governed)
    record = approve(crmctl, TOMAS, "security-officer")
    commit(governed, TOMAS, "Approve", record)
    replace_in(governed / record, "ticket: null", "ticket: CHG-1")
    edited = apply(crmctl)
    assert edited.err == refusal(
        "PermissionSet/Sales_Rep: security-officer: tomas.berg@northwind.example (CHG-1) does not "
        f"count: its signature does not match its content (it was changed after it was signed) "
        f"[{record}]"
    )
    commit(governed, TOMAS, "Add the ticket", record)  # committing it by Tomas changes nothing
    assert apply(crmctl).err == edited.err


def test_an_unsigned_record_does_not_count(governed, crmctl):
    grant_tier_edit(governed)
    change = json.loads(crmctl("plan", "-e", "gov", "--format", "json").out)["changes"][0]
    entry = ApprovedChange(
        change["address"], "update", fingerprint(change["after"]), change["liveFingerprint"]
    )
    path = write_approval(governed, "gov", TOMAS, "security-officer", [entry], "CHG-1234")
    record = path.relative_to(governed).as_posix()
    commit(governed, TOMAS, "Approve", record)  # committed by Tomas himself: still no signature
    refused = apply(crmctl)
    assert refused.err == refusal(
        "PermissionSet/Sales_Rep: security-officer: tomas.berg@northwind.example (CHG-1234) does "
        "not count: it is not signed, and gov counts only signed approvals (crmctl approve signs "
        f"with your SSH key) [{record}]"
    )


def test_an_approver_without_the_role_is_refused(governed, crmctl):
    grant_tier_edit(governed)
    refused = crmctl(
        "approve", "-e", "gov", "--role", "security-officer", env={"CRMCTL_ACTOR": JONAS}
    )
    assert refused.exit_code == 1
    assert refused.err == (
        "Error: jonas.lindqvist@northwind.example does not hold the role security-officer in gov's "
        "policy; nothing was recorded\n"
        "hint: holders of security-officer: tomas.berg@northwind.example, sam.oduya@northwind.example\n"
    )
    rel = signed_record(governed, JONAS, "security-officer", crmctl)
    commit(governed, JONAS, "I approve", rel)
    assert apply(crmctl).err == refusal(
        "PermissionSet/Sales_Rep: security-officer: jonas.lindqvist@northwind.example does not "
        "count: jonas.lindqvist@northwind.example does not hold the role security-officer in "
        f"gov's policy [{rel}]"
    )


def test_min_approvers_needs_two_distinct_people(governed, crmctl):
    policies = "manifests/retention/policies.yaml"
    replace_in(governed / policies, "retain: P2Y", "retain: P3Y")
    commit(governed, AUTHOR, "Keep leads three years", policies)
    # Lena holds both roles the rule names, but one person is not two approvers.
    commit(governed, LENA, "Approve", approve(crmctl, LENA, "legal-compliance"))
    commit(governed, LENA, "Approve", approve(crmctl, LENA, "data-steward"))
    refused = apply(crmctl)
    assert refused.err == refusal(
        "RetentionPolicy/Unconverted_Leads: rule retention: needs 2 distinct approvers "
        "(legal-compliance, data-steward); 1 so far"
    )
    commit(governed, AMARA, "Approve", approve(crmctl, AMARA, "data-steward"))
    done = apply(crmctl)
    assert done.exit_code == 0, done.output
    assert (
        "  ~ RetentionPolicy/Unconverted_Leads\n"
        '      ~ retain: "P2Y" -> "P3Y"\n'
        "      approvals required: legal-compliance, data-steward (requested by: maria.garcia@northwind.example)\n"
        "        [x] legal-compliance: lena.fischer@northwind.example\n"
        "        [x] data-steward: amara.okafor@northwind.example\n"
        "        [x] data-steward: lena.fischer@northwind.example\n"
    ) in done.out


def test_a_saved_plan_has_its_approvals_verified_again_at_apply_time(governed, crmctl):
    grant_tier_edit(governed)
    assert crmctl("plan", "-e", "gov", "--out", "early.json").exit_code == 0
    record = approve(crmctl, TOMAS, "security-officer")
    commit(governed, TOMAS, "Approve", record)
    assert crmctl("plan", "-e", "gov", "--out", "approved.json").exit_code == 0
    git(governed, "rm", "-q", record, email=TOMAS)
    git(governed, "commit", "-q", "-m", "Withdraw my approval", email=TOMAS)
    withdrawn = crmctl("apply", "approved.json")
    assert withdrawn.exit_code == 1
    assert withdrawn.err == refusal("PermissionSet/Sales_Rep: security-officer: missing")
    commit(governed, SAM, "Approve", approve(crmctl, SAM, "security-officer"))
    done = crmctl("apply", "early.json")  # made before any approval existed
    assert done.exit_code == 0, done.output


def test_a_delete_is_requested_by_whoever_committed_to_the_manifests_since_the_last_apply(
    governed, crmctl
):
    extra = governed / "manifests" / "access" / "auditor.yaml"
    extra.write_text(
        "apiVersion: crmctl/v1\nkind: Role\nmetadata: {name: Auditor, owner: security}\n"
        "spec: {label: Auditor, parent: CEO}\n"
    )
    commit(governed, AUTHOR, "An auditor role", "manifests")
    commit(governed, TOMAS, "Approve", approve(crmctl, TOMAS, "security-officer"))
    assert apply(crmctl).exit_code == 0
    extra.unlink()
    uncommitted = crmctl("plan", "-e", "gov", env={"CRMCTL_ACTOR": PRIYA})
    assert (
        "  - Role/Auditor\n"
        "      approvals required: security-officer, crm-admin (requested by: unknown)\n"
    ) in uncommitted.out
    refused = crmctl("approve", "-e", "gov", "--role", "crm-admin", env=as_person(PRIYA))
    assert refused.err == (
        "Skipped Role/Auditor: manifests/access/auditor.yaml differs from the last commit "
        "(uncommitted or hidden edits), so who wrote it cannot be known: commit it.\n"
        "Error: nothing left to approve: separation of duties keeps you from every change that "
        "needs crm-admin\n"
    )
    commit(governed, JONAS, "No auditor after all", "manifests")
    approve(crmctl, PRIYA, "crm-admin")
    committed = crmctl("plan", "-e", "gov", env={"CRMCTL_ACTOR": PRIYA})
    assert (
        "      approvals required: security-officer, crm-admin (requested by: jonas.lindqvist@northwind.example)\n"
        # Tomas's approval of the create was spent by the apply that created it.
        "        [ ] security-officer: missing\n"
        "        [x] crm-admin: priya.shah@northwind.example\n"
    ) in committed.out


def test_approvals_lists_who_approved_what(governed, crmctl):
    grant_tier_edit(governed)
    policies = "manifests/retention/policies.yaml"
    replace_in(governed / policies, "retain: P2Y", "retain: P3Y")
    commit(governed, AUTHOR, "Keep leads three years", policies)
    commit(
        governed, TOMAS, "Approve", approve(crmctl, TOMAS, "security-officer", "--ticket", "CHG-7")
    )
    approve(crmctl, JONAS, "legal-compliance", "--ticket", "CHG-7")  # signed, not committed
    listed = crmctl("approvals", "-e", "gov")
    assert listed.exit_code == 0, listed.output
    assert listed.out == (
        "Approvals for gov:\n"
        "\n"
        "  ~ RetentionPolicy/Unconverted_Leads\n"
        "      approvals required: legal-compliance, data-steward (requested by: maria.garcia@northwind.example)\n"
        "        [x] legal-compliance: jonas.lindqvist@northwind.example (CHG-7)\n"
        "        [ ] data-steward: missing\n"
        "        [ ] rule retention: needs 2 distinct approvers (legal-compliance, data-steward); 1 so far\n"
        "  ~ PermissionSet/Sales_Rep\n"
        "      approvals required: security-officer (requested by: maria.garcia@northwind.example)\n"
        "        [x] security-officer: tomas.berg@northwind.example (CHG-7)\n"
        "\n"
        "Approvals: 2 changes need approvals: 1 approved, 1 waiting. "
        "Apply refuses until they are complete (crmctl approvals -e gov).\n"
    )


def test_an_environment_without_rules_needs_no_approval(project, crmctl):
    assert crmctl("apply", "--auto-approve").exit_code == 0
    replace_in(project / PERMS, "label: Sales Representative", "label: Sales Rep")
    done = crmctl("apply", "--auto-approve")
    assert done.exit_code == 0, done.output
    assert "approvals" not in done.out.lower()


def test_approve_signs_with_the_key_git_signs_commits_with(governed, crmctl):
    grant_tier_edit(governed)
    git(governed, "config", "gpg.format", "ssh")
    git(governed, "config", "user.signingkey", str(key_of(TOMAS)))
    result = crmctl(
        "approve", "-e", "gov", "--role", "security-officer", env={"CRMCTL_ACTOR": TOMAS}
    )
    assert result.exit_code == 0, result.output
    assert apply(crmctl).exit_code == 0


def test_approve_without_any_key_says_how_to_give_one(governed, crmctl):
    grant_tier_edit(governed)
    result = crmctl(
        "approve", "-e", "gov", "--role", "security-officer", env={"CRMCTL_ACTOR": TOMAS}
    )
    assert result.exit_code == 1
    assert result.err == (
        "Error: approvals are signed with your SSH key, and no key was given; nothing was recorded\n"
        "hint: pass --key ~/.ssh/id_ed25519, set $CRMCTL_SIGNING_KEY, or configure git: "
        "git config gpg.format ssh && git config user.signingkey ~/.ssh/id_ed25519\n"
    )


def test_unsigned_approvals_count_only_where_allowed_and_then_by_git_authorship(governed, crmctl):
    from tests.governance.conftest import approve_governance_as

    env = governed / "environments" / "gov.yaml"
    replace_in(env, "  separationOfDuties: true\n", "  separationOfDuties: true\n  allowUnsignedApprovals: true\n")  # fmt: skip
    commit(governed, AUTHOR, "Allow unsigned approvals", "environments")
    approve_governance_as(crmctl, SAM)
    assert apply(crmctl).exit_code == 0  # v2: the owners approved the relaxed policy
    grant_tier_edit(governed)
    unsigned = crmctl(
        "approve", "-e", "gov", "--role", "security-officer", env={"CRMCTL_ACTOR": TOMAS}
    )
    assert unsigned.exit_code == 0, unsigned.output
    record = re.search(r" in (approvals/gov/\S+\.yaml)", unsigned.out).group(1)
    assert "It is not signed: it counts once you commit it yourself:\n" in unsigned.out
    sha = commit(governed, AUTHOR, "Approve (committed by the requester)", record)
    refused = apply(crmctl)
    assert refused.err == refusal(
        f"PermissionSet/Sales_Rep: security-officer: {TOMAS} does not count: the commit that "
        f"added it ({sha}) was authored by {AUTHOR}, not by {TOMAS} [{record}]"
    )
    git(governed, "rm", "-q", record, email=TOMAS)
    git(governed, "commit", "-q", "-m", "Withdraw", email=TOMAS)
    again = crmctl(
        "approve", "-e", "gov", "--role", "security-officer", env={"CRMCTL_ACTOR": TOMAS}
    )
    record = re.search(r" in (approvals/gov/\S+\.yaml)", again.out).group(1)
    commit(governed, TOMAS, "Approve", record)
    assert apply(crmctl).exit_code == 0
