"""OData as Dataverse speaks it: resource paths, query options, `$filter`, errors, paging.

Errors are `{"error": {"code": "0x…", "message": …}}` (`DataverseFault`).
Codes used (hex of the platform's error numbers): 0x80040217 object does not
exist, 0x80040203 invalid argument, 0x80040237 duplicate, 0x80040220 access
denied (missing privilege), 0x80060888 OData query option not supported or
malformed, 0x8004F01F component referenced by others, 0x80072322 request
limit (429). Codes other than 0x80072322 / 0x80040333 were not confirmed
against a live environment (VERIFY).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "DataverseFault",
    "Segment",
    "parse_path",
    "parse_key",
    "parse_filter",
    "evaluate",
    "select",
    "order",
    "encode_token",
    "decode_token",
    "split_top",
]

NOT_FOUND = "0x80040217"
INVALID = "0x80040203"
DUPLICATE = "0x80040237"
ACCESS_DENIED = "0x80040220"
QUERY = "0x80060888"
REFERENCED = "0x8004F01F"
RATE_LIMIT = "0x80072322"


@dataclass
class DataverseFault(Exception):
    """An error answered in Dataverse's shape."""

    status: int
    code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


def bad(message: str, code: str = INVALID, status: int = 400) -> DataverseFault:
    return DataverseFault(status, code, message)


@dataclass(frozen=True)
class Segment:
    """One path segment: `name` and the text inside its parentheses (None when absent)."""

    name: str
    key: str | None = None


def _split(text: str, sep: str) -> list[str]:
    """Split on `sep` outside quotes and parentheses."""
    parts, depth, quoted, current = [], 0, False, []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "'":
            if quoted and text[i + 1 : i + 2] == "'":
                current.append("''")
                i += 2
                continue
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        if ch == sep and not quoted and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


def parse_path(path: str) -> list[Segment]:
    """`EntityDefinitions(LogicalName='x')/Attributes` → segments."""
    segments = []
    for part in _split(path.strip("/"), "/"):
        if not part:
            continue
        match = re.fullmatch(r"([^()]+)(?:\((.*)\))?", part, re.S)
        if match is None:
            raise bad(f"Resource not found for the segment '{part}'.", QUERY, 404)
        segments.append(Segment(match.group(1), match.group(2)))
    return segments


def literal(text: str, aliases: dict[str, str] | None = None) -> Any:
    """An OData literal: 'text', 12, 1.5, true, null, a GUID, @alias."""
    text = text.strip()
    if text.startswith("@") and aliases is not None:
        if text not in aliases:
            raise bad(f"The parameter alias {text} is not defined.", QUERY)
        return literal(aliases[text])
    if len(text) >= 2 and text[0] == "'" and text[-1] == "'":
        return text[1:-1].replace("''", "'")
    enum = re.fullmatch(r"[\w.]+'([^']*)'", text)
    if enum:
        return enum.group(1)
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d*(e-?\d+)?", lowered):
        return float(text)
    if text.startswith("{") or text.startswith("["):
        try:
            return json.loads(text)
        except ValueError:
            pass
    return text  # GUIDs and other bare words


def parse_key(key: str, aliases: dict[str, str] | None = None) -> dict[str, Any] | str:
    """`guid` → the id; `LogicalName='x',A=1` → {name: value}."""
    parts = _split(key, ",")
    if len(parts) == 1 and "=" not in parts[0]:
        return str(literal(parts[0], aliases)).strip("{}").lower()
    pairs: dict[str, Any] = {}
    for part in parts:
        name, eq, value = part.partition("=")
        if not eq:
            raise bad(f"Bad key segment '{key}'.", QUERY)
        pairs[name.strip()] = literal(value, aliases)
    return pairs


# $filter: a small recursive-descent parser over the comparison and logical operators.

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<enum>[\w.]+'[^']*')|(?P<op>\(|\)|,)"
    r"|(?P<word>[\w./@$:+-]+))"
)
_COMPARE = {"eq", "ne", "gt", "ge", "lt", "le"}
_FUNCS = {"contains", "startswith", "endswith"}

