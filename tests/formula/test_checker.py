from __future__ import annotations

import pytest

from crmctl.formula import FormulaError, check, parse

FIELDS = {
    ("Name",): "Text",
    ("Status__c",): "Picklist",
    ("Tags__c",): "MultiPicklist",
    ("Amount__c",): "Number",
    ("Close__c",): "Date",
    ("Legacy__c",): "",  # exists, type not known
    ("Account__r", "Name"): "Text",
    ("Account__r", "Type__c"): "Picklist",
}


def problems(source: str) -> list[tuple[str, int, int]]:
    return [(p.message, p.line, p.column) for p in check(parse(source), FIELDS.get)]


def test_a_correct_formula_has_no_problems() -> None:
    source = (
        "AND(ISPICKVAL(Status__c, 'Open'), INCLUDES(Tags__c, 'vip'), "
        "Amount__c > 100, Close__c < TODAY(), Account__r.Name <> '', "
        "ISCHANGED(Name), TEXT(PRIORVALUE(Status__c)) = 'New', "
        "ISPICKVAL(PRIORVALUE(Status__c), 'New'), ISPICKVAL(Legacy__c, 'x'), "
        "$User.Id = $Setup.Settings__c.Owner__c)"
    )
    assert problems(source) == []


def test_function_names_are_case_insensitive() -> None:
    assert problems("isBlank(Name) || Not(ISNEW()) && len(Name) > 3") == []


def test_unknown_function() -> None:
    assert problems("FOO(1)") == [("unknown function FOO", 1, 1)]


def test_unknown_function_arguments_are_still_checked() -> None:
    assert problems("Name = Frob(Nope__c)") == [
        ("unknown function Frob", 1, 8),
        ("unknown field Nope__c", 1, 13),
    ]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("AND()", "AND needs at least 1 argument, got 0"),
        ("OR()", "OR needs at least 1 argument, got 0"),
        ("CASE(Name, 'a', 1)", "CASE needs at least 4 arguments, got 3"),
        ("LEN(Name, 2)", "LEN takes exactly 1 argument, got 2"),
        ("IF(ISNEW(), 1)", "IF takes exactly 3 arguments, got 2"),
        ("ISPICKVAL(Status__c)", "ISPICKVAL takes exactly 2 arguments, got 1"),
        ("TODAY(1)", "TODAY takes no arguments, got 1"),
        ("FIND('a')", "FIND takes 2 to 3 arguments, got 1"),
        ("UPPER(Name, 'en', 'x')", "UPPER takes 1 to 2 arguments, got 3"),
        (
            "CASE(Name, 'a', 1, 'b', 2)",
            "CASE needs an expression, value/result pairs and an else result, got 5 arguments",
        ),
    ],
)
def test_wrong_number_of_arguments(source: str, message: str) -> None:
    assert problems(source) == [(message, 1, 1)]


def test_unknown_field_is_reported_at_the_field() -> None:
    assert problems("AND(Name = 'x', Foo__c > 1)") == [("unknown field Foo__c", 1, 17)]


def test_unknown_cross_object_field_uses_the_dotted_name() -> None:
    assert problems("Account__r.Owner.Email = ''") == [
        ("unknown field Account__r.Owner.Email", 1, 1)
    ]


def test_every_problem_is_reported_in_source_order() -> None:
    assert problems("AND(Foo__c, LEN(Bar__c, 1), BAZ(), Name)") == [
        ("unknown field Foo__c", 1, 5),
        ("LEN takes exactly 1 argument, got 2", 1, 13),
        ("unknown field Bar__c", 1, 17),
        ("unknown function BAZ", 1, 29),
    ]


def test_problem_on_line_three_of_a_multi_line_formula() -> None:
    source = "/* rule */\nAND(Name = 'x',\n    ISBLANK(Nope__c)\n)"
    assert problems(source) == [("unknown field Nope__c", 3, 13)]


def test_lookup_gets_parts_and_globals_are_never_looked_up() -> None:
    seen: list[tuple[str, ...]] = []

    def lookup(parts: tuple[str, ...]) -> str | None:
        seen.append(parts)
        return "Text"

    node = parse("$User.Id = Owner.Id && $Profile.Name = Name && Name <> $Label.X")
    assert check(node, lookup) == []
    assert seen == [("Owner", "Id"), ("Name",)]  # each field looked up once


@pytest.mark.parametrize(
    ("source", "message", "column"),
    [
        ("ISCHANGED(LOWER(Name))", "ISCHANGED needs a field as its first argument", 11),
        ("PRIORVALUE('x') = 'y'", "PRIORVALUE needs a field as its first argument", 12),
        ("ISCHANGED($User.Id)", "ISCHANGED needs a field as its first argument", 11),
        ("ISPICKVAL('Open', 'Open')", "ISPICKVAL needs a field as its first argument", 11),
        ("INCLUDES(Name & 'x', 'a')", "INCLUDES needs a field as its first argument", 10),
        (
            "ISPICKVAL(Name, 'Open')",
            "ISPICKVAL needs a picklist field; Name is Text",
            11,
        ),
        (
            "ISPICKVAL(PRIORVALUE(Name), 'Open')",
            "ISPICKVAL needs a picklist field; Name is Text",
            22,
        ),
        (
            "INCLUDES(Status__c, 'a')",
            "INCLUDES needs a multi-select picklist field; Status__c is Picklist",
            10,
        ),
        (
            "ISPICKVAL(Account__r.Name, 'a')",
            "ISPICKVAL needs a picklist field; Account__r.Name is Text",
            11,
        ),
    ],
)
def test_field_argument_rules(source: str, message: str, column: int) -> None:
    assert problems(source) == [(message, 1, column)]


@pytest.mark.parametrize(
    "source",
    [
        "ISPICKVAL(Account__r.Type__c, 'a')",
        "ISPICKVAL($User.Region__c, 'a')",  # a global's type is unknown
        "INCLUDES(Legacy__c, 'a')",  # type not known: no type check
    ],
)
def test_field_arguments_that_are_fine(source: str) -> None:
    assert problems(source) == []


def test_picklist_type_names_are_compared_loosely() -> None:
    types = {("A__c",): "picklist", ("B__c",): "Multi-Select Picklist"}
    node = parse("ISPICKVAL(A__c, 'x') && INCLUDES(B__c, 'y')")
    assert check(node, types.get) == []


def test_an_unknown_field_is_not_also_a_type_error() -> None:
    assert problems("ISPICKVAL(Gone__c, 'x')") == [("unknown field Gone__c", 1, 11)]


def test_check_returns_formula_errors() -> None:
    (problem,) = check(parse("LEN()"), FIELDS.get)
    assert isinstance(problem, FormulaError)
    assert str(problem) == "LEN takes exactly 1 argument, got 0 (formula line 1, column 1)"
