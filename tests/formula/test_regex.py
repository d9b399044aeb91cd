"""REGEX() runs on RE2: linear time, and patterns it cannot run are refused when checked."""

from __future__ import annotations

import pytest

from crmctl.formula import EvalContext, check, compile_formula, parse


def problems(source: str) -> list[tuple[str, int, int]]:
    return [(p.message, p.line, p.column) for p in check(parse(source), lambda parts: "Text")]


def evaluate(source: str, record: dict) -> object:
    return compile_formula(parse(source))(EvalContext(record=record))


def test_a_nested_quantifier_runs_in_linear_time() -> None:
    # A backtracking engine takes ~2^n steps here; 10,000 letters would never finish.
    rule = "REGEX(Name, '(a+)+$')"
    assert problems(rule) == []
    assert evaluate(rule, {"Name": "a" * 10_000 + "!"}) is False
    assert evaluate(rule, {"Name": "a" * 10_000}) is True


@pytest.mark.parametrize(
    ("source", "message", "column"),
    [
        ("REGEX(Name, '[')", "REGEX pattern is not usable: missing ]: [", 13),
        (
            "REGEX(Name, '(a)\\\\1')",
            "REGEX pattern is not usable: backreferences (\\1) are not supported: "
            "patterns must run in linear time",
            13,
        ),
        (
            "REGEX(Name, '(?=a)a')",
            "REGEX pattern is not usable: lookahead '(?=...)' is not supported: "
            "patterns must run in linear time",
            13,
        ),
        (
            "NOT(REGEX(Name, '(?<!x)a'))",
            "REGEX pattern is not usable: negative lookbehind '(?<!...)' is not supported: "
            "patterns must run in linear time",
            17,
        ),
        (
            "REGEX(Name, 'a{1001}')",
            "REGEX pattern is not usable: invalid repetition size: {1001} "
            "(RE2 allows repeat counts up to 1000 and no possessive quantifiers)",
            13,
        ),
    ],
)
def test_patterns_re2_cannot_run_are_refused_at_check(source: str, message: str, column: int):
    assert problems(source) == [(message, 1, column)]


def test_a_pattern_computed_at_run_time_is_refused_when_evaluated() -> None:
    from crmctl.formula import FormulaEvalError

    with pytest.raises(FormulaEvalError, match=r"invalid regular expression '\[': missing \]: \["):
        evaluate("REGEX(Name, Pattern__c)", {"Name": "x", "Pattern__c": "["})


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "RPAD('x', 2000000000)",
            "RPAD would make a text of 2000000000 characters; at most 131072",
        ),
        ("LPAD('x', 131073, 'ab')", "LPAD would make a text of 131073 characters; at most 131072"),
        (
            "SUBSTITUTE(LPAD('a', 1000, 'a'), 'a', LPAD('b', 1000, 'b'))",
            "SUBSTITUTE would make a text of 1000000",
        ),
        ("LPAD('a', 131072, 'a') & 'b'", "& would make a text of more than 131072 characters"),
    ],
)
def test_text_functions_cannot_ask_for_gigabytes(source: str, message: str) -> None:
    from crmctl.formula import FormulaEvalError

    with pytest.raises(FormulaEvalError, match=message.replace("(", r"\(")):
        evaluate(source, {})


def test_text_up_to_the_limit_is_built() -> None:
    assert evaluate("LEN(RPAD('x', 131072, 'y'))", {}) == 131072
