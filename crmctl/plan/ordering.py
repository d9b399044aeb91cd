"""Apply order: what a change needs comes before it; deletes run in reverse."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from crmctl.dialect import DEFAULT_DIALECT
from crmctl.kinds import HANDLERS, KINDS, ConfigIndex
from crmctl.model import Resource
from crmctl.plan.action import Action
from crmctl.plan.model import Change

__all__ = ["order_changes"]

_KIND_RANK = {kind: i for i, kind in enumerate(KINDS)}


def _topological(changes: list[Change], deps_of: Callable[[Change], set[str]]) -> list[Change]:
    """Stable topological order (kind order, then name, breaks ties); cycles keep kind order.

    A change's dependencies are asked for once, when it is first visited, and not kept:
    holding every change's set at once costs a large plan more than the plan itself.
    """
    by_address = {c.address: c for c in changes}
    ordered: list[Change] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done
    for change in sorted(changes, key=lambda c: _sort_key(c.address)):
        _visit(change.address, deps_of, by_address, state, ordered)
    return ordered


def _visit(
    address: str,
    deps_of: Callable[[Change], set[str]],
    by_address: dict[str, Change],
    state: dict[str, int],
    ordered: list[Change],
) -> None:
    # A plain function, not a closure: a closure that calls itself is a reference cycle,
    # which would keep what it refers to alive until the cyclic collector happens to run.
    if state.get(address) == 2:
        return
    if state.get(address) == 1:
        return  # a cycle (role parents): validation reports it; keep going
    state[address] = 1
    change = by_address[address]
    for dep in sorted(deps_of(change), key=_sort_key):
        if dep in by_address:
            _visit(dep, deps_of, by_address, state, ordered)
    state[address] = 2
    ordered.append(change)


def _sort_key(address: str) -> tuple[int, str]:
    kind, _, name = address.partition("/")
    return (_KIND_RANK.get(kind, len(KINDS)), name)


def _deps(
    change: Change, spec: dict | None, dialect: str, index: ConfigIndex | None = None
) -> set[str]:
    if spec is None:
        return set()
    resource = Resource(change.kind, change.name, spec)
    if index is not None:
        return HANDLERS[change.kind].ordering_dependencies(resource, index)
    return HANDLERS[change.kind].dependencies(resource, dialect)


def order_changes(changes: Iterable[Change], dialect: str = DEFAULT_DIALECT) -> list[Change]:
    """Creates, updates and replaces in dependency order, then deletes in reverse dependency order.

    Deletes go last so that an update which stops using a resource (a
    permission set dropping a field) runs before that resource is deleted.
    Names are read in `dialect` (the environment's, `crmctl.dialect`): which
    names are custom objects and fields, and so something to wait for.
    """
    changes = list(changes)
    upserts = [c for c in changes if c.action is not Action.DELETE]
    deletes = [c for c in changes if c.action is Action.DELETE]
    backward = _topological(deletes, lambda c: _deps(c, c.before, dialect))
    return _forward(upserts, dialect) + list(reversed(backward))


def _forward(upserts: list[Change], dialect: str) -> list[Change]:
    """Creates, updates and replaces in dependency order."""
    # The relationships the created and updated resources declare, for formulas that
    # read through them.
    index = ConfigIndex(
        (Resource(c.kind, c.name, c.after) for c in upserts if c.after is not None), dialect
    )
    return _topological(upserts, lambda c: _deps(c, c.after, dialect, index))
