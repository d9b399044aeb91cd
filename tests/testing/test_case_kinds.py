"""What each kind of case checks, and what a failing one says the CRM did."""

from __future__ import annotations

from pathlib import Path

from tests.testing.conftest import write_cases


def failures(out: str) -> list[str]:
    return [line for line in out.splitlines()[2:-2] if not line.startswith("PASS")]


def test_cases_never_see_each_others_records(project: Path, crmctl) -> None:
    case = """\
case: {name}
user: maria.garcia@northwind.example
record:
  create: Contact
  values: {{LastName: Same, Email: same@example.com}}
  expect: accepted
"""
    path = write_cases(
        project, "twice.yaml", case.format(name="First") + "---\n" + case.format(name="Second")
    )
    r = crmctl("test", str(path))
    assert (r.exit_code, r.out.splitlines()[-1]) == (0, "2 cases: 2 passed, 0 failed, 0 errors")


def test_an_override_of_the_environment_is_tested(project: Path, crmctl) -> None:
    path = write_cases(
        project,
        "contractors.yaml",
        """\
case: Ines works subscriptions
user: ines.moreau@northwind.example
access: {object: Subscription__c, can: [read, edit]}
---
case: Ines records a contact
user: ines.moreau@northwind.example
record:
  create: Contact
  values: {LastName: Berg, Email: berg@example.com}
  expect: accepted
""",
    )
    assert crmctl("test", str(path)).exit_code == 0
    r = crmctl("test", "-e", "staging", str(path))
    assert r.exit_code == 1
    assert failures(r.out) == [
        "FAIL  crm-tests/contractors.yaml:1  Ines works subscriptions",
        "      - expected: can read, edit Subscription__c",
        "      + actual:   cannot read Subscription__c (user is inactive)",
        "                  cannot edit Subscription__c (user is inactive)",
        "FAIL  crm-tests/contractors.yaml:5  Ines records a contact",
        "      - expected: accepted",
        "      + actual:   rejected: user 'ines.moreau@northwind.example' is inactive",
    ]


def test_record_expectations_match_field_and_message_exactly(project: Path, crmctl) -> None:
    path = write_cases(
        project,
        "leads.yaml",
        """\
case: Any rejection will do
user: chloe.martin@northwind.example
record: {create: Lead, values: {LastName: L, Company: C, Lead_Score__c: 101}, expect: {rejected: {}}}
---
case: The right field, any message
user: chloe.martin@northwind.example
record: {create: Lead, values: {LastName: L, Company: C, Lead_Score__c: 101}, expect: {rejected: {field: lead_score__c}}}
---
case: The wrong field
user: chloe.martin@northwind.example
record: {create: Lead, values: {LastName: L, Company: C, Lead_Score__c: 101}, expect: {rejected: {field: Company}}}
---
case: A message must be exact
user: chloe.martin@northwind.example
record:
  create: Lead
  values: {LastName: L, Company: C, Lead_Score__c: 101}
  expect: {rejected: {message: The lead score is between 0 and 100}}
---
case: Rejected but accepted
user: chloe.martin@northwind.example
record: {create: Lead, values: {LastName: L, Company: C, Lead_Score__c: 99}, expect: {rejected: {}}}
""",
    )
    r = crmctl("test", str(path))
    assert r.exit_code == 1
    assert failures(r.out) == [
        "FAIL  crm-tests/leads.yaml:9  The wrong field",
        "      - expected: rejected: Company",
        "      + actual:   rejected: Lead_Score__c: The lead score is between 0 and 100.",
        "FAIL  crm-tests/leads.yaml:13  A message must be exact",
        "      - expected: rejected: The lead score is between 0 and 100",
        "      + actual:   rejected: Lead_Score__c: The lead score is between 0 and 100.",
        "FAIL  crm-tests/leads.yaml:20  Rejected but accepted",
        "      - expected: rejected",
        "      + actual:   accepted",
    ]


def test_retention_reports_what_the_run_did(project: Path, crmctl) -> None:
    path = write_cases(
        project,
        "retention.yaml",
        """\
case: Old withdrawn consent is kept (wrongly expected)
given:
  ola: {object: Contact, values: {LastName: Nordmann, Email: ola@example.com}}
retention:
  object: Consent__c
  values: {Contact__c: {ref: ola}, Channel__c: Post, Status__c: Withdrawn, Source__c: letter, IP_Address__c: 192.0.2.1}
  age: P3Y1D
  expect: kept
---
case: A lead exactly two years old is kept
retention: {object: Lead, values: {LastName: L, Company: C}, age: P2Y, expect: kept}
---
case: A young paid invoice is archived (wrongly expected)
given:
  acme: {object: Account, values: {Name: Acme}}
retention:
  object: Invoice__c
  values: {Account__c: {ref: acme}, Amount__c: 10, Issue_Date__c: "2020-01-01", Status__c: Paid}
  age: P9Y
  expect: archived
""",
    )
    r = crmctl("test", str(path))
    assert r.exit_code == 1
    assert failures(r.out) == [
        "FAIL  crm-tests/retention.yaml:1  Old withdrawn consent is kept (wrongly expected)",
        "      - expected: kept",
        "      + actual:   anonymized by Withdrawn_Consent_Evidence: IP_Address__c, Source__c",
        "FAIL  crm-tests/retention.yaml:13  A young paid invoice is archived (wrongly expected)",
        "      - expected: archived",
        "      + actual:   kept",
    ]


def test_duplicate_expectations(project: Path, crmctl) -> None:
    path = write_cases(
        project,
        "dupes.yaml",
        """\
case: Blocked, but expected to pass quietly
user: maria.garcia@northwind.example
given:
  ola: {object: Contact, values: {LastName: N, Email: ola@example.com}}
duplicate: {create: Contact, values: {LastName: M, Email: ola@example.com}, expect: none}
---
case: An alert from a rule that is not the one expected
user: maria.garcia@northwind.example
given:
  ola: {object: Contact, values: {LastName: N, Email: ola@example.com}}
  kari: {object: Contact, values: {LastName: N, Email: kari@example.com}}
duplicate: {update: kari, values: {Email: ola@example.com}, expect: blocked, rule: Contact.Same_Email}
---
case: A write refused for another reason
user: kenji.watanabe@northwind.example
duplicate: {create: Contact, values: {LastName: M, Email: m@example.com}, expect: none}
""",
    )
    r = crmctl("test", str(path))
    assert r.exit_code == 1
    assert failures(r.out) == [
        "FAIL  crm-tests/dupes.yaml:1  Blocked, but expected to pass quietly",
        "      - expected: accepted without a duplicate alert",
        "      + actual:   blocked by Contact.Same_Email",
        "FAIL  crm-tests/dupes.yaml:7  An alert from a rule that is not the one expected",
        "      - expected: blocked by Contact.Same_Email",
        "      + actual:   accepted with a duplicate alert by Contact.Same_Email",
        "FAIL  crm-tests/dupes.yaml:14  A write refused for another reason",
        "      - expected: accepted without a duplicate alert",
        "      + actual:   rejected: user 'kenji.watanabe@northwind.example' may not create Contact"
        " records: none of their permission sets grants 'create' on Contact",
    ]
