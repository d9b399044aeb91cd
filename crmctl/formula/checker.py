"""Static check of a parsed formula: functions, argument counts and fields.

Used by `crmctl validate` before anything is deployed. Problems are collected,
not raised, so one run reports every mistake in a formula.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .ast import Call, FieldRef, FormulaError, GlobalRef, Literal, Node, start_of, walk
from .functions import Function, lookup_function
from .regex import RegexError, compile_pattern

__all__ = ["check", "call_problems"]

FieldLookup = Callable[[tuple[str, ...]], "str | None"]

# Functions that read a field itself (its prior value, its picklist value),
# not just whatever value an expression produces.
_NEEDS_FIELD = {"ISCHANGED", "PRIORVALUE", "ISPICKVAL", "INCLUDES"}
# The field types these accept, compared without case or punctuation.
_NEEDS_TYPE = {
    "ISPICKVAL": ({"picklist"}, "a picklist field"),
    "INCLUDES": ({"multipicklist", "multiselectpicklist"}, "a multi-select picklist field"),
}


def check(node: Node, lookup: FieldLookup) -> list[FormulaError]:
    """Every problem in the formula, in source order.

    `lookup(parts)` returns the type name of a field (e.g. "Picklist"), ""
    for a field that exists but whose type is not known, or None for a field
    that does not exist. Globals (`$User.Id`) are never looked up.
    """
    known: dict[tuple[str, ...], str | None] = {}

    def field_type(parts: tuple[str, ...]) -> str | None:
        if parts not in known:
            known[parts] = lookup(parts)
        return known[parts]

    problems: list[FormulaError] = []
    for current in walk(node):
        if isinstance(current, FieldRef) and field_type(current.parts) is None:
            problems.append(
                FormulaError(f"unknown field {current.name}", current.line, current.column)
            )
        elif isinstance(current, Call):
            problems.extend(call_problems(current, field_type))
    # walk() visits a call before its arguments, but a call's problems sit at
    # its name, and its arguments' problems further right.
    problems.sort(key=lambda p: (p.line, p.column))
    return problems


def call_problems(call: Call, field_type: FieldLookup | None = None) -> list[FormulaError]:
    """Problems with one call itself (not its arguments' own sub-expressions).

    Without `field_type` the field-type checks are skipped; the evaluator uses
    it that way to refuse formulas it could not run.
    """
    function = lookup_function(call.name)
    if function is None:
        return [FormulaError(f"unknown function {call.name}", call.line, call.column)]
    message = _arity_problem(function, len(call.args))
    if message:
        return [FormulaError(message, call.line, call.column)]
    if function.name == "REGEX":
        return _pattern_problems(call.args[1])
    if function.name not in _NEEDS_FIELD:
        return []
    first = call.args[0]
    field = _field_of(first, loose=function.name in _NEEDS_TYPE)
    if field is None:
        line, column = start_of(first)
        return [FormulaError(f"{function.name} needs a field as its first argument", line, column)]
    if function.name in _NEEDS_TYPE and field_type is not None and isinstance(field, FieldRef):
        allowed, wanted = _NEEDS_TYPE[function.name]
        actual = field_type(field.parts)
        if actual and re.sub(r"[^a-z]", "", actual.lower()) not in allowed:
            message = f"{function.name} needs {wanted}; {field.name} is {actual}"
            return [FormulaError(message, field.line, field.column)]
    return []


def _pattern_problems(node: Node) -> list[FormulaError]:
    """A REGEX() pattern written as text is compiled now, so a bad one never reaches a CRM."""
    if not (isinstance(node, Literal) and isinstance(node.value, str)):
        return []  # computed at run time: refused then, as a failed evaluation
    try:
        compile_pattern(node.value)
    except RegexError as exc:
        return [FormulaError(f"REGEX pattern is not usable: {exc}", node.line, node.column)]
    return []


def _arity_problem(function: Function, got: int) -> str | None:
    low, high, name = function.min_args, function.max_args, function.name
    if high is None and got < low:
        return f"{name} needs at least {low} argument{_s(low)}, got {got}"
    if high is not None and low == high == 0 and got:
        return f"{name} takes no arguments, got {got}"
    if high is not None and low == high and got != low:
        return f"{name} takes exactly {low} argument{_s(low)}, got {got}"
    if high is not None and not low <= got <= high:
        return f"{name} takes {low} to {high} arguments, got {got}"
    if name == "CASE" and got % 2:
        return (
            f"CASE needs an expression, value/result pairs and an else result, got {got} arguments"
        )
    return None


def _field_of(node: Node, loose: bool) -> FieldRef | GlobalRef | None:
    """The field `node` names; `loose` also accepts a global or PRIORVALUE(field)."""
    if isinstance(node, FieldRef):
        return node
    if isinstance(node, GlobalRef) and loose:
        return node
    if loose and isinstance(node, Call) and node.name.upper() == "PRIORVALUE" and node.args:
        return _field_of(node.args[0], loose=False)
    return None


def _s(count: int) -> str:
    return "" if count == 1 else "s"
