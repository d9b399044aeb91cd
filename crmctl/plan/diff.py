"""Field-level differences between two canonical specs, in words a reviewer reads.

Mappings are compared key by key. Lists of records with a natural key
(picklist values by `value`, duplicate-rule matches by `field`) are compared
by that key, with a separate line when only their order changed; other lists
are shown whole.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

__all__ = ["AddedDiffs", "FieldDiff", "diff_specs"]

_KEYED_LISTS = {"values": "value", "match": "field"}
_MISSING = object()


@dataclass(frozen=True, slots=True)
class FieldDiff:
    """One difference: `path` in the spec (`label`, `values[Paid].label`), before and after.

    `before` is None for an added key and `after` is None for a removed one;
    `change` says which (`added`, `removed`, `changed`).
    """

    path: str
    before: Any
    after: Any
    change: str = "changed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "change": self.change,
            "before": self.before,
            "after": self.after,
        }


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _diff(before: Any, after: Any, path: str, out: list[FieldDiff]) -> None:
    if before == after:
        return
    if before is _MISSING:
        out.append(FieldDiff(path, None, after, "added"))
        return
    if after is _MISSING:
        out.append(FieldDiff(path, before, None, "removed"))
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in [*before, *(k for k in after if k not in before)]:
            _diff(before.get(key, _MISSING), after.get(key, _MISSING), _join(path, str(key)), out)
        return
    key_field = _KEYED_LISTS.get(path.rsplit(".", 1)[-1])
    if key_field and _keyed(before, key_field) and _keyed(after, key_field):
        old = {item[key_field]: item for item in before}
        new = {item[key_field]: item for item in after}
        for key in [*old, *(k for k in new if k not in old)]:
            _diff(old.get(key, _MISSING), new.get(key, _MISSING), f"{path}[{key}]", out)
        old_order = [k for k in old if k in new]
        new_order = [k for k in new if k in old]
        if old_order != new_order:
            out.append(FieldDiff(f"{path} order", list(old), list(new)))
        return
    out.append(FieldDiff(path, before, after))


def _keyed(items: Any, key: str) -> bool:
    return (
        isinstance(items, list)
        and all(isinstance(i, dict) and key in i for i in items)
        and len({i[key] for i in items}) == len(items)
    )


def diff_specs(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[FieldDiff]:
    """Every difference between two specs; a create or delete lists every top-level key."""
    out: list[FieldDiff] = []
    _diff(_MISSING if before is None else before, _MISSING if after is None else after, "", out)
    if len(out) == 1 and out[0].path == "":
        # Whole-resource create or delete: one line per top-level key reads better.
        whole = out[0].after if out[0].change == "added" else out[0].before
        out = [
            FieldDiff(k, None, v, "added")
            if out[0].change == "added"
            else FieldDiff(k, v, None, "removed")
            for k, v in whole.items()
        ]
    return out


class AddedDiffs(Sequence[FieldDiff]):
    """`diff_specs(None, spec)` for a create, made when read rather than held.

    A create's differences are its spec's top-level keys, each added: a plan of a
    whole organisation would otherwise hold one FieldDiff for every key of every
    resource beside the specs themselves. Compares equal to the list it stands for.
    """

    __slots__ = ("_spec",)

    def __init__(self, spec: dict[str, Any]) -> None:
        self._spec = spec

    def __len__(self) -> int:
        return len(self._spec)

    def __iter__(self) -> Iterator[FieldDiff]:
        return (FieldDiff(k, None, v, "added") for k, v in self._spec.items())

    @overload
    def __getitem__(self, index: int) -> FieldDiff: ...

    @overload
    def __getitem__(self, index: slice) -> list[FieldDiff]: ...

    def __getitem__(self, index: int | slice) -> FieldDiff | list[FieldDiff]:
        return list(self)[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, AddedDiffs | list | tuple):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(list(self))
