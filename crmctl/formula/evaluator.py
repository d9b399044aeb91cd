"""Evaluate formulas against records, the way the sandbox CRM runs validation rules.

A formula is compiled once into nested Python closures and then run against
many records: the sandbox evaluates every active rule on every write.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, Overflow
from typing import Any

from .ast import (
    BinaryOp,
    Call,
    FieldRef,
    FormulaError,
    FormulaEvalError,
    GlobalRef,
    Literal,
    Node,
    UnaryOp,
    start_of,
)
from .checker import call_problems
from .functions import (
    MAX_TEXT_LENGTH,
    EvalProblem,
    align,
    is_blank,
    kind_of,
    lookup_function,
    normalise,
    parse_date,
    parse_datetime,
    parse_number,
    to_bool,
    to_decimal,
    to_text,
    values_equal,
)

__all__ = ["EvalContext", "compile_formula", "evaluate"]

Compiled = Callable[["EvalContext"], Any]
# What a failing operator or function may raise; turned into FormulaEvalError.
_PROBLEMS = (EvalProblem, ArithmeticError)
# EvalContext index name -> the attribute it indexes.
_SOURCES = {"record": "record", "prior": "prior", "globals": "globals", "types": "field_types"}


@dataclass
class EvalContext:
    """One record write as formulas see it; make a new one per write (it caches lookups)."""

    record: Mapping[str, Any]  # field API name -> value (None when blank); any case
    prior: Mapping[str, Any] | None = None  # the record before the update; None on insert
    is_new: bool = False
    globals: Mapping[str, Any] = field(default_factory=dict)  # "$User.Id" -> value; any case
    now: datetime | None = None  # defaults to the current UTC time
    related: Callable[[tuple[str, ...]], Any] | None = None  # ("Account__r", "Name") -> value
    field_types: Mapping[str, str] = field(default_factory=dict)  # API name -> crmctl type
    # Lower-cased copies of the mappings, and values already normalised, by
    # lower-cased name; "$now" cannot clash with a field name.
    _indexes: dict[str, dict[str, Any]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _values: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def field_value(self, parts: tuple[str, ...]) -> Any:
        """The current value of a field, or of a related record's field."""
        if len(parts) > 1:
            return self._related_value(parts)
        key = parts[0].lower()
        values = self._values
        if key not in values:
            values[key] = normalise(self._index("record").get(key), self._type(key))
        return values[key]

    def prior_value(self, parts: tuple[str, ...]) -> Any:
        """The field's value before the update (None for related fields)."""
        if len(parts) > 1 or self.prior is None:
            return None
        key = parts[0].lower()
        return normalise(self._index("prior").get(key), self._type(key))

    def global_value(self, name: str) -> Any:
        """The value of a global such as `$User.Id` (None when not given)."""
        return normalise(self._index("globals").get(name.lower()))

    def now_value(self) -> datetime:
        """NOW(), fixed for the whole context so every rule sees the same instant."""
        if "$now" not in self._values:
            moment = self.now or datetime.now(UTC)
            self._values["$now"] = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return self._values["$now"]

    def today(self) -> date:
        """TODAY(): the date of NOW() in the timezone `now` was given in."""
        return self.now_value().date()

    def _index(self, name: str) -> dict[str, Any]:
        index = self._indexes.get(name)
        if index is None:
            source = getattr(self, _SOURCES[name]) or {}
            index = {str(k).lower(): v for k, v in source.items()}
            self._indexes[name] = index
        return index

    def _type(self, key: str) -> str | None:
        return self._index("types").get(key)

    def _related_value(self, parts: tuple[str, ...]) -> Any:
        if self.related is not None:
            return normalise(self.related(parts))
        # Without a resolver, accept what a JSON record may carry: a dotted key
        # ("Account__r.Name") or a nested object ({"Account__r": {"Name": ...}}).
        record = self._index("record")
        dotted = ".".join(parts).lower()
        if dotted in record:
            return normalise(record[dotted])
        value: Any = record.get(parts[0].lower())
        for part in parts[1:]:
            if not isinstance(value, Mapping):
                return None
            value = {str(k).lower(): v for k, v in value.items()}.get(part.lower())
        return normalise(value)


