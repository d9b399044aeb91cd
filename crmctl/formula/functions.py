"""The formula functions: how many arguments each takes, and what it computes.

The checker reads the arity; the evaluator calls the implementation. Values
inside the evaluator are `str`, `Decimal`, `bool`, `date`, `datetime` (always
timezone-aware) or `None` for blank. Implementations raise `EvalProblem`; the
evaluator adds the formula position and re-raises it as a FormulaEvalError.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
    InvalidOperation,
)
from typing import Any

from .regex import RegexError, compile_pattern

__all__ = [
    "EvalProblem", "Function", "FUNCTIONS", "lookup_function",
    "normalise", "is_blank", "to_bool", "to_decimal", "to_text", "to_date",
    "to_datetime", "values_equal", "align", "kind_of",
    "parse_number", "parse_date", "parse_datetime", "MAX_TEXT_LENGTH",
]  # fmt: skip


class EvalProblem(Exception):
    """A value problem found while evaluating; the evaluator adds the position."""


@dataclass(frozen=True, slots=True)
class Function:
    """One formula function.

    `kind` says how the evaluator calls `impl`: "values" -> impl(*values);
    "context" -> impl(ctx, *values); "lazy" -> impl(ctx, *thunks), each thunk
    evaluating one argument on demand; "field" -> impl(ctx, field_ref_node).
    """

    name: str
    min_args: int
    max_args: int | None  # None: any number
    impl: Callable[..., Any]
    kind: str = "values"


# ---------------------------------------------------------------- values


def kind_of(value: Any) -> str:
    """The formula type name of a value, for error messages."""
    if value is None:
        return "blank"
    if isinstance(value, bool):
        return "Checkbox"
    if isinstance(value, Decimal):
        return "Number"
    if isinstance(value, datetime):
        return "DateTime"
    if isinstance(value, date):
        return "Date"
    return "Text" if isinstance(value, str) else type(value).__name__


def parse_number(text: str) -> Decimal:
    """A number written as text (VALUE, JSON strings); no NaN or infinity."""
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        raise EvalProblem(f'cannot convert "{text}" to a number') from None
    if not number.is_finite():
        raise EvalProblem(f'cannot convert "{text}" to a number')
    return number


def parse_date(text: str) -> date:
    """A date from "YYYY-MM-DD", or the date part of an ISO date/time."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return parse_datetime(text).date()


def parse_datetime(text: str) -> datetime:
    """An ISO date/time ("2024-01-31 10:00:00", "...T10:00:00.000+0000"); naive means UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise EvalProblem(f'"{text}" is not a date/time (expected YYYY-MM-DD HH:MM:SS)') from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def normalise(value: Any, field_type: str | None = None) -> Any:
    """A record or global value (JSON-ish Python) as an evaluator value."""
    if value is None or isinstance(value, (bool, Decimal)):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (list, tuple)):  # a multi-select picklist as a JSON list
        return ";".join(str(v) for v in value)
    if isinstance(value, str) and field_type and value != "":
        wanted = re.sub(r"[^a-z]", "", field_type.lower())  # "Date/Time" -> "datetime"
        if wanted == "date":
            return parse_date(value)
        if wanted == "datetime":
            return parse_datetime(value)
        if wanted in ("number", "currency", "percent"):
            return parse_number(value)
        if wanted == "checkbox":
            return to_bool(value)
    return value


def is_blank(value: Any) -> bool:
    """ISBLANK: no value, or empty text."""
    return value is None or value == ""


def to_bool(value: Any) -> bool:
    """A condition's truth; blank is false, as an unset checkbox."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise EvalProblem(f"expected a true/false value, got {kind_of(value)}")


