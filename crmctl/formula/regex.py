"""REGEX() patterns, run by RE2: matching time grows linearly with the text, never exponentially.

A formula is evaluated on every record write of the sandbox CRM (and in
impact previews). With a backtracking engine, `REGEX(Name, '(a+)+$')` takes
seconds for a name of 25 letters and doubles with each one more, while the
write holds the sandbox's lock. RE2 has no such patterns; what it does not
support is refused when the formula is checked (`crmctl validate`), so it
never reaches a CRM.

Salesforce evaluates REGEX() with Java's regular expressions. What Java
accepts and RE2 refuses (each refused with the reason at validate):

- backreferences: `(a)\\1`, `\\k<name>`
- lookahead and lookbehind: `(?=...)`, `(?!...)`, `(?<=...)`, `(?<!...)`
- possessive quantifiers `a*+` and atomic groups `(?>...)`
- `\\Z` (RE2 has only `\\z`), `\\G`, `\\R`, `\\X`, `\\h`, `\\H`, `\\v`-style Java classes
- Java-only classes such as `\\p{javaLowerCase}` and `\\p{Alpha}`-style POSIX names
- repetition counts above 1000 (`a{1001}`), and patterns whose compiled
  program exceeds RE2's memory budget
"""

from __future__ import annotations

from functools import lru_cache

import re2

__all__ = ["RegexError", "compile_pattern", "MAX_PATTERN_CHARS"]

#: Longer patterns are refused outright; hand-written ones are far shorter.
MAX_PATTERN_CHARS = 2000
#: RE2's memory budget for one compiled pattern (its default is 8 MB).
_MAX_MEM = 2 * 1024 * 1024

_UNSUPPORTED = (
    ("(?=", "lookahead"),
    ("(?!", "negative lookahead"),
    ("(?<=", "lookbehind"),
    ("(?<!", "negative lookbehind"),
    ("(?>", "atomic groups"),
)


class RegexError(ValueError):
    """A REGEX() pattern that cannot be run; the message says why."""


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # RE2 would print every refused pattern to stderr
    options.max_mem = _MAX_MEM
    return options


def _reason(pattern: str, detail: str) -> str:
    for marker, name in _UNSUPPORTED:
        if marker in pattern:
            return f"{name} '{marker}...)' is not supported: patterns must run in linear time"
    backslash_digit = "invalid escape sequence: \\" in detail and detail[-1:].isdigit()
    if "backreference" in detail or backslash_digit:
        return "backreferences (\\1) are not supported: patterns must run in linear time"
    if "invalid repetition size" in detail or "bad repetition operator" in detail:
        return f"{detail} (RE2 allows repeat counts up to 1000 and no possessive quantifiers)"
    if "pattern too large" in detail:
        return "the pattern is too large to run"
    return detail


@lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> re2._Regexp:
    """The compiled pattern; RegexError when it is invalid or RE2 cannot run it."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise RegexError(
            f"the pattern is {len(pattern)} characters long; at most {MAX_PATTERN_CHARS} are allowed"
        )
    try:
        return re2.compile(pattern, _options())
    except re2.error as exc:
        raw = exc.args[0] if exc.args else ""
        detail = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        raise RegexError(_reason(pattern, detail)) from None
