"""The impact engine on records built in memory: the effects the CLI fixture does not show."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime

from crmctl.impact.engine import measure_impact
from crmctl.kinds import HANDLERS
from crmctl.model import Resource
from crmctl.plan import Action, Change

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def resource(kind: str, name: str, spec: dict) -> Resource:
    return Resource(kind, name, HANDLERS[kind].canonical(spec, name))


def change(kind: str, name: str, before: dict | None, after: dict | None) -> Change:
    action = Action.CREATE if before is None else Action.DELETE if after is None else Action.UPDATE
    canon = HANDLERS[kind].canonical
    return Change(
        kind, name, action,
        canon(before, name) if before else None, canon(after, name) if after else None,
        [], None, "",
    )  # fmt: skip


def database(*records: dict) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE TABLE records (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, "
        "object TEXT NOT NULL, owner_id TEXT NOT NULL, fields TEXT NOT NULL)"
    )
    for values in records:
        conn.execute(
            "INSERT INTO records (id, object, owner_id, fields) VALUES (?, 'account', 'u', ?)",
            (values["Id"], json.dumps(values)),
        )
    return conn


CODE = {"type": "Text", "label": "Code"}
RULE = {"condition": "LEN(Code__c) > 3", "errorMessage": "Code too long."}
ACCOUNTS = [
    {"Id": "001A", "Name": "Acme Ltd", "Code__c": "12", "Since__c": "2020-01-01"},
    {"Id": "001B", "Name": "ACME Inc.", "Code__c": "12", "Since__c": "2026-06-01"},
    {"Id": "001C", "Name": "Acme", "Code__c": "x7", "Since__c": "2026-05-10"},
    {"Id": "001D", "Name": "Zenith Labs", "Code__c": "12345"},
]
LIVE = {
    r.address: r
    for r in (
        resource("CustomField", "Account.Code__c", CODE),
        resource("CustomField", "Account.Since__c", {"type": "Date", "label": "Since"}),
        resource("ValidationRule", "Account.Code_Short", RULE),
        resource(
            "RetentionPolicy",
            "Old_Accounts",
            {
                "object": "Account",
                "dateField": "Since__c",
                "retain": "P1Y",
                "action": "archive",
                "legalBasis": "test",
            },
        ),  # fmt: skip
    )
}


def findings(changes: list[Change]) -> dict[str, list[dict]]:
    report = measure_impact(database(*ACCOUNTS), LIVE, changes, source="memory", now=NOW)
    return {c.address: [f.to_dict() for f in c.findings] for c in report.changes}


def test_a_type_change_and_unique_count_values_that_cannot_follow() -> None:
    after = {**CODE, "type": "Number", "precision": 18, "scale": 0, "unique": True}
    (found,) = findings([change("CustomField", "Account.Code__c", CODE, after)]).values()
    by_reason = {f["details"]["reason"]: (f["count"], f["samples"]) for f in found}
    assert by_reason == {"type": (1, ["001C"]), "unique": (2, ["001A", "001B"])}


def test_a_deleted_rule_and_a_deleted_policy_no_longer_act() -> None:
    gone = findings(
        [
            change("ValidationRule", "Account.Code_Short", RULE, None),
            change(
                "RetentionPolicy", "Old_Accounts", LIVE["RetentionPolicy/Old_Accounts"].spec, None
            ),
        ]
    )
    (rule,) = gone["ValidationRule/Account.Code_Short"]
    assert (rule["effect"], rule["count"], rule["samples"]) == ("no-longer-rejects", 1, ["001D"])
    (policy,) = gone["RetentionPolicy/Old_Accounts"]
    assert policy["summary"] == "no longer archives the 1 Account records it covers today"
    assert (policy["count"], policy["details"]["nowBefore"], policy["details"]["nowAfter"]) == (
        0,
        1,
        0,
    )


def test_a_rule_that_fails_on_some_records_is_counted_apart() -> None:
    broken = {"condition": "VALUE(Code__c) > 100", "errorMessage": "Too big."}
    (found,) = findings([change("ValidationRule", "Account.Big", None, broken)]).values()
    assert [(f["effect"], f["count"]) for f in found] == [("rejects", 1), ("not-evaluated", 1)]
    assert found[1]["samples"] == ["001C"]


def test_fuzzy_duplicate_pairs_and_a_shorter_retention_horizon() -> None:
    rule = {"match": [{"field": "Name", "method": "fuzzy"}], "action": {"onCreate": "block"}}
    policy = {**LIVE["RetentionPolicy/Old_Accounts"].spec, "retain": "P1M"}
    found = findings(
        [
            change("DuplicateRule", "Account.Same_Name", None, rule),
            change(
                "RetentionPolicy", "Old_Accounts", LIVE["RetentionPolicy/Old_Accounts"].spec, policy
            ),
        ]
    )
    (pairs,) = found["DuplicateRule/Account.Same_Name"]
    assert (pairs["count"], pairs["samples"]) == (3, ["001A/001B", "001A/001C", "001B/001C"])
    assert "copying either record would be blocked; edits are alerted" in pairs["summary"]
    (retention,) = found["RetentionPolicy/Old_Accounts"]
    # P1M before 2026-06-15 is 2026-05-15: 001A (2020) now, as before; 001C (05-10) now too;
    # 001B (06-01) within the next 30 days.
    assert retention["details"] == {
        "policy": "Old_Accounts", "action": "archive", "nowBefore": 1, "nowAfter": 2, "delta": 1,
        "next30DaysBefore": 0, "next30DaysAfter": 1,
    }  # fmt: skip


def test_the_impact_package_imports_no_cli_http_or_git_library() -> None:
    code = (
        "import sys, crmctl.impact.engine, crmctl.impact.load, crmctl.impact.run\n"
        "print(sorted(m for m in ('click', 'requests', 'git') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "[]\n"
