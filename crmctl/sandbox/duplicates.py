"""Duplicate rules: does a record being written look like records already stored?

A rule matches a stored record when *every* match field matches; a blank
value never matches anything. `exact` is case-insensitive equality (after
trimming); `fuzzy` compares normalised text (case, whitespace, punctuation
and common company suffixes removed) for equality, or failing that a
difflib similarity of at least 0.9. Exact fields narrow the candidates in
SQL; fuzzy fields are compared in Python.

On create every active rule runs; on edit a rule runs only when the write
changes one of its match fields, so editing an old duplicate's phone number
does not raise the same alert again.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Any

from crmctl.sandbox.records import ObjectDef, OrgModel

__all__ = ["DuplicateMatch", "find_duplicates", "normalise_name", "similar"]

SIMILARITY = 0.9
# Legal-form suffixes that say nothing about which company it is.
_SUFFIXES = frozenset(
    {"inc", "incorporated", "corp", "corporation", "co", "company", "llc", "llp", "lp", "ltd"}
    | {"limited", "plc", "gmbh", "ag", "sa", "sas", "sarl", "bv", "nv", "oy", "ab", "as", "asa"}
    | {"aps", "spa", "srl", "kg", "pty", "pvt"}
)
_PUNCTUATION = re.compile(r"[^\w\s]|_")
_MAX_IDS = 20


@dataclass(frozen=True)
class DuplicateMatch:
    """A rule that found duplicates: what to do (block or alert) and which records."""

    rule: str
    action: str  # "block" | "alert"
    record_ids: tuple[str, ...]

    @property
    def message(self) -> str:
        ids = ", ".join(self.record_ids)
        return f"duplicate rule {self.rule} matches existing record(s) {ids}"

    def as_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "recordIds": list(self.record_ids), "message": self.message}


@lru_cache(maxsize=65536)
def normalise_name(text: str) -> str:
    """Text as fuzzy matching compares it: `ACME, Inc.` -> `acme`."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    words = _PUNCTUATION.sub(" ", text).split()
    kept = [w for w in words if w not in _SUFFIXES]
    return " ".join(kept or words)


def similar(a: str, b: str) -> bool:
    """Whether two values match fuzzily."""
    left, right = normalise_name(a), normalise_name(b)
    if left == right:
        return True
    matcher = SequenceMatcher(None, left, right, autojunk=False)
    # The cheap upper bounds first: most pairs are far apart.
    return (
        matcher.real_quick_ratio() >= SIMILARITY
        and matcher.quick_ratio() >= SIMILARITY
        and matcher.ratio() >= SIMILARITY
    )


def find_duplicates(
    conn: sqlite3.Connection,
    model: OrgModel,
    obj: ObjectDef,
    record: dict[str, Any],
    *,
    is_new: bool,
    changed: set[str],
) -> list[DuplicateMatch]:
    """The active rules of the object that match stored records, with their actions."""
    found = []
    for name, spec in model.duplicate_rules.get(obj.key, []):
        if not spec.get("active", True):
            continue
        match = [(obj.field(m["field"]), m.get("method", "exact")) for m in spec["match"]]
        if any(fdef is None for fdef, _ in match):
            continue  # a rule on a field that no longer exists matches nothing
        names = {fdef.name for fdef, _ in match}  # type: ignore[union-attr]
        if not is_new and not names & changed:
            continue
        values = [record.get(fdef.name) for fdef, _ in match]  # type: ignore[union-attr]
        if any(v is None or str(v).strip() == "" for v in values):
            continue
        ids = _matching_ids(conn, obj, match, values, record.get("Id"))
        if ids:
            action = spec["action"]["onCreate" if is_new else "onEdit"]
            found.append(DuplicateMatch(name, action, tuple(ids)))
    return found


def _matching_ids(
    conn: sqlite3.Connection,
    obj: ObjectDef,
    match: list[tuple[Any, str]],
    values: list[Any],
    own_id: str | None,
) -> list[str]:
    where, params = ["object = ?", "id != ?"], [obj.key, own_id or ""]
    fuzzy = []
    for (fdef, method), value in zip(match, values, strict=True):
        path = f"$.{fdef.name}"
        if method == "exact":
            where.append("lower(trim(json_extract(fields, ?))) = ?")
            params += [path, str(value).strip().lower()]
        else:
            where.append("json_extract(fields, ?) IS NOT NULL")
            params.append(path)
            fuzzy.append((fdef.name, str(value)))
    columns = "".join(", json_extract(fields, ?)" for _ in fuzzy)
    rows = conn.execute(
        f"SELECT id{columns} FROM records WHERE {' AND '.join(where)} ORDER BY seq",
        [f"$.{name}" for name, _ in fuzzy] + params,
    )
    ids = []
    for record_id, *stored in rows:
        if all(similar(value, str(other)) for (_, value), other in zip(fuzzy, stored, strict=True)):
            ids.append(record_id)
            if len(ids) == _MAX_IDS:
                break
    return ids
