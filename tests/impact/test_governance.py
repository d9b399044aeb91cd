"""Policy rules with an `impact` threshold: approval needed above it, not below it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crmctl.governance.matching import impact_crosses, rule_matches
from crmctl.governance.policy import Rule
from crmctl.impact import ChangeImpact, Finding
from crmctl.plan import Action, Change

POLICY = """
approvals:
  separationOfDuties: false
  roles:
    data-steward: [amara.okafor@example.com]
  rules:
    - name: data-impact
      description: A rule that rejects more than {percent}% of an object's records.
      match:
        kinds: [ValidationRule]
        impact: {{percent: {percent}}}
      require: [data-steward]
"""


def with_policy(project: Path, percent: int) -> None:
    env = project / "environments" / "local.yaml"
    env.write_text(env.read_text() + POLICY.format(percent=percent), encoding="utf-8")


def requires(crmctl) -> dict[str, list[str]]:
    r = crmctl("plan", "--format", "json")
    assert r.exit_code == 0, r.output
    return {c["address"]: c["requires"] for c in json.loads(r.out)["changes"] if c["requires"]}


def test_a_rule_rejecting_more_than_the_threshold_needs_the_approval(impact_project, crmctl):
    with_policy(impact_project, 25)  # both rules reject 3 of 10 contacts: 30%
    assert requires(crmctl) == {
        "ValidationRule/Contact.Email_Needed": ["data-steward"],
        "ValidationRule/Contact.Name_Short": ["data-steward"],
    }
    r = crmctl("apply", "--auto-approve")
    assert r.exit_code == 1
    assert "Error: 2 required approvals are missing or do not count; nothing was applied:" in r.err
    assert "ValidationRule/Contact.Email_Needed" in r.err and "data-steward" in r.err
    after = crmctl("plan", "--format", "json")
    assert len(json.loads(after.out)["changes"]) == 10  # nothing was applied


def test_below_the_threshold_no_approval_is_needed(impact_project, crmctl):
    with_policy(impact_project, 35)
    assert requires(crmctl) == {}
    r = crmctl("apply", "--auto-approve")
    assert r.exit_code == 0, r.output
    assert "Apply complete:" in r.out


def finding(count: int, total: int, effect: str = "rejects") -> Finding:
    return Finding(effect, "Contact", count, total, "")


RULE = Rule("data-impact", ("data-steward",), impact_percent=1.0, impact_records=500)
CHANGE = Change("ValidationRule", "Contact.X", Action.CREATE, None, {}, [], None, "")


@pytest.mark.parametrize(
    ("findings", "crosses"),
    [
        ([finding(1, 100)], False),  # exactly 1% is not more than 1%
        ([finding(2, 100)], True),
        ([finding(501, 1_000_000)], True),  # 0.05%, but more than 500 records
        ([finding(0, 0, "not-evaluated")], True),  # a rule that cannot run: unknown
        ([finding(90, 100, "no-longer-rejects")], False),  # fewer rejections harm nobody
        ([], False),
    ],
)
def test_thresholds(findings: list[Finding], crosses: bool) -> None:
    assert impact_crosses(RULE, ChangeImpact(CHANGE.address, "+", findings)) is crosses


def test_an_unmeasured_impact_matches_and_an_untouched_kind_does_not() -> None:
    assert rule_matches(RULE, CHANGE, {}, None) is True
    assert rule_matches(RULE, CHANGE, {}, {}) is False
