"""JSON written to a file piece by piece: one entry a line, never the whole document in memory.

History files and the apply journal hold snapshots of a whole org (100,000
resources and more). `json.dumps(data, indent=...)` builds the whole text in
memory with the pure-Python encoder; here the outer containers are written
one entry a line and each entry is encoded by the C encoder on its own, so
memory stays at one entry and the time at the C encoder's. The result is
ordinary JSON (any JSON reader reads it), and a snapshot diffs in git one
resource a line.

A value may be a `Streamed`: a mapping or list produced on demand (from a
factory, so it can be written more than once), for data that should never
exist as one Python object (a snapshot computed from live resources).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["Streamed", "write_json", "write_json_file", "materialise"]

_ENCODE = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(", ", ": ")).encode


class Streamed:
    """A JSON object (`pairs`) or array produced on demand, as often as it is written."""

    def __init__(self, factory: Callable[[], Iterable[Any]], pairs: bool) -> None:
        self._factory = factory
        self.pairs = pairs

    def __iter__(self) -> Iterator[Any]:
        return iter(self._factory())

    @classmethod
    def mapping(cls, factory: Callable[[], Iterable[tuple[str, Any]]]) -> Streamed:
        return cls(factory, pairs=True)

    @classmethod
    def sequence(cls, factory: Callable[[], Iterable[Any]]) -> Streamed:
        return cls(factory, pairs=False)


def materialise(value: Any) -> Any:
    """`value` with every Streamed turned into a dict or list (for code that needs the data)."""
    if isinstance(value, Streamed):
        if value.pairs:
            return {k: materialise(v) for k, v in value}
        return [materialise(v) for v in value]
    if isinstance(value, dict):
        return {k: materialise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [materialise(v) for v in value]
    return value


def _compact(value: Any) -> str:
    if isinstance(value, Streamed) or (isinstance(value, dict | list) and _holds_streamed(value)):
        value = materialise(value)
    return _ENCODE(value)


def _holds_streamed(value: Any) -> bool:
    items = value.values() if isinstance(value, dict) else value
    return any(isinstance(v, Streamed) for v in items)


def write_json(out: IO[str], value: Any, expand: int = 2, indent: int = 0) -> None:
    """Write `value` as JSON: containers down to depth `expand` one entry a line, the rest compact.

    Object keys are sorted (a Streamed mapping is written in the order it yields).
    """
    pad = " " * (indent + 1)
    if expand > 0 and isinstance(value, dict | Streamed) and not isinstance(value, list):
        if isinstance(value, dict):
            pairs: Iterable[tuple[Any, Any]] = sorted(value.items())
            is_object = True
        else:
            pairs = value if value.pairs else enumerate(value)
            is_object = value.pairs
        opened = False
        for key, item in pairs:
            out.write(("{" if is_object else "[") if not opened else ",")
            out.write("\n" + pad)
            if is_object:
                out.write(_ENCODE(key) + ": ")
            write_json(out, item, expand - 1, indent + 1)
            opened = True
        if not opened:
            out.write("{}" if is_object else "[]")
        else:
            out.write("\n" + " " * indent + ("}" if is_object else "]"))
        return
    if expand > 0 and isinstance(value, list) and value:
        for i, item in enumerate(value):
            out.write(("[" if i == 0 else ",") + "\n" + pad)
            write_json(out, item, expand - 1, indent + 1)
        out.write("\n" + " " * indent + "]")
        return
    out.write(_compact(value))


def write_json_file(path: Path, value: Any, expand: int = 2, durable: bool = False) -> None:
    """Write `value` to `path` (see write_json); with `durable`, fsync before returning."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", buffering=1 << 20) as out:
        write_json(out, value, expand)
        out.write("\n")
        if durable:
            out.flush()
            os.fsync(out.fileno())