Node = tuple[Any, ...]


def _tokens(text: str) -> list[str]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise bad(f"Syntax error at position {pos} in '{text}'.", QUERY)
        out.append(match.group().strip())
        pos = match.end()
    return out


def parse_filter(text: str) -> Node:
    tokens = _tokens(text)
    node, rest = _or(tokens)
    if rest:
        raise bad(f"Syntax error at '{rest[0]}' in '{text}'.", QUERY)
    return node


def _or(tokens: list[str]) -> tuple[Node, list[str]]:
    left, tokens = _and(tokens)
    while tokens and tokens[0].lower() == "or":
        right, tokens = _and(tokens[1:])
        left = ("or", left, right)
    return left, tokens


def _and(tokens: list[str]) -> tuple[Node, list[str]]:
    left, tokens = _unary(tokens)
    while tokens and tokens[0].lower() == "and":
        right, tokens = _unary(tokens[1:])
        left = ("and", left, right)
    return left, tokens


def _unary(tokens: list[str]) -> tuple[Node, list[str]]:
    if not tokens:
        raise bad("Syntax error: the $filter expression ends too early.", QUERY)
    if tokens[0].lower() == "not":
        inner, rest = _unary(tokens[1:])
        return ("not", inner), rest
    if tokens[0] == "(":
        inner, rest = _or(tokens[1:])
        if not rest or rest[0] != ")":
            raise bad("Syntax error: ')' expected in $filter.", QUERY)
        return inner, rest[1:]
    if tokens[0].lower() in _FUNCS:
        name = tokens[0].lower()
        if len(tokens) < 6 or tokens[1] != "(" or tokens[3] != "," or tokens[5] != ")":
            raise bad(f"Syntax error in {name}() of $filter.", QUERY)
        return ("func", name, tokens[2], literal(tokens[4])), tokens[6:]
    if len(tokens) < 3 or tokens[1].lower() not in _COMPARE:
        raise bad(f"Syntax error at '{tokens[0]}' in $filter.", QUERY)
    return ("cmp", tokens[1].lower(), tokens[0], _filter_literal(tokens[2])), tokens[3:]


#: An Edm.DateTimeOffset literal: seconds, fractions and an offset (or Z) as OData allows.
_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,12})?)?(?:Z|[+-]\d{2}:\d{2})",
    re.I,
)


def _instant(text: str) -> datetime | None:
    """An ISO 8601 date-time with an offset → an aware datetime (None when it is not one)."""
    if not _DATE_TIME.fullmatch(text.strip()):
        return None
    head, dot, rest = text.strip().upper().partition(".")
    if dot:  # Python reads at most six fractional digits: cut the rest (below a microsecond)
        digits = re.match(r"\d+", rest)
        assert digits is not None
        rest = digits.group()[:6] + rest[digits.end() :]
        text = f"{head}.{rest}"
    try:
        return datetime.fromisoformat(text.strip().upper()).astimezone(UTC)
    except ValueError:
        return None


def _filter_literal(text: str) -> Any:
    """A literal in $filter: an unquoted date-time is an Edm.DateTimeOffset (an instant)."""
    moment = _instant(text) if not text.strip().startswith("'") else None
    if moment is None and re.fullmatch(r"\d{4}-\d{2}-\d{2}T\S*", text.strip()):
        raise bad(f"The date-time literal '{text}' in $filter is not valid.", QUERY)
    return moment if moment is not None else literal(text)


