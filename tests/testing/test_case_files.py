"""Bad case files are refused with every problem at its file:line, and nothing runs."""

from __future__ import annotations

from pathlib import Path

from tests.testing.conftest import edit, write_cases


def test_schema_problems_are_reported_at_their_lines(project: Path, crmctl) -> None:
    path = write_cases(
        project,
        "bad.yaml",
        """\
case: Two kinds in one case
access: {object: Contact, can: [read]}
record: {create: Contact, expect: accepted}
---
case: An unknown expectation
record:
  create: Contact
  expect: maybe
---
case: A bad age
retention: {object: Lead, age: 2Y, expect: gone}
---
- not a case
---
case: An access case with a typo
user: maria.garcia@northwind.example
access: {field: Contact.National_Id__c, cna: [read]}
""",
    )
    r = crmctl("test", str(path))
    assert (r.exit_code, r.out) == (1, "")
    lines = r.err.splitlines()
    assert lines[0] == "Error: the test cases have 7 problems; no case ran"
    assert lines[1] == (
        "crm-tests/bad.yaml:1: the document: a case holds exactly one of record, access,"
        " retention or duplicate"
    )
    # (Whether the offending value is quoted after this message is the schema checker's call.)
    assert lines[2].startswith(
        "crm-tests/bad.yaml:8: record.expect: expect is 'accepted' or {rejected: {field: F,"
        " message: M}}"
    )
    assert lines[3:] == [
        "crm-tests/bad.yaml:11: retention.age: age is an ISO-8601 period such as P2Y, P18M or"
        " P2Y1D (got '2Y')",
        "crm-tests/bad.yaml:11: retention.expect must be one of kept, deleted, archived,"
        " anonymized (got 'gone')",
        "crm-tests/bad.yaml:13: a test case must be a mapping with 'case' and one of record,"
        " access, retention, duplicate, not a list",
        "crm-tests/bad.yaml:17: access: say what the user can or cannot do: can: [read],"
        " cannot: [edit]",
        "crm-tests/bad.yaml:17: access: unknown key 'cna'",
        "  hint: did you mean 'can'?",
    ]


def test_names_the_configuration_lacks_are_reported_at_their_lines(project: Path, crmctl) -> None:
    path = write_cases(
        project,
        "names.yaml",
        """\
case: Typos everywhere
user: maria.garcia@northwind.exmple
given:
  first: {object: Contact, values: {LastName: A, Acount: {ref: later}}}
  later: {object: Acount}
record:
  create: Contact
  values: {LastName: B, Email: {ref: nowhere}}
  expect: accepted
---
case: Update of a record never given
record: {update: ghost, values: {Name: x}, expect: accepted}
---
case: A field that is not there
user: tomas.berg@northwind.example
access: {field: Contact.Passport__c, can: [read]}
---
case: A rule that is not there
given:
  a: {object: Contact, values: {LastName: A, Email: a@example.com}}
duplicate: {create: Contact, values: {LastName: B, Email: a@example.com}, expect: blocked, rule: Contact.Same_Mail}
---
case: Age comes from the case
retention: {object: Lead, values: {LastName: L, Company: C, CreatedDate: "2020-01-01"}, age: P3Y, expect: deleted}
---
case: Access without a user
access: {object: Contact, can: [read]}
""",
    )
    r = crmctl("test", str(path))
    assert (r.exit_code, r.out) == (1, "")
    assert r.err == (
        "Error: the test cases have 10 problems; no case ran\n"
        "crm-tests/names.yaml:2: no User named 'maria.garcia@northwind.exmple'\n"
        "  hint: did you mean 'maria.garcia@northwind.example'?\n"
        "crm-tests/names.yaml:4: Acount: no given record named 'later' before this one\n"
        "crm-tests/names.yaml:4: Contact has no field 'Acount'\n"
        "  hint: did you mean 'AccountId'?\n"
        "crm-tests/names.yaml:5: no object named 'Acount' holds records\n"
        "  hint: did you mean 'Account'?\n"
        "crm-tests/names.yaml:8: Email: no given record named 'nowhere'\n"
        "crm-tests/names.yaml:12: update: no given record named 'ghost'\n"
        "  hint: declare it under given\n"
        "crm-tests/names.yaml:16: Contact has no custom field 'Passport__c'\n"
        "crm-tests/names.yaml:21: Contact has no duplicate rule named 'Contact.Same_Mail'\n"
        "  hint: did you mean 'Contact.Same_Email'?\n"
        "crm-tests/names.yaml:24: leave CreatedDate out: age sets it (the date retention"
        " measures from)\n"
        "crm-tests/names.yaml:27: an access case needs a user\n"
    )


def test_yaml_syntax_errors_name_the_line(project: Path, crmctl) -> None:
    path = write_cases(project, "syntax.yaml", "case: fine\nrecord: {create: Contact\n")
    r = crmctl("test", str(path))
    assert r.exit_code == 1
    assert r.err.startswith("Error: the test cases have 1 problem; no case ran\n")
    assert "crm-tests/syntax.yaml:3: invalid YAML" in r.err


def test_two_cases_with_one_name_are_refused(project: Path, crmctl) -> None:
    case = (
        "case: Same\nuser: tomas.berg@northwind.example\naccess: {object: Contact, can: [read]}\n"
    )
    path = write_cases(project, "twice.yaml", case + "---\n" + case)
    r = crmctl("test", str(path))
    assert (r.exit_code, r.out) == (1, "")
    assert r.err == (
        "Error: the test cases have 1 problem; no case ran\n"
        "crm-tests/twice.yaml:5: case 'Same' is declared twice: also at crm-tests/twice.yaml:1\n"
        "  hint: give every case its own name: reports and JUnit name cases by it\n"
    )


def test_a_project_without_cases(project: Path, crmctl) -> None:
    r = crmctl("test")
    assert (r.exit_code, r.out) == (1, "")
    assert r.err == (
        "Error: the test cases have 1 problem; no case ran\ncrm-tests: no such file or folder\n"
    )


def test_invalid_manifests_stop_the_run(project: Path, crmctl) -> None:
    write_cases(
        project,
        "ok.yaml",
        "case: Fine\nuser: tomas.berg@northwind.example\naccess: {object: Contact, can: [read]}\n",
    )
    edit(
        project / "manifests" / "access" / "users.yaml",
        "role: Operations\n  permissionSets: [CRM_Admin]",
        "role: Operation\n  permissionSets: [CRM_Admin]",
    )
    r = crmctl("test")
    assert (r.exit_code, r.out) == (1, "")
    assert r.err.startswith("Error: the manifests of environment 'local' have 1 problem\n")
    assert r.err.endswith("hint: fix them first: crmctl validate\n")
