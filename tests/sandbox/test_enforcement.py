"""Value checks and type conversions without HTTP; broken rules never break a write."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

import pytest

from crmctl.sandbox.db import migrate
from crmctl.sandbox.enforcement import Caller, Problem, Write, check_write, coerce, convert_value
from crmctl.sandbox.records import FieldDef, OrgModel, SqlRecords


def field(ftype: str, **extra: Any) -> FieldDef:
    return FieldDef(name="F__c", type=ftype, custom=True, **extra)


@pytest.mark.parametrize(
    ("fdef", "value", "stored"),
    [
        (field("Checkbox"), None, False),
        (field("Number", precision=4, scale=1), -0.5, -0.5),
        (field("Number", precision=4, scale=1), 100, 100),
        (field("Currency", precision=18, scale=2), 0.1, 0.1),
        (field("Text", length=3), "", None),
        (field("MultiPicklist", values=("A", "B")), " ; ", None),
        (field("DateTime"), "2025-01-02 03:04", "2025-01-02T03:04:00.000Z"),
        (field("DateTime"), "2025-01-02T03:04:05.123456Z", "2025-01-02T03:04:05.123Z"),
        (field("Picklist"), "Anything", "Anything"),  # standard picklists list no values
    ],
)
def test_coerce_accepts(fdef: FieldDef, value: Any, stored: Any) -> None:
    assert coerce(fdef, value) == (stored, None)


@pytest.mark.parametrize(
    ("fdef", "value", "message"),
    [
        (field("Number"), float("nan"), "F__c: expected a finite number"),
        (field("Number", precision=4, scale=1), 1000, "F__c: 1000 has more than 3 digits before the decimal point"),
        (field("Number"), {"n": 1}, "F__c: expected a number, got an object"),
        (field("Date"), "2025-1-2", "F__c: '2025-1-2' is not a date (expected YYYY-MM-DD)"),
        (field("DateTime"), "2025-01-02", "F__c: '2025-01-02' is not an ISO-8601 date and time"),
        (field("Lookup"), 7, "F__c: expected a record id, got a number"),
    ],
)  # fmt: skip
def test_coerce_refuses(fdef: FieldDef, value: Any, message: str) -> None:
    stored, problem = coerce(fdef, value)
    assert stored is None and problem is not None and problem.message == message


@pytest.mark.parametrize(
    ("value", "new", "converted"),
    [
        (700, field("Text", length=10), "700"),
        (12.5, field("Text", length=10), "12.5"),
        (True, field("Text", length=10), "true"),
        ("42", field("Number", precision=18, scale=0), 42),
        (" 4.25 ", field("Currency", precision=18, scale=2), 4.25),
        ("TRUE", field("Checkbox"), True),
        ("2024-02-03", field("DateTime"), "2024-02-03T00:00:00.000Z"),
        ("2024-02-03T23:00:00.000Z", field("Date"), "2024-02-03"),
        ("A", field("MultiPicklist", values=("A", "B")), "A"),
        (None, field("Number"), None),
    ],
)
def test_convert_value(value: Any, new: FieldDef, converted: Any) -> None:
    assert convert_value(value, new) == (converted, None)


def test_convert_value_reports_what_does_not_fit() -> None:
    assert convert_value("abc", field("Number", precision=18, scale=0)) == (
        None,
        Problem("F__c", "INVALID_TYPE", "'abc' is not a number"),
    )
    assert convert_value("C", field("Picklist", values=("A", "B")))[1] == Problem(
        "F__c", "INVALID_PICKLIST_VALUE", "F__c: 'C' is not one of 'A', 'B'"
    )


def test_a_rule_whose_formula_cannot_run_is_reported_on_every_write() -> None:
    model = OrgModel.from_config(
        [
            {"kind": "ValidationRule", "name": "Account.Broken",
             "spec": {"condition": "NOSUCH(Name)", "errorMessage": "x", "errorField": "Name"}},
            {"kind": "ValidationRule", "name": "Account.Fine",
             "spec": {"condition": "Name = 'Bad'", "errorMessage": "Bad name"}},
        ]
    )  # fmt: skip
    conn = sqlite3.connect(":memory:", isolation_level=None)
    migrate(conn)
    write = Write(model.objects["account"], {"Name": "Bad"}, Caller("a@x.io"), datetime.now(UTC))
    problems = check_write(model, SqlRecords(conn, model), write).problems
    assert [(p.field, p.code, p.rule) for p in problems] == [
        ("Name", "FORMULA_ERROR", "Account.Broken"),
        (None, "VALIDATION_RULE", "Account.Fine"),
    ]
    assert problems[0].message.startswith("validation rule Account.Broken cannot run: ")
    assert "NOSUCH" in problems[0].message
