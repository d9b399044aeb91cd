"""`crmctl test --format junit|json` and `--out`: the same results, exact documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.testing.conftest import write_cases

CASES = """\
case: Sales reps cannot see national IDs
user: maria.garcia@northwind.example
access: {field: Contact.National_Id__c, cannot: [read]}
---
case: Sales reps can see national IDs
user: maria.garcia@northwind.example
access: {field: Contact.National_Id__c, can: [read]}
---
case: A lead needs a company
given:
  broken: {object: Lead, values: {LastName: Nobody}}
record:
  update: broken
  values: {Company: Found}
  expect: accepted
"""


@pytest.fixture
def cases(project: Path) -> Path:
    return write_cases(project, "mixed.yaml", CASES)


def test_text_shows_failures_with_a_diff_and_errors_with_their_reason(cases: Path, crmctl) -> None:
    r = crmctl("test", str(cases))
    assert (r.exit_code, r.err) == (1, "")
    assert r.out == (
        "Testing environment 'local' with the cases in crm-tests/mixed.yaml\n"
        "\n"
        "PASS  crm-tests/mixed.yaml:1  Sales reps cannot see national IDs\n"
        "FAIL  crm-tests/mixed.yaml:5  Sales reps can see national IDs\n"
        "      - expected: can read Contact.National_Id__c\n"
        "      + actual:   cannot read Contact.National_Id__c\n"
        "ERROR crm-tests/mixed.yaml:9  A lead needs a company\n"
        "      given record 'broken' was refused: rejected: Company: Company is required\n"
        "\n"
        "3 cases: 1 passed, 1 failed, 1 error\n"
    )


def test_junit(cases: Path, crmctl) -> None:
    r = crmctl("test", "--format", "junit", str(cases))
    assert (r.exit_code, r.err) == (1, "")
    assert r.out == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<testsuites name="crmctl test (local)" tests="3" failures="1" errors="1">\n'
        '  <testsuite name="crm-tests/mixed.yaml" tests="3" failures="1" errors="1">\n'
        '    <testcase name="Sales reps cannot see national IDs" classname="crm-tests/mixed.yaml"'
        ' file="crm-tests/mixed.yaml" line="1" />\n'
        '    <testcase name="Sales reps can see national IDs" classname="crm-tests/mixed.yaml"'
        ' file="crm-tests/mixed.yaml" line="5">\n'
        '      <failure message="got cannot read Contact.National_Id__c">'
        "expected: can read Contact.National_Id__c\n"
        "actual:   cannot read Contact.National_Id__c</failure>\n"
        "    </testcase>\n"
        '    <testcase name="A lead needs a company" classname="crm-tests/mixed.yaml"'
        ' file="crm-tests/mixed.yaml" line="9">\n'
        "      <error message=\"given record 'broken' was refused: rejected: Company: Company is"
        ' required" />\n'
        "    </testcase>\n"
        "  </testsuite>\n"
        "</testsuites>\n"
    )


def test_json(cases: Path, crmctl) -> None:
    r = crmctl("test", "--format", "json", str(cases))
    assert (r.exit_code, r.err) == (1, "")
    assert json.loads(r.out) == {
        "environment": "local",
        "summary": {"total": 3, "passed": 1, "failed": 1, "errors": 1},
        "cases": [
            {
                "name": "Sales reps cannot see national IDs",
                "kind": "access",
                "file": "crm-tests/mixed.yaml",
                "line": 1,
                "status": "pass",
                "expected": ["cannot read Contact.National_Id__c"],
                "actual": ["cannot read Contact.National_Id__c"],
            },
            {
                "name": "Sales reps can see national IDs",
                "kind": "access",
                "file": "crm-tests/mixed.yaml",
                "line": 5,
                "status": "fail",
                "expected": ["can read Contact.National_Id__c"],
                "actual": ["cannot read Contact.National_Id__c"],
            },
            {
                "name": "A lead needs a company",
                "kind": "record",
                "file": "crm-tests/mixed.yaml",
                "line": 9,
                "status": "error",
                "expected": [],
                "actual": [],
                "error": "given record 'broken' was refused: rejected: Company: Company is required",
            },
        ],
    }


def test_out_writes_the_report_and_prints_the_summary(cases: Path, project: Path, crmctl) -> None:
    r = crmctl("test", "--format", "junit", "--out", "results.xml", str(cases))
    assert (r.exit_code, r.err) == (1, "")
    assert r.out == "3 cases: 1 passed, 1 failed, 1 error; report written to results.xml\n"
    written = (project / "results.xml").read_text()
    assert written.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ')
    assert written == crmctl("test", "--format", "junit", str(cases)).out


def test_out_into_a_missing_folder_is_a_clear_error(cases: Path, crmctl) -> None:
    r = crmctl("test", "--out", "no/such/folder/report.txt", str(cases))
    assert (r.exit_code, r.out) == (1, "")
    assert r.err == "Error: cannot write no/such/folder/report.txt: No such file or directory\n"
