"""Turn formula text into a syntax tree (a Pratt parser over the lexer's tokens).

Precedence, loosest first; all binary operators are left-associative, and
the prefix operators bind tightest (so `-2^2` is 4, as in spreadsheets)::

    ||   &&   = == != <> < <= > >=   &   + -   * /   ^   prefix - + !
"""

from __future__ import annotations

from .ast import BinaryOp, Call, FieldRef, FormulaError, GlobalRef, Literal, Node, UnaryOp
from .lexer import Token, tokenize

__all__ = ["parse", "MAX_DEPTH"]

_INFIX_POWER = {
    "||": 10, "&&": 20,
    "=": 30, "==": 30, "!=": 30, "<>": 30, "<": 30, "<=": 30, ">": 30, ">=": 30,
    "&": 40, "+": 50, "-": 50, "*": 60, "/": 60, "^": 70,
}  # fmt: skip
_PREFIX_POWER = 80
# One spelling per operator, so later stages need not know the synonyms.
_CANONICAL = {"==": "=", "<>": "!="}
_KEYWORDS = {"TRUE": True, "FALSE": False, "NULL": None}

# Far deeper than any real formula, and well inside Python's recursion limit.
MAX_DEPTH = 100


def parse(text: str) -> Node:
    """Parse a whole formula; raises FormulaError on the first syntax error."""
    tokens = tokenize(text)
    if tokens[0].kind == "end":
        raise FormulaError("empty formula", 1, 1)
    parser = _Parser(tokens)
    node = parser.expression(0)
    if parser.peek().kind != "end":
        raise _unexpected(parser.peek())
    return node


class _Parser:
    """Cursor over the token list, with one method per grammar rule."""

    def __init__(self, tokens: list[Token]) -> None:
        self._tokens = tokens
        self._pos = 0
        self._depth = 0

    def peek(self) -> Token:
        return self._tokens[self._pos]

    def advance(self) -> Token:
        token = self._tokens[self._pos]
        if token.kind != "end":
            self._pos += 1
        return token

    def expression(self, min_power: int) -> Node:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            token = self.peek()
            raise FormulaError("formula is nested too deeply", token.line, token.column)
        left = self._prefix()
        while True:
            token = self.peek()
            power = _INFIX_POWER.get(token.kind)
            if power is None or power <= min_power:
                break
            self.advance()
            right = self.expression(power)
            op = _CANONICAL.get(token.kind, token.kind)
            left = BinaryOp(op, left, right, token.line, token.column)
        self._depth -= 1
        return left

    def _prefix(self) -> Node:
        token = self.advance()
        kind = token.kind
        if kind == "number" or kind == "string":
            return Literal(token.value, token.line, token.column)
        if kind == "global":
            return GlobalRef(token.value, token.line, token.column)
        if kind == "name":
            parts = token.value
            if len(parts) == 1 and parts[0].upper() in _KEYWORDS:
                return Literal(_KEYWORDS[parts[0].upper()], token.line, token.column)
            if len(parts) == 1 and self.peek().kind == "(":
                return self._call(token)
            return FieldRef(parts, token.line, token.column)
        if kind in ("-", "+", "!"):
            operand = self.expression(_PREFIX_POWER)
            return UnaryOp(kind, operand, token.line, token.column)
        if kind == "(":
            inner = self.expression(0)
            self._close(token)
            return inner
        raise _unexpected(token)

    def _call(self, name: Token) -> Call:
        opening = self.advance()
        args: list[Node] = []
        if self.peek().kind == ")":
            self.advance()
        else:
            while True:
                args.append(self.expression(0))
                if self.peek().kind != ",":
                    break
                self.advance()
            self._close(opening)
        return Call(name.text, tuple(args), name.line, name.column)

    def _close(self, opening: Token) -> None:
        """Consume the `)` that matches `opening`."""
        token = self.advance()
        if token.kind == ")":
            return
        raise _unexpected(token, opening)


def _unexpected(token: Token, opening: Token | None = None) -> FormulaError:
    """The error for a token that cannot appear where it was found."""
    if token.kind == "end" and opening is not None:
        where = f"column {opening.column}"
        if opening.line != token.line:
            where = f"line {opening.line}, {where}"
        message = f"missing ')' to close '(' opened at {where}"
    elif token.kind == "end":
        message = "unexpected end of formula"
    elif token.kind == "string":
        message = f"unexpected text {token.text}"
    else:
        message = f"unexpected '{token.text}'"
    return FormulaError(message, token.line, token.column)
