"""A small SOQL: enough for configuration queries against the sandbox's Salesforce API.

    SELECT Id, Username, UserRole.DeveloperName FROM User
    WHERE IsActive = true AND (UserType = 'Standard' OR Username LIKE '%@example.com')
    ORDER BY Username DESC LIMIT 10 OFFSET 5

Supported: field lists with parent relationships (`UserRole.DeveloperName`),
`COUNT()`, `COUNT(field) [alias]`, WHERE with = != <> < > <= >= LIKE IN NOT IN,
AND, OR, NOT and parentheses; literals 'text', numbers, true, false, null,
dates (2025-01-31) and dateTimes (2025-01-31T12:00:00Z); ORDER BY, LIMIT,
OFFSET. Names are case-insensitive. Errors raise `SoqlError` with
Salesforce's codes (MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE).

Limits: a statement is at most `MAX_QUERY_LENGTH` characters (Salesforce's
default limit on a SOQL statement) and conditions nest (parentheses, NOT) at
most `MAX_DEPTH` deep; beyond either the answer is MALFORMED_QUERY. AND and
OR chains are flat lists, so their length costs no recursion. LIKE matches
without regular expressions, in time proportional to pattern × value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "Query",
    "SoqlError",
    "parse",
    "run",
    "count",
    "parse_moment",
    "MAX_QUERY_LENGTH",
    "MAX_DEPTH",
]

#: Salesforce's default limit on the length of a SOQL statement, in characters.
MAX_QUERY_LENGTH = 100_000
#: How deep conditions may nest (parentheses and NOT); a real query needs a handful.
MAX_DEPTH = 100

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^'\\]|\\.)*')"
    r"|(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))"
    r"|(?P<date>\d{4}-\d{2}-\d{2}(?![\dT]))"
    r"|(?P<number>-?\d+(?:\.\d+)?)"
    r"|(?P<op><=|>=|!=|<>|=|<|>)|(?P<punct>[(),])|(?P<name>[A-Za-z_][A-Za-z0-9_.]*))"
)
_KEYWORDS = {"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY",
             "ASC", "DESC", "LIMIT", "OFFSET", "NULLS", "FIRST", "LAST", "TRUE", "FALSE", "NULL"}  # fmt: skip


class SoqlError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Query:
    fields: list[str]  # as written; "COUNT()" for a count
    sobject: str
    where: Any = None  # a condition tree, see _Parser.condition
    order: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    limit: int | None = None
    offset: int = 0
    aliases: dict[int, str] = field(default_factory=dict)  # field index -> alias

    @property
    def is_count(self) -> bool:
        return self.fields == ["COUNT()"]

    @property
    def aggregates(self) -> list[tuple[int, str]]:
        """(index, counted field) of each COUNT(field) in the select list."""
        return [
            (i, f[6:-1])
            for i, f in enumerate(self.fields)
            if f.startswith("COUNT(") and f != "COUNT()"
        ]

    def column_name(self, index: int) -> str:
        """An aggregate's key in the result: its alias, or expr0, expr1 … in order."""
        if index in self.aliases:
            return self.aliases[index]
        unnamed = [i for i, _ in self.aggregates if i not in self.aliases]
        return f"expr{unnamed.index(index)}"


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        found = _TOKEN.match(text, pos)
        if not found or found.end() == pos:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token near: {text[pos : pos + 20]!r}")
        kind = found.lastgroup or ""
        value = found.group(kind)
        if kind == "name" and value.upper() in _KEYWORDS:
            kind, value = "keyword", value.upper()
        out.append((kind, value))
        pos = found.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        if len(text) > MAX_QUERY_LENGTH:
            raise SoqlError(
                "MALFORMED_QUERY",
                f"the query is {len(text):,} characters long; "
                f"a SOQL statement may have at most {MAX_QUERY_LENGTH:,}",
            )
        self.tokens = _tokens(text)
        self.pos = 0
        self.depth = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "")

    def take(self, kind: str, value: str | None = None) -> str:
        got = self.peek()
        if got[0] != kind or (value is not None and got[1] != value):
            wanted = value or kind
            raise SoqlError(
                "MALFORMED_QUERY", f"expected {wanted} but found {got[1] or 'end of query'!r}"
            )
        self.pos += 1
        return got[1]

    def accept(self, kind: str, value: str | None = None) -> bool:
        got = self.peek()
        if got[0] == kind and (value is None or got[1] == value):
            self.pos += 1
            return True
        return False

    def query(self) -> Query:
        self.take("keyword", "SELECT")
        fields, aliases = [self.field_item()], {}
        while True:
            if fields[-1].startswith("COUNT(") and self.peek()[0] == "name":
                aliases[len(fields) - 1] = self.take("name")
            if not self.accept("punct", ","):
                break
            fields.append(self.field_item())
        self.take("keyword", "FROM")
        query = Query(fields, self.take("name"), aliases=aliases)
        aggregated = [f for f in fields if f.startswith("COUNT(")]
        if "COUNT()" in fields and len(fields) > 1:
            raise SoqlError(
                "MALFORMED_QUERY", "COUNT() must be the only element in the SELECT list"
            )
        if aggregated and len(aggregated) < len(fields):
            plain = next(f for f in fields if not f.startswith("COUNT("))
            raise SoqlError("MALFORMED_QUERY", f"Field must be grouped or aggregated: {plain}")
        if self.accept("keyword", "WHERE"):
            query.where = self.condition()
        if self.accept("keyword", "ORDER"):
            self.take("keyword", "BY")
            while True:
                name = self.take("name")
                descending = self.accept("keyword", "DESC")
                if not descending:
                    self.accept("keyword", "ASC")
                if self.accept("keyword", "NULLS"):
                    self.accept("keyword", "FIRST") or self.take("keyword", "LAST")
                query.order.append((name, descending))
                if not self.accept("punct", ","):
                    break
        if self.accept("keyword", "LIMIT"):
            query.limit = self.count("LIMIT")
        if self.accept("keyword", "OFFSET"):
            query.offset = self.count("OFFSET")
        if self.peek()[0] != "end":
            raise SoqlError("MALFORMED_QUERY", f"unexpected {self.peek()[1]!r}")
        return query

    def count(self, clause: str) -> int:
        text = self.take("number")
        if not text.isdigit() or len(text) > 9:
            raise SoqlError("MALFORMED_QUERY", f"{clause} must be a whole number below 10^9")
        return int(text)

    def field_item(self) -> str:
        name = self.take("name")
        if name.upper() == "COUNT" and self.accept("punct", "("):
            if self.accept("punct", ")"):
                return "COUNT()"
            counted = self.take("name")
            self.take("punct", ")")
            return f"COUNT({counted})"
        return name

    def condition(self) -> Any:
        """A tree: ("or", [nodes]), ("and", [nodes]), ("not", node) or a comparison."""
        nodes = [self.conjunction()]
        while self.accept("keyword", "OR"):
            nodes.append(self.conjunction())
        return nodes[0] if len(nodes) == 1 else ("or", nodes)

    def conjunction(self) -> Any:
        nodes = [self.factor()]
        while self.accept("keyword", "AND"):
            nodes.append(self.factor())
        return nodes[0] if len(nodes) == 1 else ("and", nodes)

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise SoqlError(
                "MALFORMED_QUERY", f"conditions nest more than {MAX_DEPTH} deep (parentheses, NOT)"
            )

    def factor(self) -> Any:
        if self.accept("keyword", "NOT"):
            self.nested()
            node = ("not", self.factor())
            self.depth -= 1
            return node
        if self.accept("punct", "("):
            self.nested()
            node = self.condition()
            self.take("punct", ")")
            self.depth -= 1
            return node
        name = self.take("name")
        if self.accept("keyword", "NOT"):
            self.take("keyword", "IN")
            return ("not", ("in", name, self.value_list()))
        if self.accept("keyword", "IN"):
            return ("in", name, self.value_list())
        if self.accept("keyword", "LIKE"):
            return ("like", name, self.value())
        return ("cmp", self.take("op"), name, self.value())

    def value_list(self) -> list[Any]:
        self.take("punct", "(")
        values = [self.value()]
        while self.accept("punct", ","):
            values.append(self.value())
        self.take("punct", ")")
        return values

    def value(self) -> Any:
        kind, text = self.peek()
        self.pos += 1
        if kind == "string":
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind == "number":
            if len(text) > 40:
                raise SoqlError("MALFORMED_QUERY", f"number too long: {text[:20]}…")
            return float(text) if "." in text else int(text)
        if kind == "keyword" and text in ("TRUE", "FALSE"):
            return text == "TRUE"
        if kind == "keyword" and text == "NULL":
            return None
        if kind in ("datetime", "date"):
            moment = parse_moment(text)
            if moment is None:
                raise SoqlError("MALFORMED_QUERY", f"invalid date or time: {text}")
            return moment
        raise SoqlError("MALFORMED_QUERY", f"expected a value but found {text or 'end of query'!r}")


