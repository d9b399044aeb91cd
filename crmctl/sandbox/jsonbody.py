"""Request bodies as JSON, strictly: what Python's json module lets through and a CRM must not.

- NaN, Infinity and -Infinity are not JSON (Python accepts them);
- a number beyond floating point (1e999) would silently become infinity;
- a key given twice in one object would silently keep the last value.

Each is a 400 BAD_REQUEST naming what is wrong; so are malformed JSON, text
that is not UTF-8, nesting too deep to parse, and integers over Python's
4,300-digit limit.
"""

from __future__ import annotations

import json
import math
from typing import Any

from crmctl.sandbox.db import SandboxError

__all__ = ["parse_json_body"]


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Python accepts NaN and Infinity; JSON does not


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object of a JSON body; a key given twice is refused, not silently overwritten."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


class _OutOfRange(ValueError):
    pass


def _finite(text: str) -> float:
    """A JSON number with a fraction or exponent; 1e999 would silently become infinity."""
    value = float(text)
    if not math.isfinite(value):
        raise _OutOfRange(f"the number {text[:40]} is out of range")
    return value


def parse_json_body(raw: bytes) -> Any:
    """A request body as JSON, strictly: no NaN or infinity (not even 1e999), no key twice
    in one object; 400 BAD_REQUEST otherwise."""
    try:
        return json.loads(
            raw, parse_constant=_no_constants, parse_float=_finite, object_pairs_hook=_unique_keys
        )
    except _DuplicateKey as dup:
        raise SandboxError(
            f"malformed JSON body: the key {dup.key!r} appears twice in one object",
            code="BAD_REQUEST",
            details={"key": dup.key},
        ) from None
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise SandboxError(f"malformed JSON body: {exc}", code="BAD_REQUEST") from None
