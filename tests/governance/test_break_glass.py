"""Break-glass: an emergency apply without the missing approvals, signed, recorded and reviewed."""

from __future__ import annotations

import re

import yaml

from crmctl.governance.breakglass import break_glass_status
from crmctl.governance.facts import GitFacts
from crmctl.governance.policy import Policy
from crmctl.governance.records import ApprovalRecord, break_glass_from_dict
from tests.governance.conftest import as_person
from tests.governance.gitrepo import AUTHOR, commit
from tests.governance.test_approvals import PRIYA, TOMAS, approve, grant_tier_edit


def break_glass(crmctl, who: str, *args: str):
    return crmctl(
        "apply", "-e", "gov", "--auto-approve", "--break-glass", *args, env=as_person(who)
    )


def test_a_break_glass_apply_is_signed_recorded_listed_and_reviewed(governed, crmctl):
    grant_tier_edit(governed)
    done = break_glass(crmctl, PRIYA, "--reason", "Sales cannot fix tiers during the outage")
    assert done.exit_code == 0, done.output
    path = re.search(r"A copy is in (approvals/gov/break-glass/\S+\.yaml):", done.out).group(1)
    assert re.fullmatch(r"approvals/gov/break-glass/\d{8}T\d{6}Z-priya\.shah\.yaml", path)
    flag_id = path.rsplit("/", 1)[1].removesuffix(".yaml")
    assert (
        "Breaking the glass: applying without 1 approval; the apply will be recorded for review.\n"
    ) in done.out
    assert done.out.endswith(
        "Apply complete: 0 added, 1 changed, 0 destroyed. Recorded as v2 of gov.\n"
        "Break-glass apply v2 is recorded in the history and listed by crmctl approvals until it "
        f"is reviewed (due within 2 days). A copy is in {path}:\n"
        f'  git add {path} && git commit -m "Break glass in gov: Sales cannot fix tiers during the outage"\n'
    )
    data = yaml.safe_load((governed / path).read_text())
    assert data["signature"].startswith("-----BEGIN SSH SIGNATURE-----")
    meta = crmctl("show", "-e", "gov", "v2")
    assert (
        f"Break-glass: {flag_id} by {PRIYA} ('Sales cannot fix tiers during the outage'), "
        f"without security-officer; review by {data['reviewBy']}\n"
    ) in meta.out
    assert {k: data[k] for k in ("kind", "environment", "actor", "role", "reason", "version", "status", "missing")} == {
        "kind": "BreakGlass",
        "environment": "gov",
        "actor": PRIYA,
        "role": "crm-admin",
        "reason": "Sales cannot fix tiers during the outage",
        "version": 2,
        "status": "applied",
        "missing": [
            {
                "address": "PermissionSet/Sales_Rep",
                "role": "security-officer",
                "problem": "security-officer: missing",
            }
        ],
    }  # fmt: skip
    assert [c["address"] for c in data["changes"]] == ["PermissionSet/Sales_Rep"]

    waiting = (
        "No change to gov needs an approval.\n"
        "\n"
        "Break-glass applies awaiting review:\n"
        f"  {flag_id}: v2 (applied) by {PRIYA} at {data['at']}: 'Sales cannot fix tiers during the outage'\n"
        f"      review by {data['reviewBy']}; waiting for: security-officer\n"
        f"      review it: crmctl approve -e gov --role ROLE --review {flag_id}\n"
        "\n"
        "1 break-glass apply awaiting review.\n"
    )
    listed = crmctl("approvals", "-e", "gov")
    assert listed.exit_code == 0, listed.output
    assert listed.out == waiting
    (governed / path).unlink()  # the history, not the file, lists it
    assert crmctl("approvals", "-e", "gov").out == waiting

    own = crmctl(
        "approve", "-e", "gov", "--role", "crm-admin", "--review", flag_id, env=as_person(PRIYA)
    )
    assert own.exit_code == 1
    assert own.err == (
        f"Error: {flag_id} did not go without a crm-admin approval; it needs: security-officer\n"
    )
    review = approve(crmctl, TOMAS, "security-officer", "--review", flag_id, "--ticket", "INC-7")
    text = (governed / review).read_text()
    (governed / review).write_text(text.replace("ticket: INC-7", "ticket: INC-8"))
    listed = crmctl("approvals", "-e", "gov")
    assert (
        "      does not count: security-officer: tomas.berg@northwind.example: its signature does "
        f"not match its content (it was changed after it was signed) [{review}]\n"
    ) in listed.out
    (governed / review).write_text(text)
    commit(governed, AUTHOR, "Reviewed", review)  # whoever commits it
    assert crmctl("approvals", "-e", "gov").out == "No change to gov needs an approval.\n"


def test_only_the_break_glass_role_may_break_the_glass(governed, crmctl):
    grant_tier_edit(governed)
    refused = break_glass(crmctl, AUTHOR, "--reason", "in a hurry")
    assert refused.exit_code == 1
    assert refused.err == (
        "Error: maria.garcia@northwind.example does not hold the break-glass role crm-admin in gov's "
        "policy; nothing was applied\n"
        "hint: holders of crm-admin: priya.shah@northwind.example\n"
    )
    no_reason = break_glass(crmctl, PRIYA)
    assert no_reason.err == (
        "Error: --break-glass needs --reason saying why the approvals cannot wait; nothing was applied\n"
    )
    assert not (governed / "approvals" / "gov" / "break-glass").exists()


def test_break_glass_is_refused_where_the_policy_does_not_enable_it(governed, crmctl):
    env = governed / "environments" / "gov.yaml"
    env.write_text(env.read_text().replace("    enabled: true\n", "    enabled: false\n"))
    # An uncommitted policy edit is itself a change the policy owners must approve,
    # but the break-glass refusal comes first.
    grant_tier_edit(governed)
    refused = break_glass(crmctl, PRIYA, "--reason", "outage")
    assert refused.err == (
        "Error: break-glass is not enabled for gov; nothing was applied\n"
        "hint: set approvals.breakGlass.enabled and .role in the environment file of gov\n"
    )


def test_a_late_review_is_overdue():
    flag = break_glass_from_dict(
        {
            "id": "20250101T000000Z-priya.shah",
            "environment": "gov",
            "actor": PRIYA,
            "role": "crm-admin",
            "at": "2025-01-01T00:00:00+00:00",
            "reason": "outage",
            "reviewBy": "2025-01-03T00:00:00+00:00",
            "changes": [],
            "missing": [{"address": "Role/CEO", "role": "security-officer", "problem": "missing"}],
        },
        4,
        "applied",
    )
    policy = Policy.from_section("gov", {"roles": {"security-officer": [TOMAS]}})
    review = ApprovalRecord(
        "approvals/gov/r.yaml", "gov", TOMAS, "security-officer", "2025-01-05", reviews=flag.id,
        signature="-----BEGIN SSH SIGNATURE-----\n",
    )  # fmt: skip
    verified = GitFacts(True, signatures={"approvals/gov/r.yaml": None})
    early = break_glass_status([flag], [], policy, verified, "2025-01-02T00:00:00+00:00")
    late = break_glass_status([flag], [], policy, verified, "2025-01-04T00:00:00+00:00")
    done = break_glass_status([flag], [review], policy, verified, "2025-01-05T00:00:00+00:00")
    assert (early[0].overdue, early[0].waiting) == (False, ["security-officer"])
    assert (late[0].overdue, late[0].waiting) == (True, ["security-officer"])
    assert (done[0].done, done[0].reviewed, done[0].overdue) == (
        True,
        {"security-officer": TOMAS},
        False,
    )
