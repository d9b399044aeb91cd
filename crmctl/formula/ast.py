"""The formula syntax tree and the errors that point into formula text.

Every node remembers the 1-based line and column where it starts inside the
formula, so the checker and the evaluator can report problems where the admin
can see them. Exception tree::

    FormulaError         a syntax or check problem at a place in the formula
     └── FormulaEvalError  a formula that failed while being evaluated
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FormulaError",
    "FormulaEvalError",
    "Literal",
    "FieldRef",
    "GlobalRef",
    "UnaryOp",
    "BinaryOp",
    "Call",
    "Node",
    "children",
    "walk",
    "start_of",
    "field_references",
]


class FormulaError(Exception):
    """A syntax or check problem at a line and column of the formula text."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message, line, column)
        self.message = message
        self.line = line
        self.column = column

    def __str__(self) -> str:
        return f"{self.message} (formula line {self.line}, column {self.column})"


class FormulaEvalError(FormulaError):
    """A formula that could not be evaluated (bad VALUE text, division by zero...)."""


@dataclass(frozen=True, slots=True)
class Literal:
    """A constant: text (`str`), number (`Decimal`), `True`/`False`, or NULL (`None`)."""

    value: Any
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class FieldRef:
    """A field of the record, or of a related record when it has several parts."""

    parts: tuple[str, ...]
    line: int
    column: int

    @property
    def name(self) -> str:
        """The reference as written, e.g. `Account__r.Name`."""
        return ".".join(self.parts)


@dataclass(frozen=True, slots=True)
class GlobalRef:
    """A `$` global such as `$User.Id`; `parts[0]` keeps its `$`."""

    parts: tuple[str, ...]
    line: int
    column: int

    @property
    def name(self) -> str:
        """The reference as written, e.g. `$Profile.Name`."""
        return ".".join(self.parts)


@dataclass(frozen=True, slots=True)
class UnaryOp:
    """A prefix operator: `-`, `+` or `!`."""

    op: str
    operand: Node
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class BinaryOp:
    """An infix operator; the position is the operator's, where a type problem shows."""

    op: str
    left: Node
    right: Node
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Call:
    """A function call; `name` is as written (function names are case-insensitive)."""

    name: str
    args: tuple[Node, ...]
    line: int
    column: int


Node = Literal | FieldRef | GlobalRef | UnaryOp | BinaryOp | Call


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-expressions of `node`, in source order."""
    if isinstance(node, Call):
        return node.args
    if isinstance(node, BinaryOp):
        return (node.left, node.right)
    if isinstance(node, UnaryOp):
        return (node.operand,)
    return ()


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, parents before children, in source order.

    Iterative rather than recursive: a long `a && b && ...` chain is a deep
    left-leaning tree and must not hit Python's recursion limit.
    """
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


def start_of(node: Node) -> tuple[int, int]:
    """Where the text of `node` begins (a BinaryOp's own position is its operator's)."""
    while isinstance(node, BinaryOp):
        node = node.left
    return node.line, node.column


def field_references(node: Node) -> list[FieldRef]:
    """Every non-global field reference in source order (duplicates kept)."""
    return [n for n in walk(node) if isinstance(n, FieldRef)]
