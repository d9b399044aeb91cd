from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import pytest

from crmctl.formula import (
    EvalContext,
    FormulaError,
    FormulaEvalError,
    compile_formula,
    evaluate,
    parse,
)

NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def ev(source: str, record: dict[str, Any] | None = None, **context: Any) -> Any:
    context.setdefault("now", NOW)
    return evaluate(parse(source), EvalContext(record=record or {}, **context))


def eval_error(source: str, record: dict[str, Any] | None = None) -> tuple[str, int, int]:
    with pytest.raises(FormulaEvalError) as caught:
        ev(source, record)
    return caught.value.message, caught.value.line, caught.value.column


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # logic
        ("AND(TRUE, TRUE, TRUE)", True),
        ("AND(TRUE, FALSE)", False),
        ("OR(FALSE, FALSE)", False),
        ("OR(FALSE, TRUE)", True),
        ("NOT(FALSE)", True),
        ("TRUE && !FALSE", True),
        ("FALSE || FALSE", False),
        ("IF(1 > 2, 'a', 'b')", "b"),
        ("IF(NULL, 'a', 'b')", "b"),
        ("CASE(2, 1, 'one', 2, 'two', 'other')", "two"),
        ("CASE(9, 1, 'one', 'other')", "other"),
        ("CASE('b', 'a', 1, 'b', 2, 0)", D(2)),
        ("ISBLANK('')", True),
        ("ISBLANK(NULL)", True),
        ("ISBLANK(' ')", False),
        ("ISBLANK(0)", False),
        ("ISNULL(NULL)", True),
        ("ISNULL('')", False),
        ("BLANKVALUE('', 'x')", "x"),
        ("BLANKVALUE('a', 'x')", "a"),
        ("NULLVALUE(NULL, 5)", D(5)),
        ("NULLVALUE('', 'x')", ""),
        ("ISNUMBER('12.5')", True),
        ("ISNUMBER('12a')", False),
        ("ISNUMBER('')", False),
        ("ISCLONE()", False),
        # text
        ("TEXT(12.50)", "12.50"),
        ("TEXT(DATE(2024, 1, 5))", "2024-01-05"),
        ("TEXT(DATETIMEVALUE('2024-01-05 10:30:00'))", "2024-01-05 10:30:00Z"),
        ("TEXT(NULL)", ""),
        ("TEXT(TRUE)", "true"),
        ("VALUE('12.5')", D("12.5")),
        ("VALUE(' 7 ')", D(7)),
        ("VALUE('-0.25')", D("-0.25")),
        ("VALUE('')", None),
        ("LEN('abc')", D(3)),
        ("LEN(NULL)", D(0)),
        ("CONTAINS('Hello', 'ell')", True),
        ("CONTAINS('Hello', 'ELL')", False),
        ("BEGINS('Hello', 'He')", True),
        ("BEGINS('Hello', 'he')", False),
        ("UPPER('abc')", "ABC"),
        ("LOWER('ÅBC', 'no')", "åbc"),
        ("INITCAP('hello wORLD')", "Hello World"),
        ("TRIM('  a b  ')", "a b"),
        ("REVERSE('abc')", "cba"),
        ("LEFT('abcdef', 3)", "abc"),
        ("LEFT('abc', -1)", ""),
        ("RIGHT('abcdef', 2)", "ef"),
        ("RIGHT('abc', 0)", ""),
        ("MID('abcdef', 2, 3)", "bcd"),
        ("MID('abcdef', 0, 2)", "ab"),
        ("FIND('c', 'abcabc')", D(3)),
        ("FIND('c', 'abcabc', 4)", D(6)),
        ("FIND('z', 'abc')", D(0)),
        ("SUBSTITUTE('a - b - c', ' ', '')", "a-b-c"),
        ("SUBSTITUTE('abc', '', 'x')", "abc"),
        ("LPAD('7', 3, '0')", "007"),
        ("LPAD('abcdef', 3)", "abc"),
        ("LPAD('x', 4, 'ab')", "abax"),
        ("RPAD('ab', 4, '*')", "ab**"),
        ("RPAD('ab', 4)", "ab  "),
        ("BR()", "<br>"),
        ("HYPERLINK('https://x.test', 'X')", '<a href="https://x.test" target="_blank">X</a>'),
        ("IMAGE('/logo.png', 'Logo', 10, 20)", '<img src="/logo.png" alt="Logo">'),
        ("CASESAFEID('00D000000000062')", "00D000000000062EAA"),
        ("CASESAFEID('00D000000000062EAA')", "00D000000000062EAA"),
        ("'a' & 'b' & NULL & 1", "ab1"),
        ("'a' + 'b'", "ab"),
        # math
        ("1 + 2 * 3", D(7)),
        ("2 ^ 3", D(8)),
        ("-2 ^ 2", D(4)),
        ("7 / 2", D("3.5")),
        ("10 - 4 - 3", D(3)),
        ("ABS(-2.5)", D("2.5")),
        ("ROUND(2.345, 2)", D("2.35")),
        ("ROUND(-2.5, 0)", D(-3)),
        ("ROUND(1234, -2)", D(1200)),
        ("TRUNC(2.789, 1)", D("2.7")),
        ("TRUNC(-2.7)", D(-2)),
        ("CEILING(2.1)", D(3)),
        ("CEILING(-2.5)", D(-3)),
        ("FLOOR(2.9)", D(2)),
        ("FLOOR(-2.5)", D(-2)),
        ("MCEILING(-2.5)", D(-2)),
        ("MFLOOR(-2.5)", D(-3)),
        ("MAX(1, 5, 3)", D(5)),
        ("MIN(4, 2)", D(2)),
        ("MAX(DATE(2024, 1, 1), DATE(2023, 1, 1))", date(2024, 1, 1)),
        ("MOD(7, 3)", D(1)),
        ("MOD(-7, 3)", D(-1)),
        ("SQRT(16)", D(4)),
        ("LN(1)", D(0)),
        ("LOG(1000)", D(3)),
        ("EXP(0)", D(1)),
        ("ABS(NULL)", None),
        # dates
        ("DATE(2024, 2, 29)", date(2024, 2, 29)),
        ("YEAR(DATE(2024, 2, 29))", D(2024)),
        ("MONTH(DATE(2024, 2, 29))", D(2)),
        ("DAY(DATE(2024, 2, 29))", D(29)),
        ("WEEKDAY(DATE(2024, 1, 7))", D(1)),  # a Sunday
        ("WEEKDAY(DATE(2024, 1, 13))", D(7)),  # a Saturday
        ("ISOWEEK(DATE(2024, 12, 30))", D(1)),
        ("ISOYEAR(DATE(2024, 12, 30))", D(2025)),
        ("DAYOFYEAR(DATE(2024, 3, 1))", D(61)),
        ("ADDMONTHS(DATE(2017, 9, 20), 5)", date(2018, 2, 20)),
        ("ADDMONTHS(DATE(2017, 9, 30), 5)", date(2018, 2, 28)),  # last day stays last day
        ("ADDMONTHS(DATE(2024, 2, 29), 1)", date(2024, 3, 31)),
        ("ADDMONTHS(DATE(2024, 1, 30), 1)", date(2024, 2, 29)),
        ("ADDMONTHS(DATE(2024, 1, 15), -2)", date(2023, 11, 15)),
        ("ADDMONTHS(NULL, 1)", None),
        ("DATEVALUE('2025-10-25')", date(2025, 10, 25)),
        ("DATEVALUE(DATETIMEVALUE('2025-10-25 23:30:00'))", date(2025, 10, 25)),
        ("DATEVALUE(NULL)", None),
        ("DATETIMEVALUE('2025-10-25 00:00:00')", datetime(2025, 10, 25, tzinfo=UTC)),
        ("DATETIMEVALUE(DATE(2025, 10, 25))", datetime(2025, 10, 25, tzinfo=UTC)),
        ("DATE(2024, 3, 1) - DATE(2024, 2, 1)", D(29)),
        ("DATE(2024, 1, 31) + 1", date(2024, 2, 1)),
        ("1 + DATE(2024, 1, 31)", date(2024, 2, 1)),
        ("DATE(2024, 1, 1) - 1", date(2023, 12, 31)),
        (
            "DATETIMEVALUE('2024-01-02 12:00:00') - DATETIMEVALUE('2024-01-01 00:00:00')",
            D("1.5"),
        ),
        (
            "DATETIMEVALUE('2024-01-01 00:00:00') + 0.5",
            datetime(2024, 1, 1, 12, tzinfo=UTC),
        ),
        ("TODAY()", date(2024, 5, 6)),
        ("NOW()", NOW),
        ("TODAY() - 1 < TODAY()", True),
        ("DATE(2024, 1, 1) < DATETIMEVALUE('2024-01-01 00:00:01')", True),
        # comparison
        ("'a' < 'b'", True),
        ("'abc' = 'ABC'", False),  # case-sensitive, as in Salesforce
        ("1 = 1.0", True),
        ("2 <> 3", True),
        ("2 != 2", False),
        ("2 == 2", True),
        ("3 >= 3", True),
        ("3 <= 2", False),
        ("TRUE = TRUE", True),
    ],
)
def test_values(source: str, expected: Any) -> None:
    result = ev(source)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Missing__c + 1", None),
        ("Missing__c * 2", None),
        ("Missing__c ^ 2", None),
        ("-Missing__c", None),
        ("Missing__c - DATE(2024, 1, 1)", None),
        ("Missing__c = NULL", True),
        ("Missing__c = ''", True),
        ("Empty__c = NULL", True),
        ("Empty__c = Missing__c", True),
        ("NULL = NULL", True),
        ("Missing__c = 0", False),
        ("Missing__c <> 0", True),
        ("Missing__c <> NULL", False),
        ("Missing__c < 1", False),
        ("Missing__c > 1", False),
        ("Missing__c >= NULL", False),
        ("'x' & Missing__c", "x"),
        ("ISBLANK(Missing__c)", True),
        ("ISBLANK(Empty__c)", True),
        ("LOWER(Missing__c) = 'tv'", False),
        ("!Missing__c", True),
        ("LEN(Missing__c) > 5000", False),
    ],
)
def test_blanks(source: str, expected: Any) -> None:
    assert ev(source, {"Empty__c": ""}) == expected