def parse(text: str) -> Query:
    return _Parser(text).query()


# --- running ---------------------------------------------------------------------------

#: An sObject's schema: field name -> None for a value, or the parent sObject's name.
Schema = Mapping[str, Mapping[str, str | None]]


def _resolve(schema: Schema, sobject: str, path: str) -> list[str]:
    """The path with each name spelled as the schema does (INVALID_FIELD when unknown)."""
    out, current = [], sobject
    parts = path.split(".")
    for i, part in enumerate(parts):
        fields = {k.lower(): k for k in schema[current]}
        name = fields.get(part.lower())
        if name is None:
            raise SoqlError(
                "INVALID_FIELD",
                f"No such column '{part}' on entity '{current}'. If you are "
                "attempting to use a custom field, be sure to append the '__c' after the custom "
                "field name.",
            )
        target = schema[current][name]
        if i < len(parts) - 1 and target is None:
            raise SoqlError(
                "INVALID_FIELD", f"Didn't understand relationship '{part}' in field path"
            )
        out.append(name)
        if target is not None:
            current = target
    return out


def _get(record: Mapping[str, Any], path: list[str]) -> Any:
    value: Any = record
    for part in path:
        if value is None:
            return None
        value = value.get(part)
    return value


def _like(value: Any, pattern: str) -> bool:
    """SQL LIKE (% any run, _ one character), case-insensitive, without backtracking blow-up.

    The usual wildcard walk: on a mismatch after a %, the % swallows one more
    character and matching resumes from just after it; at most pattern × value steps.
    """
    if not isinstance(value, str):
        return False
    text, pat = value.casefold(), pattern.casefold()
    t = p = 0
    star, mark = -1, 0
    while t < len(text):
        if p < len(pat) and pat[p] != "%" and (pat[p] == "_" or pat[p] == text[t]):
            t, p = t + 1, p + 1
        elif p < len(pat) and pat[p] == "%":
            star, mark, p = p, t, p + 1
        elif star >= 0:
            mark += 1
            t, p = mark, star + 1
        else:
            return False
    while p < len(pat) and pat[p] == "%":
        p += 1
    return p == len(pat)


