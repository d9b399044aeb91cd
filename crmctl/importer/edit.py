"""Edit one document of a multi-document manifest file and leave the others as they were.

Only the lines of the edited document are rewritten: the other documents
keep their text, comments and layout byte for byte. Comments inside the
rewritten document are lost (comments just above it, and those closing it
before the next `---`, are kept).
"""

from __future__ import annotations

import re

from crmctl.config.yamlsource import parse_yaml_text

__all__ = ["find_document", "replace_document", "remove_document", "append_document"]

_MARKER = re.compile(r"^(---|\.\.\.)(\s|$)")


def find_document(text: str, kind: str, name: str) -> int | None:
    """The 1-based line where the document declaring kind/name starts, or None."""
    docs, _ = parse_yaml_text(text, "<manifest>")
    for doc in docs:
        data = doc.data
        if (
            isinstance(data, dict)
            and data.get("kind") == kind
            and isinstance(data.get("metadata"), dict)
            and data["metadata"].get("name") == name
        ):
            return doc.source.start_line
    return None


def _is_trivia(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _next_marker(lines: list[str], first: int) -> int:
    return next((i for i in range(first + 1, len(lines)) if _MARKER.match(lines[i])), len(lines))


def _span(lines: list[str], start_line: int) -> tuple[int, int]:
    """[first, end) line indexes of the document starting on `start_line`, trailing trivia kept out."""
    first = start_line - 1
    end = _next_marker(lines, first)
    while end > first + 1 and _is_trivia(lines[end - 1]):
        end -= 1
    return first, end


def replace_document(text: str, start_line: int, document: str) -> str:
    """`text` with the document starting on `start_line` replaced by `document` (YAML, no `---`)."""
    lines = text.splitlines(keepends=True)
    first, end = _span(lines, start_line)
    if _MARKER.match(lines[first]):  # `--- {…}`: the document starts on its marker line
        document = "---\n" + document
    new = document if document.endswith("\n") else document + "\n"
    return "".join([*lines[:first], new, *lines[end:]])


def remove_document(text: str, start_line: int) -> str:
    """`text` without the document starting on `start_line` (and without its `---` marker)."""
    lines = text.splitlines(keepends=True)
    first = start_line - 1
    end = _next_marker(lines, first)
    before = first
    while before > 0 and _is_trivia(lines[before - 1]) and not _MARKER.match(lines[before - 1]):
        before -= 1
    if before > 0 and _MARKER.match(lines[before - 1]):
        first = before - 1  # drop the marker that opened this document
    elif end < len(lines) and _MARKER.match(lines[end]):
        end += 1  # the first document: drop the marker that closes it instead
    return "".join([*lines[:first], *lines[end:]])


def append_document(text: str, document: str) -> str:
    """`text` with one more document at its end."""
    if not text.strip():
        return document
    return text + ("" if text.endswith("\n") else "\n") + "---\n" + document