def test_record_keys_are_case_insensitive_and_numbers_become_decimals() -> None:
    record = {"name": "Acme", "AMOUNT__C": 10, "Rate__c": 0.1, "Flag__c": True}
    assert ev("Name = 'Acme'", record) is True
    assert ev("Amount__c / 4", record) == D("2.5")
    assert ev("Rate__c + 0.2", record) == D("0.3")
    assert ev("Flag__c && Amount__c = 10", record) is True


def test_field_types_turn_json_values_into_formula_values() -> None:
    record = {
        "Start__c": "2024-01-31",
        "Seen__c": "2024-01-01T10:00:00.000+0000",
        "Active__c": "true",
        "Score__c": "12.5",
        "Tags__c": ["red", "blue"],
    }
    types = {
        "start__c": "Date",
        "Seen__c": "DateTime",
        "Active__c": "Checkbox",
        "Score__c": "Number",
        "Tags__c": "MultiPicklist",
    }
    context = {"field_types": types}
    assert ev("Start__c + 1", record, **context) == date(2024, 2, 1)
    assert ev("Seen__c", record, **context) == datetime(2024, 1, 1, 10, tzinfo=UTC)
    assert ev("Active__c", record, **context) is True
    assert ev("Score__c * 2", record, **context) == D("25.0")
    assert ev("INCLUDES(Tags__c, 'blue')", record, **context) is True


