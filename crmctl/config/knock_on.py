"""Put a file that failed to parse first, with the errors it caused elsewhere grouped under it.

A broken line loses the resources of its YAML document. Other files that
refer to those resources then fail their reference checks, and sorted by
file name those knock-on errors can come before the real one. The resources
a file lost are the names its text declares (`metadata: name:`) that were
not read; a reference or formula error elsewhere that names one of them is
shown as caused by that file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from crmctl.errors import Diagnostic

__all__ = ["UNREADABLE_CODES", "declared_names", "group_knock_on"]

#: Problems that keep part or all of a file from being read at all.
UNREADABLE_CODES = frozenset({"yaml-syntax", "not-text", "io", "file-too-large"})
#: Problems that a missing resource elsewhere can cause.
_KNOCK_ON_CODES = frozenset({"reference", "formula"})

_FLOW = re.compile(r"^metadata:\s*\{(.*)")
_FLOW_NAME = re.compile(r"(?:^|[{,\s])name:\s*([^,}\s]+)")
_BLOCK_NAME = re.compile(r"^\s+name:\s*(\S+)")
_WORD = re.compile(r"[A-Za-z0-9_@-]+(?:\.[A-Za-z0-9_@-]+)*")


def declared_names(text: str) -> set[str]:
    """The `metadata.name` of every document in a manifest file's text, parsable or not."""
    names: set[str] = set()
    in_metadata = False
    for line in text.splitlines():
        flow = _FLOW.match(line)
        if flow:
            found = _FLOW_NAME.search(flow.group(1))
            if found:
                names.add(found.group(1))
            in_metadata = False
            continue
        if line.startswith("metadata:"):
            in_metadata = True
            continue
        if in_metadata:
            if line[:1] not in (" ", "\t", ""):
                in_metadata = False
            elif found := _BLOCK_NAME.match(line):
                names.add(found.group(1))
    return {name.strip("'\"") for name in names}


def _lost_words(lost: Iterable[str]) -> set[str]:
    """`Invoice__c.Amount__c` may be named whole or as `Amount__c` (qualified by its object)."""
    words = set()
    for name in lost:
        words.add(name.lower())
        if "." in name:
            words.add(name.rsplit(".", 1)[1].lower())
    return words


def group_knock_on(
    diagnostics: list[Diagnostic], lost: dict[str, set[str]], unreadable: Iterable[str] = ()
) -> list[Diagnostic]:
    """The diagnostics reordered: each unreadable file's problems first, those it caused under them.

    `lost`: by file, the names its text declares that were not read. `unreadable`: files with a
    problem in UNREADABLE_CODES (in the order to show them). The rest keep their order.
    """
    broken = list(dict.fromkeys([*unreadable, *lost]))
    words = {file: _lost_words(names) for file, names in lost.items()}
    caused: dict[str, list[Diagnostic]] = {file: [] for file in broken}
    own: dict[str, list[Diagnostic]] = {file: [] for file in broken}
    rest: list[Diagnostic] = []
    for d in diagnostics:
        file = d.location.file if d.location else None
        cause = None
        if d.code in _KNOCK_ON_CODES:
            mentioned = {w.lower() for w in _WORD.findall(d.message)}
            # Its own file first: a reference to a document lost from the same file.
            candidates = [file, *broken] if file in own else broken
            cause = next((f for f in candidates if mentioned & words.get(f or "", set())), None)
        if cause is not None:
            caused[cause].append(replace(d, caused_by=cause))
        elif file in own:
            own[file].append(d)
        else:
            rest.append(d)
    ordered = []
    for file in broken:
        ordered += own[file] + caused[file]
    return ordered + rest