def evaluate(node: Node, context: EvalContext) -> Any:
    """The value of a parsed formula for one record (compiled once, then cached)."""
    entry = _cache.get(id(node))
    if entry is None or entry[0] is not node:
        if len(_cache) >= 1024:
            _cache.clear()
        entry = (node, compile_formula(node))
        _cache[id(node)] = entry
    return entry[1](context)


# Keyed by identity, holding the node so its id cannot be reused while cached:
# structurally equal trees may differ (TRUE == 1 for Python), so no equality key.
_cache: dict[int, tuple[Node, Compiled]] = {}


def compile_formula(node: Node) -> Compiled:
    """Turn a parsed formula into a function of an EvalContext.

    Raises FormulaError for a formula that cannot run (unknown function,
    wrong number of arguments); running it raises FormulaEvalError.
    """
    try:
        return _compile(node)
    except RecursionError:
        raise FormulaError("formula is nested too deeply", node.line, node.column) from None


def _compile(node: Node) -> Compiled:
    if isinstance(node, Literal):
        value = node.value
        return lambda ctx: value
    if isinstance(node, FieldRef):
        return _compile_field(node)
    if isinstance(node, GlobalRef):
        name = node.name
        return lambda ctx: ctx.global_value(name)
    if isinstance(node, UnaryOp):
        return _located(node, _UNARY[node.op], _compile(node.operand))
    if isinstance(node, BinaryOp):
        if node.op in ("&&", "||"):
            return _compile_logic_chain(node)
        return _located(node, _BINARY[node.op], _compile(node.left), _compile(node.right))
    return _compile_call(node)


def _compile_field(node: FieldRef) -> Compiled:
    parts, line, column = node.parts, node.line, node.column

    def run(ctx: EvalContext) -> Any:
        try:
            return ctx.field_value(parts)
        except _PROBLEMS as exc:  # e.g. "2024-13-01" in a Date field
            raise FormulaEvalError(f"{'.'.join(parts)}: {exc}", line, column) from None

    return run


def _located(node: Node, op: Callable[..., Any], *operands: Compiled) -> Compiled:
    """Apply `op` to the operands' values, reporting problems at `node`."""
    line, column = node.line, node.column
    if len(operands) == 1:
        (first,) = operands

        def run(ctx: EvalContext) -> Any:
            try:
                return op(first(ctx))
            except _PROBLEMS as exc:
                raise _eval_error(exc, line, column) from None

        return run
    left, right = operands

    def run2(ctx: EvalContext) -> Any:
        try:
            return op(left(ctx), right(ctx))
        except _PROBLEMS as exc:
            raise _eval_error(exc, line, column) from None

    return run2


def _compile_logic_chain(node: BinaryOp) -> Compiled:
    """`a && b && c` as one short-circuiting loop, not a deep tree of closures."""
    operands: list[Node] = []
    current: Node = node
    while isinstance(current, BinaryOp) and current.op == node.op:
        operands.append(current.right)
        current = current.left
    operands.append(current)
    steps = [(_compile(o), start_of(o)) for o in reversed(operands)]
    stop_on = node.op == "||"  # && stops at the first false, || at the first true

    def run(ctx: EvalContext) -> bool:
        for operand, (line, column) in steps:
            value = operand(ctx)
            try:
                if to_bool(value) is stop_on:
                    return stop_on
            except EvalProblem as exc:
                raise FormulaEvalError(str(exc), line, column) from None
        return not stop_on

    return run


def _compile_call(node: Call) -> Compiled:
    problems = call_problems(node)
    if problems:
        raise problems[0]
    function = lookup_function(node.name)
    assert function is not None  # call_problems reports unknown functions
    impl, line, column = function.impl, node.line, node.column
    if function.kind == "field":
        ref = node.args[0]
        call: Compiled = lambda ctx: impl(ctx, ref)  # noqa: E731
    else:
        args = [_compile(a) for a in node.args]
        if function.kind == "lazy":
            call = lambda ctx: impl(ctx, *args)  # noqa: E731
        elif function.kind == "context":
            call = lambda ctx: impl(ctx, *[a(ctx) for a in args])  # noqa: E731
        elif len(args) == 1:
            (only,) = args
            call = lambda ctx: impl(only(ctx))  # noqa: E731
        elif len(args) == 2:
            first, second = args
            call = lambda ctx: impl(first(ctx), second(ctx))  # noqa: E731
        else:
            call = lambda ctx: impl(*[a(ctx) for a in args])  # noqa: E731

    def run(ctx: EvalContext) -> Any:
        try:
            return call(ctx)
        except _PROBLEMS as exc:
            raise _eval_error(exc, line, column) from None

    return run