@pytest.mark.parametrize(
    ("field_type", "raw", "expected"),
    [
        ("Date/Time", "2024-01-01 10:00:00", datetime(2024, 1, 1, 10, tzinfo=UTC)),
        ("Currency", "9.99", D("9.99")),
        ("Percent", 12, D(12)),
        ("Checkbox", "FALSE", False),
        ("Text", "2024-01-01", "2024-01-01"),
        ("Date", "", ""),
    ],
)
def test_field_type_names(field_type: str, raw: Any, expected: Any) -> None:
    assert ev("X__c", {"X__c": raw}, field_types={"X__c": field_type}) == expected


def test_iso_text_compares_with_dates_without_field_types() -> None:
    record = {"Start__c": "2999-01-01", "End__c": "2000-01-01"}
    assert ev("Start__c > TODAY() && End__c < TODAY()", record) is True
    assert ev("Start__c - DATE(2998, 12, 31)", record) == D(1)


def test_cross_object_references() -> None:
    asked: list[tuple[str, ...]] = []

    def related(parts: tuple[str, ...]) -> Any:
        asked.append(parts)
        return {("Account__r", "Name"): "Kontakter uten konto"}.get(parts)

    source = "Account__r.Name = 'Kontakter uten konto' && ISBLANK(Owner.Email)"
    assert ev(source, related=related) is True
    assert asked == [("Account__r", "Name"), ("Owner", "Email")]
    assert ev("ISBLANK(Account__r.Name)") is True  # no resolver: blank
    nested = {"RecordType": {"DeveloperName": "EmployerAgreement"}}
    assert ev("RecordType.DeveloperName = 'EmployerAgreement'", nested) is True
    dotted = {"RecordType.DeveloperName": "EmployerAgreement"}
    assert ev("RecordType.DeveloperName = 'EmployerAgreement'", dotted) is True