def parse_moment(text: str) -> datetime | None:
    """A SOQL date or dateTime literal (or a stored value) as an aware datetime."""
    value = text.strip().replace("Z", "+00:00")
    value = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _compare(op: str, left: Any, right: Any) -> bool:
    if isinstance(right, datetime):
        left = parse_moment(left) if isinstance(left, str) else None
        if left is None:
            return op in ("!=", "<>")
    if isinstance(left, str) and isinstance(right, str):
        left, right = left.lower(), right.lower()
    if op == "=":
        return left == right
    if op in ("!=", "<>"):
        return left != right
    if left is None or right is None:
        return False
    try:
        return {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[op]
    except TypeError:
        return False


def _matches(node: Any, record: Mapping[str, Any], paths: Callable[[str], list[str]]) -> bool:
    tag = node[0]
    if tag == "and":
        return all(_matches(n, record, paths) for n in node[1])
    if tag == "or":
        return any(_matches(n, record, paths) for n in node[1])
    if tag == "not":
        return not _matches(node[1], record, paths)
    if tag == "in":
        value = _get(record, paths(node[1]))
        return any(_compare("=", value, v) for v in node[2])
    if tag == "like":
        return _like(_get(record, paths(node[1])), str(node[2]))
    return _compare(node[1], _get(record, paths(node[2])), node[3])


def _conditions_fields(node: Any) -> list[str]:
    if node is None:
        return []
    if node[0] in ("and", "or"):
        return [name for child in node[1] for name in _conditions_fields(child)]
    if node[0] == "not":
        return _conditions_fields(node[1])
    return [node[2] if node[0] == "cmp" else node[1]]


def run(
    query: Query, schema: Schema, rows: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[list[str]]]:
    """The matching rows (sorted, sliced) and the resolved paths of the selected fields."""
    names = {k.lower(): k for k in schema}
    sobject = names.get(query.sobject.lower())
    if sobject is None:
        raise SoqlError(
            "INVALID_TYPE",
            f"sObject type '{query.sobject}' is not supported. If you are attempting to use a "
            "custom object, be sure to append the '__c' after the entity name.",
        )
    query.sobject = sobject
    resolved: dict[str, list[str]] = {}

    def paths(text: str) -> list[str]:
        if text not in resolved:
            resolved[text] = _resolve(schema, sobject, text)
        return resolved[text]

    counted = [f[6:-1] for f in query.fields if f.startswith("COUNT(") and f != "COUNT()"]
    plain = [f for f in query.fields if not f.startswith("COUNT(")]
    selected = [paths(f) for f in plain]
    for name in counted:
        paths(name)
    for name in _conditions_fields(query.where):
        paths(name)
    for name, _ in query.order:
        paths(name)
    found = [r for r in rows if query.where is None or _matches(query.where, r, paths)]
    for name, descending in reversed(query.order):
        path = paths(name)

        def sort_key(record: dict[str, Any], p: Any = path) -> tuple[bool, str]:
            return (_get(record, p) is None, str(_get(record, p)).lower())

        found.sort(key=sort_key, reverse=descending)
    found = found[query.offset :]
    if query.limit is not None:
        found = found[: query.limit]
    return found, selected


def count(query: Query, schema: Schema, rows: list[dict[str, Any]], name: str) -> int:
    """COUNT(name) over `rows` (already filtered): the rows where the field is not null."""
    path = _resolve(schema, query.sobject, name)
    return sum(_get(row, path) is not None for row in rows)
