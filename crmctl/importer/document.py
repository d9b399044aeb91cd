"""Live resources as manifest documents people can review.

A live spec comes back from the CRM complete: every default filled in,
every picklist value spelled out. Written as is, an imported manifest would
be three times longer than a hand-written one. `reviewable_spec` drops
whatever the canonical form adds back by itself (schema defaults, a Text
field's length of 255, `{value: X, label: X}` picklist entries), checking
after every step that the spec still means exactly the same thing.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from crmctl.kinds import HANDLERS
from crmctl.yamlwrite import to_yaml

__all__ = [
    "API_VERSION",
    "OWNER_COMMENT",
    "reviewable_spec",
    "manifest_document",
    "dump_document",
    "dump_documents",
]

API_VERSION = "crmctl/v1"
#: Written in place of `metadata.owner` when the owner is not known.
OWNER_COMMENT = "# owner: TODO  (imported from the CRM: name the accountable team)"
_KEYS = ("value", "field")


def _canonical(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    return HANDLERS[kind].canonical(spec)


def _trim_mapping(
    mapping: dict[str, Any],
    rebuild,
    target: dict[str, Any],
    kind: str,
    keep: Collection[str] = (),
) -> dict[str, Any]:
    """`mapping` without each key whose removal leaves the whole spec's meaning unchanged."""
    current = dict(mapping)
    for key in list(current):
        if key in keep:
            continue
        trial = {k: v for k, v in current.items() if k != key}
        if _canonical(kind, rebuild(trial)) == target:
            current = trial
    return current


def reviewable_spec(kind: str, spec: dict[str, Any], keep: Collection[str] = ()) -> dict[str, Any]:
    """The shortest spec, in schema order, whose canonical form equals that of `spec`.

    Top-level keys in `keep` stay even when they hold the default (an
    updated document keeps what its authors chose to spell out).
    """
    target = _canonical(kind, spec)
    current = _trim_mapping(target, lambda trial: trial, target, kind, keep)
    for key, value in list(current.items()):
        if isinstance(value, dict) and all(not isinstance(v, list) for v in value.values()):
            # A nested record (recordName): drop its defaults too.
            current[key] = _trim_mapping(
                value, lambda trial, key=key: {**current, key: trial}, target, kind
            )
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            # Records in a list (picklist values, duplicate-rule matches).
            items = list(value)
            for i, item in enumerate(items):

                def rebuild(trial, i=i, key=key, items=items):
                    return {**current, key: [*items[:i], trial, *items[i + 1 :]]}

                trimmed = _trim_mapping(item, rebuild, target, kind)
                # The record's natural key first, as people write it: `- {field: Email, ...}`.
                items[i] = dict(sorted(trimmed.items(), key=lambda kv: kv[0] not in _KEYS))
                if list(items[i]) == ["value"]:
                    shorter = [*items[:i], items[i]["value"], *items[i + 1 :]]
                    if _canonical(kind, {**current, key: shorter}) == target:
                        items[i] = items[i]["value"]
            current[key] = items
    assert _canonical(kind, current) == target
    return current


def manifest_document(
    kind: str, name: str, spec: dict[str, Any], metadata: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A whole manifest document; `metadata` (kept from an existing document) beyond the name."""
    meta = {"name": name, **{k: v for k, v in (metadata or {}).items() if k != "name"}}
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": meta, "spec": spec}


def _with_owner_comment(text: str) -> str:
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line == "metadata:" and i + 1 < len(lines) and lines[i + 1].startswith("  name:"):
            lines.insert(i + 2, "  " + OWNER_COMMENT)
            break
    return "\n".join(lines) + "\n"


def dump_document(document: dict[str, Any]) -> str:
    """One document as YAML (no `---`), with an owner comment when it has no owner."""
    text = to_yaml(document)
    if "owner" not in document.get("metadata", {}):
        text = _with_owner_comment(text)
    return text


def dump_documents(documents: list[dict[str, Any]], header: str | None = None) -> str:
    """Several documents as one file's text, separated by `---`."""
    parts = [dump_document(d) for d in documents]
    head = "".join(f"# {line}\n" for line in header.splitlines()) if header else ""
    return head + "---\n".join(parts)