def test_globals_are_case_insensitive_and_blank_when_absent() -> None:
    globals_ = {"$User.Id": "005000000000001", "$Permission.Arbeidsgiver": True}
    assert ev("$user.ID = '005000000000001'", globals=globals_) is True
    assert ev("$Permission.Arbeidsgiver = TRUE", globals=globals_) is True
    assert ev("$Permission.Other = TRUE", globals=globals_) is False
    assert ev("NOT($Permission.Other)", globals=globals_) is True


def test_isnew() -> None:
    assert ev("ISNEW()", is_new=True) is True
    assert ev("ISNEW()", prior={}) is False


@pytest.mark.parametrize(
    ("record", "prior", "is_new", "changed", "prior_value"),
    [
        ({"Status__c": "Open"}, None, True, False, "Open"),  # insert
        ({"Status__c": "Closed"}, {"Status__c": "Open"}, False, True, "Open"),
        ({"Status__c": "Open"}, {"status__c": "Open"}, False, False, "Open"),
        ({"Status__c": ""}, {"Status__c": None}, False, False, None),  # blank stays blank
        ({"Status__c": "Open"}, {}, False, True, None),  # was blank
        ({"Status__c": None}, {"Status__c": "Open"}, False, True, "Open"),
    ],
)
def test_ischanged_and_priorvalue(
    record: dict[str, Any],
    prior: dict[str, Any] | None,
    is_new: bool,
    changed: bool,
    prior_value: Any,
) -> None:
    assert ev("ISCHANGED(Status__c)", record, prior=prior, is_new=is_new) is changed
    assert ev("PRIORVALUE(Status__c)", record, prior=prior, is_new=is_new) == prior_value


def test_ischanged_compares_values_not_representations() -> None:
    record, prior = {"Amount__c": 10}, {"Amount__c": 10.0}
    assert ev("ISCHANGED(Amount__c)", record, prior=prior) is False
    assert ev("TEXT(PRIORVALUE(Status__c)) = 'Fullført'", {}, prior={"Status__c": "Fullført"})


def test_ispickval_and_includes() -> None:
    record = {"Status__c": "Godkjent", "Tags__c": "a;b; c"}
    assert ev("ISPICKVAL(Status__c, 'Godkjent')", record) is True
    assert ev("ISPICKVAL(Status__c, 'godkjent')", record) is False
    assert ev("ISPICKVAL(Missing__c, '')", record) is True
    assert ev("INCLUDES(Tags__c, 'b')", record) is True
    assert ev("INCLUDES(Tags__c, 'c')", record) is True
    assert ev("INCLUDES(Tags__c, 'd')", record) is False
    assert ev("INCLUDES(Tags__c, '')", record) is False
    assert ev("INCLUDES(Missing__c, 'a')", record) is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12345", True),
        ("123a", False),  # a search would find digits; REGEX must match it all
        ("a123", False),
        ("", False),
        (None, False),
    ],
)
def test_regex_matches_the_whole_text(text: str | None, expected: bool) -> None:
    assert ev("REGEX(Phone, '\\\\d+')", {"Phone": text}) is expected


def test_regex_from_real_rule() -> None:
    source = 'NOT(REGEX(Phone, "\\\\+*?\\\\d*?(\\\\d*?){10}"))'
    assert ev(source, {"Phone": "+4712345678"}) is False
    assert ev(source, {"Phone": "call me"}) is True


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('OR(TRUE, VALUE("x") > 1)', True),
        ("AND(FALSE, VALUE('x') > 1)", False),
        ("TRUE || VALUE('x') > 1", True),
        ("FALSE && 1 / 0 > 1", False),
        ("IF(TRUE, 1, 1 / 0)", D(1)),
        ("IF(FALSE, 1 / 0, 2)", D(2)),
        ("CASE(1, 1, 'ok', VALUE('x'))", "ok"),
        ("BLANKVALUE('a', VALUE('x'))", "a"),
    ],
)
def test_short_circuit(source: str, expected: Any) -> None:
    assert ev(source) == expected


