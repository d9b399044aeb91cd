"""The plan comment: bounded in size, blocking problems and governed changes first."""

from __future__ import annotations

import json

from crmctl.ci import PLAN_MARKER
from crmctl.errors import Diagnostic, Severity, SourceLocation
from crmctl.plan import Action, Change, Plan
from crmctl.plan.approval_state import MISSING, ApprovalLine, ApprovalState
from crmctl.plan.diff import FieldDiff
from crmctl.plan.encode import plan_to_dict
from crmctl.render.comment_view import COMMENT_LIMIT, plan_comment


def field_change(i: int, governed: bool = False) -> Change:
    after = {"type": "Text", "label": f"Field {i}", "length": 80}
    return Change(
        kind="CustomField",
        name=f"Account.F{i:04d}__c",
        action=Action.UPDATE,
        before={**after, "label": f"Old {i}"},
        after=after,
        diffs=[FieldDiff("label", f"Old {i}", f"Field {i}", "changed")] * 3,
        live_fingerprint=None,
        reason="",
        approvals=ApprovalState(
            ["data-steward"],
            ["personal-data"],
            [ApprovalLine("data-steward", MISSING, detail="missing")],
            ["needs data-steward"],
        )
        if governed
        else None,
    )


def big_plan(n: int = 2962) -> Plan:
    plan = Plan(environment="prod")
    plan.changes = [field_change(i) for i in range(n - 2)]
    plan.changes += [field_change(n - 2, governed=True), field_change(n - 1, governed=True)]
    return plan


def test_a_big_plan_is_shortened_below_the_limit_keeping_what_reviewers_decide_on():
    plan = big_plan()
    text = plan_comment(plan, 0, "", "https://ci.example/full", PLAN_MARKER)
    assert len(text) <= COMMENT_LIMIT
    lines = text.splitlines()
    assert lines[:4] == [
        PLAN_MARKER,
        "### crmctl plan for `prod`",
        "",
        "**Plan: 0 to add, 2962 to change, 0 to destroy.**",
    ]
    governed = lines.index("#### Changes that need approval")
    assert lines.index("#### Changes") > governed
    assert "**~ `CustomField/Account.F2961__c`**" in lines[governed:]
    assert "- ⏳ data-steward: missing" in lines
    # The table takes the room first; nothing is cut in the middle of a block.
    assert text.count("<details>") == text.count("</details>")
    assert text.count("```") % 2 == 0
    shown = sum(line.startswith("| ~ |") for line in lines)
    assert 0 < shown < 2962
    assert lines[-2] == (
        f"**Shortened to fit a comment:** left out {2962 - shown:,} of 2,962 changes in the "
        f"table; the diffs of 2,962 changes."
    )
    assert lines[-1] == "Everything is in [the full plan](https://ci.example/full)."


def test_a_failed_plan_gets_the_banner_and_its_reasons_first():
    plan = Plan(environment="prod")
    plan.changes = [field_change(1)]
    plan.diagnostics = [
        Diagnostic(
            "unknown field type 'Money'",
            SourceLocation("manifests/objects/invoice.yaml", 36),
            "CustomField/Invoice__c.Amount__c",
            severity=Severity.ERROR,
        )
    ]
    text = plan_comment(plan, 1, "", None, PLAN_MARKER)
    lines = text.splitlines()
    assert lines[:6] == [
        PLAN_MARKER,
        "### crmctl plan for `prod`",
        "",
        "> ❌ **This plan cannot be applied.** Fix the problems below and push again.",
        "",
        f"- ❌ {plan.diagnostics[0].render()}",
    ]


def test_a_plan_that_never_ran_quotes_the_error_output():
    text = plan_comment(
        None, 1, "Error: cannot reach https://crm.example: timed out\n", None, PLAN_MARKER, "prod"
    )
    assert text == (
        f"{PLAN_MARKER}\n### crmctl plan for `prod`\n\n"
        "> ❌ **This plan cannot be applied.** Fix the problems below and push again.\n\n"
        "```text\nError: cannot reach https://crm.example: timed out\n```\n"
    )


def test_thousands_of_errors_still_fit(tmp_path):
    plan = Plan(environment="prod")
    plan.diagnostics = [
        Diagnostic(f"problem number {i} " + "x" * 80, severity=Severity.ERROR) for i in range(5000)
    ]
    text = plan_comment(plan, 1, "", None, PLAN_MARKER)
    assert len(text) <= COMMENT_LIMIT
    assert "> ❌ **This plan cannot be applied.**" in text
    assert "more problems (in the full plan)" in text


def test_the_command_writes_the_comment_and_the_full_plan(project, crmctl, tmp_path):
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan_to_dict(big_plan(3000))))
    result = crmctl(
        "ci",
        "comment",
        str(plan_file),
        "--exit-code",
        "0",
        "--full",
        str(tmp_path / "plan.md"),
        "--out",
        str(tmp_path / "comment.md"),
    )
    assert result.exit_code == 0, result.output
    assert result.out == ""
    comment = (tmp_path / "comment.md").read_text()
    full = (tmp_path / "plan.md").read_text()
    assert len(comment) <= COMMENT_LIMIT < len(full)
    assert full.count("<details>") == 3000
    assert comment.startswith(PLAN_MARKER + "\n")
    assert comment.endswith("Everything is in the full plan (the job's artifact).\n")


def test_the_command_refuses_a_missing_plan_that_claims_success(project, crmctl, tmp_path):
    result = crmctl("ci", "comment", str(tmp_path / "plan.json"), "--exit-code", "0")
    assert result.exit_code == 1
    assert result.err.splitlines()[0] == (
        f"Error: {tmp_path / 'plan.json'} is empty or missing, yet the plan succeeded"
    )