def to_decimal(value: Any) -> Decimal | None:
    """A number operand; blank stays blank."""
    if isinstance(value, Decimal) or value is None:
        return value
    if isinstance(value, str):
        return None if value == "" else parse_number(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return normalise(value)
    raise EvalProblem(f"expected a number, got {kind_of(value)}")


def to_text(value: Any) -> str:
    """Text as TEXT() and `&` show it; blank is the empty string."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def to_date(value: Any) -> date | None:
    """A date operand (a date/time gives its UTC date); blank stays blank."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return parse_date(value)
    raise EvalProblem(f"expected a date, got {kind_of(value)}")


def to_datetime(value: Any) -> datetime | None:
    """A date/time operand (a date means its midnight UTC); blank stays blank."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time(), UTC)
    if isinstance(value, str):
        return parse_datetime(value)
    raise EvalProblem(f"expected a date/time, got {kind_of(value)}")


_CONVERT: dict[type, Callable[[Any], Any]] = {
    Decimal: to_decimal, date: to_date, datetime: to_datetime, bool: to_bool,
}  # fmt: skip


def align(a: Any, b: Any) -> tuple[Any, Any]:
    """Two non-blank values made comparable, reading text as the other side's type."""
    if type(a) is type(b):
        return a, b
    if type(a) is date and type(b) is datetime:
        return to_datetime(a), b
    if type(a) is datetime and type(b) is date:
        return a, to_datetime(b)
    try:
        if isinstance(a, str) and type(b) in _CONVERT:
            return _CONVERT[type(b)](a), b
        if isinstance(b, str) and type(a) in _CONVERT:
            return a, _CONVERT[type(a)](b)
    except EvalProblem:
        pass
    raise EvalProblem(f"cannot compare {kind_of(a)} with {kind_of(b)}")


def values_equal(a: Any, b: Any) -> bool:
    """Formula `=`: blank equals blank (and "" is blank), never anything else."""
    if is_blank(a) or is_blank(b):
        return is_blank(a) and is_blank(b)
    a, b = align(a, b)
    return a == b


# ------------------------------------------------------- implementations


def _numeric(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a number function: arguments become Decimals, any blank gives blank."""

    def wrapper(*args: Any) -> Any:
        numbers = [to_decimal(a) for a in args]
        return None if None in numbers else fn(*numbers)

    return wrapper


def _dated(fn: Callable[[date], Any]) -> Callable[[Any], Any]:
    def wrapper(value: Any) -> Any:
        day = to_date(value)
        return None if day is None else fn(day)

    return wrapper


def _logic_and(ctx: Any, *args: Callable[[Any], Any]) -> bool:
    return all(to_bool(arg(ctx)) for arg in args)


def _logic_or(ctx: Any, *args: Callable[[Any], Any]) -> bool:
    return any(to_bool(arg(ctx)) for arg in args)


def _if(ctx: Any, cond: Any, then: Any, otherwise: Any) -> Any:
    return then(ctx) if to_bool(cond(ctx)) else otherwise(ctx)


def _case(ctx: Any, expr: Any, *rest: Any) -> Any:
    value = expr(ctx)
    for i in range(0, len(rest) - 1, 2):
        if values_equal(value, rest[i](ctx)):
            return rest[i + 1](ctx)
    return rest[-1](ctx)


def _blankvalue(ctx: Any, expr: Any, substitute: Any) -> Any:
    value = expr(ctx)
    return substitute(ctx) if is_blank(value) else value


def _nullvalue(ctx: Any, expr: Any, substitute: Any) -> Any:
    value = expr(ctx)
    return substitute(ctx) if value is None else value


def _ischanged(ctx: Any, ref: Any) -> bool:
    if ctx.is_new or ctx.prior is None:
        return False
    try:
        return not values_equal(ctx.field_value(ref.parts), ctx.prior_value(ref.parts))
    except EvalProblem:  # the value changed type, so it changed
        return True


def _priorvalue(ctx: Any, ref: Any) -> Any:
    if ctx.is_new or ctx.prior is None:
        return ctx.field_value(ref.parts)
    return ctx.prior_value(ref.parts)


def _includes(value: Any, wanted: Any) -> bool:
    wanted = to_text(wanted)
    return bool(wanted) and wanted in [v.strip() for v in to_text(value).split(";")]


def _value(text: Any) -> Decimal | None:
    text = to_text(text)
    if text.strip() == "":
        return None
    try:
        return parse_number(text)
    except EvalProblem:
        raise EvalProblem(f'VALUE cannot convert "{text}" to a number') from None


def _isnumber(text: Any) -> bool:
    try:
        return to_decimal(text) is not None
    except EvalProblem:
        return False


def _regex(text: Any, pattern: Any) -> bool:
    if is_blank(text):
        return False
    pattern = to_text(pattern)
    try:
        compiled = compile_pattern(pattern)
    except RegexError as exc:
        shown = pattern if len(pattern) <= 60 else pattern[:57] + "..."
        raise EvalProblem(f"invalid regular expression {shown!r}: {exc}") from None
    return compiled.fullmatch(to_text(text)) is not None


def _count(value: Any) -> int:
    number = to_decimal(value)
    return 0 if number is None else int(number)


def _mid(text: Any, start: Any, length: Any) -> str:
    begin = max(_count(start), 1) - 1
    return to_text(text)[begin : begin + max(_count(length), 0)]


def _find(search: Any, text: Any, start: Any = Decimal(1)) -> Decimal:
    search, begin = to_text(search), _count(start)
    if not search or begin < 1:
        return Decimal(0)
    return Decimal(to_text(text).find(search, begin - 1) + 1)


#: The longest text a formula may build: the longest text field (a LongTextArea).
#: A record write must not be able to ask for gigabytes (RPAD(x, 2000000000)).
MAX_TEXT_LENGTH = 131_072


def _bounded(result_length: int, function: str) -> None:
    if result_length > MAX_TEXT_LENGTH:
        raise EvalProblem(
            f"{function} would make a text of {result_length} characters; "
            f"at most {MAX_TEXT_LENGTH} are allowed"
        )


def _substitute(text: Any, old: Any, new: Any) -> str:
    text, old, new = to_text(text), to_text(old), to_text(new)
    if not old:
        return text
    _bounded(len(text) + text.count(old) * (len(new) - len(old)), "SUBSTITUTE")
    return text.replace(old, new)


def _pad(left: bool) -> Callable[..., str]:
    def pad(text: Any, length: Any, padding: Any = " ") -> str:
        text, size, padding = to_text(text), max(_count(length), 0), to_text(padding) or " "
        if len(text) >= size:
            return text[:size]
        _bounded(size, "LPAD" if left else "RPAD")
        fill = (padding * (size // len(padding) + 1))[: size - len(text)]
        return fill + text if left else text + fill

    return pad


def _casesafeid(value: Any) -> str:
    record_id = to_text(value)
    if len(record_id) != 15:
        return record_id
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    suffix = ""
    for chunk in range(3):
        bits = sum(
            1 << i for i, c in enumerate(record_id[chunk * 5 : chunk * 5 + 5]) if "A" <= c <= "Z"
        )
        suffix += alphabet[bits]
    return record_id + suffix


def _round(number: Decimal, digits: Decimal, mode: str = ROUND_HALF_UP) -> Decimal:
    places = int(digits)
    result = number.quantize(Decimal(1).scaleb(-places), rounding=mode)
    return Decimal(int(result)) if places <= 0 else result


def _sqrt(number: Decimal) -> Decimal:
    if number < 0:
        raise EvalProblem("SQRT of a negative number")
    return number.sqrt()


def _logarithm(name: str, log: Callable[[Decimal], Decimal]) -> Callable[[Decimal], Decimal]:
    def wrapper(number: Decimal) -> Decimal:
        if number <= 0:
            raise EvalProblem(f"{name} of a number that is not positive")
        return log(number)

    return wrapper


def _hyperlink(url: Any, label: Any, target: Any = "_blank") -> str:
    return f'<a href="{to_text(url)}" target="{to_text(target)}">{to_text(label)}</a>'


def _mod(number: Decimal, divisor: Decimal) -> Decimal:
    if divisor == 0:
        raise EvalProblem("division by zero")
    return number % divisor


def _extreme(pick: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*values: Any) -> Any:
        if any(is_blank(v) for v in values):
            return None
        if all(isinstance(v, date) for v in values):
            if len({type(v) for v in values}) > 1:  # a Date among DateTimes
                values = tuple(to_datetime(v) for v in values)
            return pick(values)
        return pick(to_decimal(v) for v in values)

    return wrapper


def _date(year: Decimal, month: Decimal, day: Decimal) -> date:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise EvalProblem(f"DATE({year}, {month}, {day}) is not a valid date") from None


def _add_months(value: Any, months: Any) -> Any:
    start = value if isinstance(value, date) else to_date(value)
    count = to_decimal(months)
    if start is None or count is None:
        return None
    year, month = divmod(start.year * 12 + start.month - 1 + int(count), 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    at_month_end = start.day == calendar.monthrange(start.year, start.month)[1]
    try:
        return start.replace(
            year=year, month=month + 1, day=last_day if at_month_end else min(start.day, last_day)
        )
    except ValueError:
        raise EvalProblem("ADDMONTHS result is out of range") from None


def _unsupported(name: str) -> Callable[..., Any]:
    def fail(*_: Any) -> Any:
        raise EvalProblem(f"{name} cannot be evaluated here (it reads other records)")

    return fail


def _f(
    name: str, low: int, high: int | None, impl: Callable[..., Any], kind: str = "values"
) -> Function:
    return Function(name, low, high, impl, kind)


_TABLE = [
    # logic
    _f("AND", 1, None, _logic_and, "lazy"),
    _f("OR", 1, None, _logic_or, "lazy"),
    _f("NOT", 1, 1, lambda v: not to_bool(v)),
    _f("IF", 3, 3, _if, "lazy"),
    _f("CASE", 4, None, _case, "lazy"),
    _f("ISBLANK", 1, 1, is_blank),
    _f("ISNULL", 1, 1, lambda v: v is None),
    _f("BLANKVALUE", 2, 2, _blankvalue, "lazy"),
    _f("NULLVALUE", 2, 2, _nullvalue, "lazy"),
    _f("ISNUMBER", 1, 1, _isnumber),
    _f("ISNEW", 0, 0, lambda ctx: bool(ctx.is_new), "context"),
    _f("ISCLONE", 0, 0, lambda ctx: False, "context"),
    _f("ISCHANGED", 1, 1, _ischanged, "field"),
    _f("PRIORVALUE", 1, 1, _priorvalue, "field"),
    _f("ISPICKVAL", 2, 2, lambda v, s: to_text(v) == to_text(s)),
    _f("INCLUDES", 2, 2, _includes),
    # text
    _f("TEXT", 1, 1, to_text),
    _f("VALUE", 1, 1, _value),
    _f("LEN", 1, 1, lambda t: Decimal(len(to_text(t)))),
    _f("CONTAINS", 2, 2, lambda t, s: to_text(s) in to_text(t)),
    _f("BEGINS", 2, 2, lambda t, s: to_text(t).startswith(to_text(s))),
    _f("REGEX", 2, 2, _regex),
    _f("UPPER", 1, 2, lambda t, _locale=None: to_text(t).upper()),
    _f("LOWER", 1, 2, lambda t, _locale=None: to_text(t).lower()),
    _f("INITCAP", 1, 1, lambda t: to_text(t).title()),
    _f("TRIM", 1, 1, lambda t: to_text(t).strip()),
    _f("REVERSE", 1, 1, lambda t: to_text(t)[::-1]),
    _f("LEFT", 2, 2, lambda t, n: to_text(t)[: max(_count(n), 0)]),
    _f("RIGHT", 2, 2, lambda t, n: to_text(t)[-_count(n) :] if _count(n) > 0 else ""),
    _f("MID", 3, 3, _mid),
    _f("FIND", 2, 3, _find),
    _f("SUBSTITUTE", 3, 3, _substitute),
    _f("LPAD", 2, 3, _pad(left=True)),
    _f("RPAD", 2, 3, _pad(left=False)),
    _f("BR", 0, 0, lambda: "<br>"),
    _f("HYPERLINK", 2, 3, _hyperlink),
    _f("IMAGE", 2, 4, lambda url, alt, *_size: f'<img src="{to_text(url)}" alt="{to_text(alt)}">'),
    _f("CASESAFEID", 1, 1, _casesafeid),
    # math
    _f("ABS", 1, 1, _numeric(abs)),
    _f("ROUND", 2, 2, _numeric(_round)),
    _f("TRUNC", 1, 2, _numeric(lambda n, d=Decimal(0): _round(n, d, ROUND_DOWN))),
    _f("CEILING", 1, 1, _numeric(lambda n: n.to_integral_value(ROUND_UP))),  # away from zero
    _f("FLOOR", 1, 1, _numeric(lambda n: n.to_integral_value(ROUND_DOWN))),  # towards zero
    _f("MCEILING", 1, 1, _numeric(lambda n: n.to_integral_value(ROUND_CEILING))),
    _f("MFLOOR", 1, 1, _numeric(lambda n: n.to_integral_value(ROUND_FLOOR))),
    _f("MAX", 1, None, _extreme(max)),
    _f("MIN", 1, None, _extreme(min)),
    _f("MOD", 2, 2, _numeric(_mod)),
    _f("SQRT", 1, 1, _numeric(_sqrt)),
    _f("EXP", 1, 1, _numeric(Decimal.exp)),
    _f("LN", 1, 1, _numeric(_logarithm("LN", Decimal.ln))),
    _f("LOG", 1, 1, _numeric(_logarithm("LOG", Decimal.log10))),
    # dates
    _f("TODAY", 0, 0, lambda ctx: ctx.today(), "context"),
    _f("NOW", 0, 0, lambda ctx: ctx.now_value(), "context"),
    _f("DATE", 3, 3, _numeric(_date)),
    _f("DATEVALUE", 1, 1, to_date),
    _f("DATETIMEVALUE", 1, 1, to_datetime),
    _f("YEAR", 1, 1, _dated(lambda d: Decimal(d.year))),
    _f("MONTH", 1, 1, _dated(lambda d: Decimal(d.month))),
    _f("DAY", 1, 1, _dated(lambda d: Decimal(d.day))),
    _f("WEEKDAY", 1, 1, _dated(lambda d: Decimal((d.weekday() + 1) % 7 + 1))),  # 1 = Sunday
    _f("DAYOFYEAR", 1, 1, _dated(lambda d: Decimal(d.timetuple().tm_yday))),
    _f("ISOWEEK", 1, 1, _dated(lambda d: Decimal(d.isocalendar()[1]))),
    _f("ISOYEAR", 1, 1, _dated(lambda d: Decimal(d.isocalendar()[0]))),
    _f("ADDMONTHS", 2, 2, _add_months),
    # other records
    _f("VLOOKUP", 3, 3, _unsupported("VLOOKUP")),
]

FUNCTIONS: dict[str, Function] = {f.name: f for f in _TABLE}


def lookup_function(name: str) -> Function | None:
    """The function called `name` (any case), or None if there is no such function."""
    return FUNCTIONS.get(name.upper())