@pytest.mark.parametrize(
    ("source", "message", "column"),
    [
        ("VALUE('x')", 'VALUE cannot convert "x" to a number', 1),
        ("1 + VALUE('12,5')", 'VALUE cannot convert "12,5" to a number', 5),
        ("1 / 0", "division by zero", 3),
        ("0 / 0", "division by zero", 3),
        ("MOD(1, 0)", "division by zero", 1),
        ("AND(1, TRUE)", "expected a true/false value, got Number", 1),
        ("TRUE && 'yes'", "expected a true/false value, got Text", 9),
        ("IF('maybe', 1, 2)", "expected a true/false value, got Text", 1),
        ("1 + TRUE", "expected a number, got Checkbox", 3),
        ("'a' < 1", "cannot compare Text with Number", 5),
        ("DATE(2023, 2, 30)", "DATE(2023, 2, 30) is not a valid date", 1),
        (
            "DATEVALUE('next week')",
            '"next week" is not a date/time (expected YYYY-MM-DD HH:MM:SS)',
            1,
        ),
        ("SQRT(-1)", "SQRT of a negative number", 1),
        ("(-8) ^ 0.5", "invalid calculation", 6),
        (
            "REGEX('a', '(' & '')",  # computed, so only evaluation can find it
            "invalid regular expression '(': missing ): (",
            1,
        ),
        (
            "VLOOKUP($ObjectType.Zip__c.Fields.City__c, $ObjectType.Zip__c.Fields.Name, '0150')",
            "VLOOKUP cannot be evaluated here (it reads other records)",
            1,
        ),
    ],
)
def test_evaluation_errors(source: str, message: str, column: int) -> None:
    assert eval_error(source) == (message, 1, column)


def test_evaluation_error_on_a_later_line() -> None:
    assert eval_error("AND(\n  ISNEW() = FALSE,\n  VALUE(Code__c) > 1)", {"Code__c": "x"}) == (
        'VALUE cannot convert "x" to a number',
        3,
        3,
    )


def test_bad_value_in_a_typed_field_is_reported_at_the_field() -> None:
    with pytest.raises(FormulaEvalError) as caught:
        ev("Start__c < TODAY()", {"Start__c": "soon"}, field_types={"Start__c": "Date"})
    assert (caught.value.message, caught.value.column) == (
        'Start__c: "soon" is not a date/time (expected YYYY-MM-DD HH:MM:SS)',
        1,
    )


def test_eval_error_is_a_formula_error() -> None:
    with pytest.raises(FormulaError) as caught:
        ev("1 / 0")
    assert isinstance(caught.value, FormulaEvalError)
    assert str(caught.value) == "division by zero (formula line 1, column 3)"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("FOO(1)", "unknown function FOO"),
        ("LEN()", "LEN takes exactly 1 argument, got 0"),
        ("ISCHANGED('x')", "ISCHANGED needs a field as its first argument"),
    ],
)
def test_a_formula_that_cannot_run_is_refused_when_compiled(source: str, message: str) -> None:
    with pytest.raises(FormulaError) as caught:
        compile_formula(parse(source))
    assert type(caught.value) is FormulaError
    assert caught.value.message == message


def test_now_defaults_to_the_current_utc_time_and_is_fixed_per_context() -> None:
    context = EvalContext(record={})
    first = evaluate(parse("NOW()"), context)
    assert first.tzinfo is not None
    assert abs(first - datetime.now(UTC)) < timedelta(seconds=5)
    assert evaluate(parse("NOW()"), context) == first
    naive = EvalContext(record={}, now=datetime(2024, 1, 1, 12))
    assert evaluate(parse("NOW()"), naive) == datetime(2024, 1, 1, 12, tzinfo=UTC)


def test_evaluate_does_not_confuse_trees_that_python_thinks_equal() -> None:
    # TRUE == 1 in Python, so a cache keyed on tree equality would mix these up.
    assert ev("X__c = 1", {"X__c": 1}) is True
    assert ev("X__c = TRUE", {"X__c": True}) is True
    assert ev("IF(TRUE, 1, 2)") == D(1)


def test_long_and_chain_evaluates_without_deep_recursion() -> None:
    source = " && ".join(f"F{i}__c" for i in range(3000))
    record = {f"F{i}__c": True for i in range(3000)}
    assert ev(source, record) is True
    record["F2999__c"] = False
    assert ev(source, record) is False


def test_a_compiled_rule_evaluates_many_records_alike() -> None:
    # Its speed is measured by bench/bench_formula.py, not here.
    rule = compile_formula(
        parse(
            "RecordType.DeveloperName = 'EmployerAgreement' && "
            "OR(ISNEW(), ISCHANGED(TAG_Status__c), ISCHANGED(TAG_Category__c)) && "
            "ISPICKVAL(TAG_Status__c, 'Godkjent') && ISPICKVAL(TAG_Category__c, '')"
        )
    )
    record = {"RecordType": {"DeveloperName": "EmployerAgreement"}, "TAG_Status__c": "Godkjent"}
    results = [rule(EvalContext(record=record, is_new=True)) for _ in range(5000)]
    assert results == [True] * 5000
