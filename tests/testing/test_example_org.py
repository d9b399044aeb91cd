"""`crmctl test` on the example organisation: its cases pass, and a broken rule shows a diff."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import REPO
from tests.testing.conftest import edit


def test_the_example_cases_all_pass(tested_project: Path, crmctl) -> None:
    r = crmctl("test")
    assert (r.exit_code, r.err) == (0, "")
    lines = r.out.splitlines()
    assert lines[:2] == ["Testing environment 'local' with the cases in crm-tests", ""]
    cases = lines[2:-2]
    assert len(cases) == 34
    assert all(re.match(r"^PASS  crm-tests/\w+\.yaml:\d+  \S", line) for line in cases), cases
    assert lines[-2:] == ["", "34 cases: 34 passed, 0 failed, 0 errors"]
    # Every kind of case is there.
    kinds = {"record", "access", "retention", "duplicate"}
    text = "".join(p.read_text() for p in (REPO / "crm-tests").glob("*.yaml"))
    assert all(f"\n{kind}:" in text for kind in kinds)


def test_the_example_cases_pass_with_the_overrides_of_staging(tested_project: Path, crmctl) -> None:
    r = crmctl("test", "-e", "staging")
    assert (r.exit_code, r.out.splitlines()[-1]) == (0, "34 cases: 34 passed, 0 failed, 0 errors")
    assert r.out.startswith("Testing environment 'staging' ")


def test_a_loosened_validation_rule_fails_its_case_with_a_diff(
    tested_project: Path, crmctl
) -> None:
    edit(
        tested_project / "manifests" / "objects" / "subscription.yaml",
        "condition: Discount__c > 0.5",
        "condition: Discount__c > 0.7",
    )
    r = crmctl("test", "crm-tests/subscriptions.yaml")
    assert (r.exit_code, r.err) == (1, "")
    assert r.out == (
        "Testing environment 'local' with the cases in crm-tests/subscriptions.yaml\n"
        "\n"
        "PASS  crm-tests/subscriptions.yaml:2  A sales rep records a new subscription\n"
        "FAIL  crm-tests/subscriptions.yaml:18  Discounts above 50% are refused\n"
        "      - expected: rejected: Discount__c: Discounts above 50% are not allowed; ask the deal desk.\n"
        "      + actual:   accepted\n"
        "PASS  crm-tests/subscriptions.yaml:35  A subscription cannot end before it starts\n"
        "PASS  crm-tests/subscriptions.yaml:52  Sales reps see the monthly price but cannot change it\n"
        "PASS  crm-tests/subscriptions.yaml:72  Only the plans we sell can be chosen\n"
        "\n"
        "5 cases: 4 passed, 1 failed, 0 errors\n"
    )


def test_a_widened_permission_set_fails_the_access_and_record_cases(
    tested_project: Path, crmctl
) -> None:
    edit(
        tested_project / "manifests" / "access" / "permission-sets.yaml",
        "    Subscription__c.Monthly_Price__c: [read]\n",
        "    Subscription__c.Monthly_Price__c: [read, edit]\n    Contact.National_Id__c: [read]\n",
    )
    r = crmctl("test")
    assert r.exit_code == 1
    failures = [line for line in r.out.splitlines() if not line.startswith("PASS")]
    assert failures[2:] == [
        "FAIL  crm-tests/access.yaml:6  Sales reps cannot see national IDs",
        "      - expected: cannot read, edit Contact.National_Id__c",
        "      + actual:   can read Contact.National_Id__c via Sales_Rep",
        "                  cannot edit Contact.National_Id__c",
        "FAIL  crm-tests/subscriptions.yaml:52  Sales reps see the monthly price but cannot change it",
        "      - expected: rejected: Monthly_Price__c: user 'maria.garcia@northwind.example' may not edit"
        " Monthly_Price__c on Subscription__c",
        "      + actual:   accepted",
        "",
        "34 cases: 32 passed, 2 failed, 0 errors",
    ]


def test_a_shorter_retention_period_fails_the_case_that_keeps_young_leads(
    tested_project: Path, crmctl
) -> None:
    edit(
        tested_project / "manifests" / "retention" / "policies.yaml",
        "retain: P2Y\n",
        "retain: P18M\n",
    )
    r = crmctl("test", "crm-tests/retention.yaml")
    assert r.exit_code == 1
    assert (
        "FAIL  crm-tests/retention.yaml:9  Unconverted leads younger than two years are kept\n"
        "      - expected: kept\n"
        "      + actual:   deleted by Unconverted_Leads\n"
    ) in r.out
    assert r.out.endswith("7 cases: 6 passed, 1 failed, 0 errors\n")


def test_a_duplicate_rule_switched_to_alert_fails_the_blocking_case(
    tested_project: Path, crmctl
) -> None:
    edit(
        tested_project / "manifests" / "data-quality" / "duplicate-rules.yaml",
        "onCreate: block",
        "onCreate: alert",
    )
    r = crmctl("test", "crm-tests/duplicates.yaml")
    assert r.exit_code == 1
    assert (
        "FAIL  crm-tests/duplicates.yaml:2  A second contact with the same email is blocked\n"
        "      - expected: blocked by Contact.Same_Email\n"
        "      + actual:   accepted with a duplicate alert by Contact.Same_Email\n"
    ) in r.out