def _eval_error(exc: Exception, line: int, column: int) -> FormulaEvalError:
    if isinstance(exc, EvalProblem):
        message = str(exc)
    elif isinstance(exc, ZeroDivisionError):
        message = "division by zero"
    elif isinstance(exc, OverflowError | Overflow):
        message = "number out of range"
    else:  # e.g. the square root of a negative number, written as x ^ 0.5
        message = "invalid calculation"
    return FormulaEvalError(message, line, column)


# ------------------------------------------------------------- operators


def _operand(value: Any) -> Any:
    """An arithmetic operand; text from a JSON record may hold a number or a date."""
    if not isinstance(value, str):
        return value
    try:
        return parse_number(value)
    except EvalProblem:
        pass
    try:
        return parse_date(value) if len(value.strip()) == 10 else parse_datetime(value)
    except (EvalProblem, ValueError):
        raise EvalProblem(f'cannot use text "{value}" in arithmetic') from None


def _number(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, (date, bool)):
        raise EvalProblem(f"expected a number, got {kind_of(value)}")
    return to_decimal(value)  # type: ignore[return-value]


def _shift(day: date, days: Any) -> date:
    count = _number(days)
    if isinstance(day, datetime):
        return day + timedelta(microseconds=int(count * 86_400_000_000))
    return day + timedelta(days=int(count))


def _add(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    if isinstance(a, str) and isinstance(b, str):
        return a + b  # `+` also joins text
    a, b = _operand(a), _operand(b)
    if isinstance(a, date):
        return _shift(a, b)
    if isinstance(b, date):
        return _shift(b, a)
    return _number(a) + _number(b)


def _subtract(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    a, b = _operand(a), _operand(b)
    if isinstance(a, date) and isinstance(b, date):
        if isinstance(a, datetime) or isinstance(b, datetime):
            a, b = align(a, b)
            return Decimal((a - b) // timedelta(microseconds=1)) / Decimal(86_400_000_000)
        return Decimal((a - b).days)
    if isinstance(a, date):
        return _shift(a, -_number(b))
    return _number(a) - _number(b)


def _arithmetic(op: Callable[[Decimal, Decimal], Decimal]) -> Callable[[Any, Any], Any]:
    def apply(a: Any, b: Any) -> Any:
        if a is None or b is None:
            return None
        return op(_number(_operand(a)), _number(_operand(b)))

    return apply


def _divide(a: Decimal, b: Decimal) -> Decimal:
    if b == 0:
        raise EvalProblem("division by zero")
    return a / b


def _ordered(test: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        if is_blank(a) or is_blank(b):
            return False  # nothing is smaller or larger than blank
        a, b = align(a, b)
        try:
            return test(a, b)
        except TypeError:  # e.g. a nested record object from JSON
            raise EvalProblem(f"cannot order {kind_of(a)} values") from None

    return compare


def _negate(value: Any) -> Any:
    return None if value is None else -_number(_operand(value))


def _concatenate(a: str, b: str) -> str:
    if len(a) + len(b) > MAX_TEXT_LENGTH:
        raise EvalProblem(f"& would make a text of more than {MAX_TEXT_LENGTH} characters")
    return a + b


_UNARY: dict[str, Callable[[Any], Any]] = {
    "-": _negate,
    "+": lambda v: None if v is None else _number(_operand(v)),
    "!": lambda v: not to_bool(v),
}
_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": _add,
    "-": _subtract,
    "*": _arithmetic(lambda a, b: a * b),
    "/": _arithmetic(_divide),
    "^": _arithmetic(lambda a, b: a**b),
    "&": lambda a, b: _concatenate(to_text(a), to_text(b)),
    "=": values_equal,
    "!=": lambda a, b: not values_equal(a, b),
    "<": _ordered(lambda a, b: a < b),
    "<=": _ordered(lambda a, b: a <= b),
    ">": _ordered(lambda a, b: a > b),
    ">=": _ordered(lambda a, b: a >= b),
}
