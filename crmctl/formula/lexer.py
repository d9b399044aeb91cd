"""Split formula text into tokens, each with the line and column it starts at.

Token kinds: `number`, `string`, `name` (a field or function name, possibly
dotted, with polymorphic parts such as `Owner:User`), `global` (`$User.Id`), `end`, and for operators and punctuation the
operator text itself (`&&`, `(`, `,` ...). Comments and whitespace vanish here.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .ast import FormulaError

__all__ = ["Token", "tokenize"]

# Longest first, so `<=` is not read as `<` followed by `=`.
OPERATORS = (
    "||", "&&", "==", "!=", "<>", "<=", ">=",
    "=", "<", ">", "&", "+", "-", "*", "/", "^", "!", "(", ")", ",",
)  # fmt: skip

# A polymorphic relationship names the object it is read as: `Owner:User.Profile.Name`,
# `Owner:Queue.Id` (`Name:Type` is one part; it is never the last part).
_NAME = re.compile(
    r"[A-Za-z_][A-Za-z0-9_]*(?::[A-Za-z_][A-Za-z0-9_]*(?=\.))?"
    r"(?:\.[A-Za-z_][A-Za-z0-9_]*(?::[A-Za-z_][A-Za-z0-9_]*(?=\.))?)*"
)
_NUMBER = re.compile(r"\d+(?:\.\d+)?|\.\d+")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_ESCAPES = {
    '"': '"', "'": "'", "\\": "\\", "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Token:
    """One token: `value` is the decoded text, the Decimal, or the name's parts."""

    kind: str
    text: str
    value: Any
    line: int
    column: int


class _Positions:
    """Turns an offset in the text into a 1-based (line, column)."""

    def __init__(self, text: str) -> None:
        self._starts = [0] + [m.end() for m in _LINE_BREAK.finditer(text)]

    def __call__(self, offset: int) -> tuple[int, int]:
        index = bisect_right(self._starts, offset) - 1
        return index + 1, offset - self._starts[index] + 1


def tokenize(text: str) -> list[Token]:
    """All tokens of `text`, ending with an `end` token; raises FormulaError."""
    where = _Positions(text)
    tokens: list[Token] = []
    i, size = 0, len(text)

    def error(message: str, offset: int) -> FormulaError:
        return FormulaError(message, *where(offset))

    while True:
        while i < size and text[i].isspace():
            i += 1
        if i >= size:
            tokens.append(Token("end", "", None, *where(size)))
            return tokens
        ch = text[i]
        start = i
        if text.startswith("/*", i):
            close = text.find("*/", i + 2)
            if close < 0:
                raise error("unterminated comment", i)
            i = close + 2
            continue
        if ch == '"' or ch == "'":
            value, i = _read_string(text, i, error)
            tokens.append(Token("string", text[start:i], value, *where(start)))
            continue
        match = _NUMBER.match(text, i)
        if match:
            i = match.end()
            tokens.append(Token("number", match.group(), Decimal(match.group()), *where(start)))
            continue
        match = _NAME.match(text, i + 1 if ch == "$" else i)
        if match:
            i = match.end()
            parts = tuple(text[start:i].split("."))
            kind = "global" if ch == "$" else "name"
            tokens.append(Token(kind, text[start:i], parts, *where(start)))
            continue
        for op in OPERATORS:
            if text.startswith(op, i):
                i += len(op)
                tokens.append(Token(op, op, op, *where(start)))
                break
        else:
            raise error(f"unexpected character '{ch}'", i)


def _read_string(
    text: str, start: int, error: Callable[[str, int], FormulaError]
) -> tuple[str, int]:
    """Decode the string literal opening at `start`; return it and the offset after it."""
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == quote:
            return "".join(out), i + 1
        if ch == "\\":
            if i + 1 >= len(text):
                break
            escaped = _ESCAPES.get(text[i + 1])
            if escaped is None:
                # Salesforce rejects unknown escapes; a regex needs `\\d`, not `\d`.
                raise error(f"invalid escape sequence '\\{text[i + 1]}' in string", i)
            out.append(escaped)
            i += 2
            continue
        out.append(ch)
        i += 1
    raise error("unterminated string", start)
