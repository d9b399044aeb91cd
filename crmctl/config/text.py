"""What text crmctl accepts in manifests: no control characters, one line where a CRM wants one.

A label with an ESC in it repaints a reviewer's terminal, a NUL truncates it
in some CRM APIs, and a right-to-left override makes `Sales_Rep` display as
something else in a pull request. None of them is ever meant.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["control_character", "may_hold_control_character", "line_break", "non_ascii"]

# C0 controls other than tab and line breaks, DEL and the C1 controls, and
# the bidirectional overrides and isolates (the "Trojan Source" characters).
_FORBIDDEN = {
    *(chr(c) for c in range(0x00, 0x20) if chr(c) not in "\t\n\r"),
    chr(0x7F),
    *(chr(c) for c in range(0x80, 0xA0)),
    *(chr(c) for c in range(0x202A, 0x202F)),
    *(chr(c) for c in range(0x2066, 0x206A)),
    "\u2028",  # line and paragraph separators: line breaks that most tools do not show
    "\u2029",
    "\u200b",  # zero width space, and the byte-order mark inside a text: invisible letters
    "\ufeff",
    "\u200e",  # left-to-right and right-to-left marks
    "\u200f",
}
_NAMES = {
    0x00: "NUL",
    0x07: "BEL",
    0x08: "BS",
    0x0B: "VT",
    0x0C: "FF",
    0x1B: "ESC",
    0x7F: "DEL",
    0x85: "NEL",
}


def describe(ch: str) -> str:
    """`U+001B (ESC)` / `U+0456 (CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I)`."""
    code = ord(ch)
    name = _NAMES.get(code) or unicodedata.name(ch, "")
    return f"U+{code:04X}" + (f" ({name})" if name else "")


#: Any forbidden character (the search runs in C).
_FORBIDDEN_ANYWHERE = re.compile("[" + re.escape("".join(sorted(_FORBIDDEN))) + "]")


def control_character(text: str) -> str | None:
    """The first forbidden control character of `text`, described; None if there is none."""
    if text.isprintable() and text.isascii():
        return None  # the common case, checked in C
    found = _FORBIDDEN_ANYWHERE.search(text)
    return describe(found.group()) if found else None


def may_hold_control_character(text: str) -> bool:
    """Whether a YAML scalar read from `text` can hold a forbidden character.

    It can only if `text` holds one itself, or an escape (a backslash, in a
    double-quoted scalar) that can spell one out. False lets a parser skip
    checking each of a file's strings.
    """
    return "\\" in text or _FORBIDDEN_ANYWHERE.search(text) is not None


def line_break(text: str) -> str | None:
    """The first tab or line break of a text that must be one line, described; or None."""
    for ch in text:
        if ch in "\t\n\r":
            return {"\t": "a tab", "\n": "a line break", "\r": "a carriage return"}[ch]
    return None


def non_ascii(text: str) -> tuple[int, str] | None:
    """(1-based position, description) of the first non-ASCII character, or None."""
    if text.isascii():
        return None
    for i, ch in enumerate(text, 1):
        if not ch.isascii():
            return i, describe(ch)
    return None