def _value(item: dict[str, Any], path: str) -> Any:
    value: Any = item
    for part in path.split("/"):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _norm(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _compare(op: str, left: Any, right: Any) -> bool:
    if isinstance(right, datetime):
        # Edm.DateTimeOffset compares as instants, not as text (".72Z" is after "17Z").
        left = _instant(left) if isinstance(left, str) else None
    else:
        left, right = _norm(left), _norm(right)
    if op == "eq":
        return bool(left == right)
    if op == "ne":
        return bool(left != right)
    if left is None or right is None:
        return False
    try:
        return {
            "gt": left > right,
            "ge": left >= right,
            "lt": left < right,
            "le": left <= right,
        }[op]
    except TypeError:
        return False


def evaluate(node: Node, item: dict[str, Any]) -> bool:
    kind = node[0]
    if kind == "or":
        return evaluate(node[1], item) or evaluate(node[2], item)
    if kind == "and":
        return evaluate(node[1], item) and evaluate(node[2], item)
    if kind == "not":
        return not evaluate(node[1], item)
    if kind == "func":
        _, name, path, arg = node
        value = _value(item, path)
        if not isinstance(value, str) or not isinstance(arg, str):
            return False
        value, arg = value.lower(), arg.lower()
        return {
            "contains": arg in value,
            "startswith": value.startswith(arg),
            "endswith": value.endswith(arg),
        }[name]
    _, op, path, right = node
    return _compare(op, _value(item, path), right)


def filter_paths(node: Node) -> list[str]:
    """The property paths a filter names (to check they exist)."""
    if node[0] in ("or", "and"):
        return filter_paths(node[1]) + filter_paths(node[2])
    if node[0] == "not":
        return filter_paths(node[1])
    return [node[2]]


def select(item: dict[str, Any], names: list[str] | None, always: tuple[str, ...] = ()) -> Any:
    if not names:
        return item
    keep = set(names) | set(always)
    return {k: v for k, v in item.items() if k in keep or k.startswith("@odata.")}


def _order_key(value: Any) -> tuple[int, Any]:
    """Date-times order as instants (".9Z" before "17Z" of the next second), the rest as is."""
    moment = _instant(value) if isinstance(value, str) else None
    if moment is not None:
        return (0, moment)
    return (1, _norm(value))


def order(items: list[dict[str, Any]], text: str | None) -> list[dict[str, Any]]:
    if not text:
        return items
    for clause in reversed([c.strip() for c in text.split(",") if c.strip()]):
        name, _, direction = clause.partition(" ")
        descending = direction.strip().lower() == "desc"
        present = [i for i in items if i.get(name) is not None]
        missing = [i for i in items if i.get(name) is None]
        present.sort(key=lambda i: _order_key(i.get(name)), reverse=descending)
        items = present + missing if not descending else present + missing
    return items


def encode_token(position: int) -> str:
    raw = json.dumps({"p": position}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(text: str) -> int:
    try:
        padded = text + "=" * (-len(text) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode()))["p"]
    except (ValueError, KeyError, TypeError):
        raise bad("The $skiptoken is not valid.", QUERY) from None
    if not isinstance(position, int) or position < 0:
        raise bad("The $skiptoken is not valid.", QUERY)
    return position


def split_top(text: str | None) -> int | None:
    if text is None or text == "":
        return None
    if not text.isdigit():
        raise bad(f"Invalid value '{text}' for $top query option.", QUERY)
    return int(text)


def expand_items(text: str | None) -> dict[str, str]:
    """`$expand=Attributes($select=A),OptionSet` → {name: inner options}."""
    out: dict[str, str] = {}
    for part in _split(text or "", ","):
        part = part.strip()
        if not part:
            continue
        match = re.fullmatch(r"([\w.]+)(?:\((.*)\))?", part, re.S)
        if match is None:
            raise bad(f"Invalid $expand '{part}'.", QUERY)
        out[match.group(1)] = match.group(2) or ""
    return out


def inner_options(text: str) -> dict[str, str]:
    """`$select=A,B;$filter=…` (options inside an $expand) → {"$select": "A,B", …}."""
    out: dict[str, str] = {}
    for part in _split(text, ";"):
        name, eq, value = part.partition("=")
        if eq:
            out[name.strip()] = value
    return out
