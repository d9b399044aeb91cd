"""Limits a schema cannot express: the CRM's own lengths, one-line texts, ASCII identities.

The lengths depend on the CRM (each provider keeps its table, with its
source); the rest holds for every CRM:

- a label, a name or a picklist value is one line: no tab, no line break;
- usernames and emails are ASCII. A look-alike letter from another script
  (a Cyrillic `і` in `prіya.shah@…`) makes a second account that reads
  exactly like the first in a pull request, an approval record or an audit
  trail. Refusing is the only answer a reviewer can rely on: a warning
  scrolls past, and no legitimate CRM username needs one (Salesforce
  usernames are in email form, and an internationalised address has an
  ASCII form).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from crmctl.config.text import line_break, non_ascii
from crmctl.errors import Diagnostic, SourceLocation
from crmctl.model import Resource

__all__ = ["limit_diagnostics", "counted_name"]

#: spec paths that hold one line of text, per kind (names are one line by their schema patterns).
_ONE_LINE: dict[str, tuple[tuple[str, ...], ...]] = {
    "CustomObject": (
        ("label",),
        ("pluralLabel",),
        ("recordName", "label"),
        ("recordName", "displayFormat"),
    ),
    "CustomField": (("label",), ("displayFormat",)),
    "GlobalValueSet": (("label",),),
    "RecordType": (("label",),),
    "Role": (("label",),),
    "PermissionSet": (("label",),),
    "User": (("firstName",), ("lastName",), ("email",)),
}


#: Collections of API names in a spec, which must not name one thing twice in two cases.
_CASE_UNIQUE: dict[str, tuple[str, ...]] = {
    "PermissionSet": ("objects", "fields", "system"),
    "User": ("permissionSets",),
    "RetentionPolicy": ("anonymizeFields",),
}


def _case_twins(resource: Resource) -> Iterator[tuple[str, str, str | int]]:
    """(collection, first spelling, where the second is) for names repeated in another case."""
    for key in _CASE_UNIQUE.get(resource.kind, ()):
        value = resource.spec.get(key)
        if isinstance(value, dict):
            entries: list[tuple[str | int, object]] = [(k, k) for k in value]
        elif isinstance(value, list):
            entries = list(enumerate(value))
        else:
            continue
        seen: dict[str, str] = {}
        for where, name in entries:
            if not isinstance(name, str):
                continue
            first = seen.setdefault(name.lower(), name)
            if first != name:
                yield key, first, where


def counted_name(kind: str, name: str) -> str:
    """The part of a resource name the CRM limits: `Region` for `Account.Region__c`."""
    if kind in ("CustomField", "ValidationRule", "DuplicateRule", "RecordType"):
        name = name.partition(".")[2]
    if kind in ("CustomObject", "CustomField"):
        name = name.removesuffix("__c")
    return name


def _shown(name: str) -> str:
    return repr(name) if len(name) <= 60 else repr(name[:40]) + "..."


def _name_location(resource: Resource) -> SourceLocation | None:
    if resource.source is None:
        return None
    return resource.source.location(("metadata", "name"))


def _get(spec: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = spec
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _picklist_texts(spec: dict[str, Any]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    for i, item in enumerate(spec.get("values") or []):
        if isinstance(item, str):
            yield ("values", i), item
        elif isinstance(item, dict):
            for key in ("value", "label"):
                if isinstance(item.get(key), str):
                    yield ("values", i, key), item[key]


def limit_diagnostics(
    resource: Resource, limits: dict[str, int], provider: str
) -> list[Diagnostic]:
    """Problems of one schema-valid resource against the CRM's limits and the text rules."""
    problems = []

    def add(message: str, location: SourceLocation | None, hint: str | None = None) -> None:
        problems.append(
            Diagnostic(message, location, address=resource.address, hint=hint, code="limit")
        )

    spec, kind = resource.spec, resource.kind
    for key, limit in limits.items():
        if key == "name":
            counted = counted_name(kind, resource.name)
            if len(counted) > limit:
                add(
                    f"metadata.name: the API name {_shown(counted)} "
                    f"is {len(counted)} characters long; {provider} allows at most {limit} "
                    f"for a {kind} name",
                    _name_location(resource),
                )
            continue
        value = _get(spec, tuple(key.split(".")))
        if isinstance(value, str) and len(value) > limit:
            add(
                f"spec.{key} is {len(value)} characters long; {provider} allows at most {limit}",
                resource.location(*key.split(".")),
            )
    texts: list[tuple[tuple[str | int, ...], Any]] = [
        (path, _get(spec, path)) for path in _ONE_LINE.get(kind, ())
    ]
    if kind in ("CustomField", "GlobalValueSet"):
        texts.extend(_picklist_texts(spec))
    for path, value in texts:
        found = line_break(value) if isinstance(value, str) else None
        if found:
            where = "spec" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
            add(f"{where} contains {found}; it must be one line", resource.location(*path))
    for key, first, twin in _case_twins(resource):
        add(
            f"spec.{key} names {first!r} twice, the second time as {twin!r}"
            if isinstance(twin, str)
            else f"spec.{key}[{twin}] repeats {first!r} in another case",
            resource.location(key, twin),
            hint="API names are case-insensitive in every CRM; keep one",
        )
    if kind == "User":
        for label, value, location in (
            ("the username", resource.name, _name_location(resource)),
            ("spec.email", spec.get("email"), resource.location("email")),
        ):
            outside = non_ascii(value) if isinstance(value, str) else None
            if outside:
                position, character = outside
                add(
                    f"{label} contains the non-ASCII character {character} at position {position}",
                    location,
                    hint="usernames and emails must be ASCII: a look-alike letter from another "
                    "script would make a second account that reads like the first",
                )
    return problems
