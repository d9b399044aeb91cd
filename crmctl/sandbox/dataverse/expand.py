"""`$expand` on row queries: related rows through navigation properties.

    GET systemusers?$select=fullname&$expand=systemuserroles_association($select=name)
    GET roles(id)?$expand=roleprivileges_association($select=name;$filter=…)
    GET systemusers?$expand=businessunitid($select=name)

A collection-valued property (N:N, or the one-to-many side of a relationship) comes
back as a list of rows and takes `$select`, `$filter`, `$orderby` and `$top` inside its
parentheses; a single-valued one (a lookup, named as the lookup column) comes back as one
row or null and takes `$select`. Query options Dataverse does not allow there, and a name
that is no navigation property of the table, answer 400 (0x80060888) rather than being
ignored. N:N properties are registered by the modules that own them (`COLLECTIONS`); the
system one-to-many relationships served are in `ONE_TO_MANY`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crmctl.sandbox.dataverse import state
from crmctl.sandbox.dataverse.api import NS, Context
from crmctl.sandbox.dataverse.odata import (
    QUERY,
    bad,
    evaluate,
    expand_items,
    filter_paths,
    inner_options,
    order,
    parse_filter,
    split_top,
)

__all__ = ["COLLECTIONS", "Expansion", "parse", "attach"]

#: (logical name, navigation property) → (target table, the related row ids of a row id).
COLLECTIONS: dict[tuple[str, str], tuple[str, Callable[[Context, str], list[str]]]] = {}

#: The related rows of a row (stored form).
Related = Callable[[Context, dict[str, Any]], list[dict[str, Any]]]

#: System one-to-many relationships: (referenced table, name) → (referencing table, lookup).
ONE_TO_MANY: dict[tuple[str, str], tuple[str, str]] = {
    ("fieldsecurityprofile", "lk_fieldpermission_fieldsecurityprofileid"): (
        "fieldpermission",
        "fieldsecurityprofileid",
    ),
    ("businessunit", "business_unit_system_users"): ("systemuser", "businessunitid"),
    ("businessunit", "business_unit_roles"): ("role", "businessunitid"),
    ("businessunit", "business_unit_parent_business_unit"): (
        "businessunit",
        "parentbusinessunitid",
    ),
}

_COLLECTION_OPTIONS = {"$select", "$filter", "$orderby", "$top"}
_SINGLE_OPTIONS = {"$select"}


class Expansion:
    """One checked `$expand` item: how to find the related rows and what to show of them."""

    def __init__(
        self,
        name: str,
        target: state.Entity,
        options: dict[str, str],
        related: Related,
        single: bool,
    ) -> None:
        from crmctl.sandbox.dataverse import records

        self.name, self.target, self.single, self.related = name, target, single, related
        self.names = records.select_names(target, options.get("$select"))
        self.filter = parse_filter(options["$filter"]) if options.get("$filter") else None
        if self.filter is not None:
            known = records.property_names(target)
            for path in filter_paths(self.filter):
                if path.split("/")[0] not in known:
                    raise bad(
                        f"Could not find a property named '{path}' on type "
                        f"'{NS}{target.logical_name}'.",
                        QUERY,
                    )
        self.orderby = options.get("$orderby")
        self.top = split_top(options.get("$top"))

    def value(self, ctx: Context, row: dict[str, Any]) -> Any:
        from crmctl.sandbox.dataverse import records

        shown = [records.show_row(self.target, r) for r in self.related(ctx, row)]
        if self.single:
            return records.project(self.target, shown[0], self.names) if shown else None
        if self.filter is not None:
            shown = [r for r in shown if evaluate(self.filter, r)]
        shown = order(shown, self.orderby)
        if self.top is not None:
            shown = shown[: self.top]
        return [records.project(self.target, r, self.names) for r in shown]


def _load(ctx: Context, logical: str) -> state.Entity:
    entity = state.load_entity(ctx.conn, logical)
    if entity is None:
        raise bad(f"The table {logical} does not exist.", QUERY, 404)
    return entity


def _collection(ctx: Context, entity: state.Entity, name: str) -> Any:
    """(target, related rows of a row) of a collection-valued property, or None."""
    registered = COLLECTIONS.get((entity.logical_name, name))
    if registered is not None:
        target_name, ids_of = registered
        target = _load(ctx, target_name)

        def linked(c: Context, row: dict[str, Any]) -> list[dict[str, Any]]:
            ids = ids_of(c, str(row[entity.primary_id]))
            return [r for r in (state.get_row(c.conn, target.logical_name, i) for i in ids) if r]

        return target, linked
    system = ONE_TO_MANY.get((entity.logical_name, name))
    if system is not None:
        target = _load(ctx, system[0])
        return target, _children(entity, target, system[1])
    from crmctl.sandbox.dataverse.relationships import relationships

    for item in relationships(ctx.conn):
        if item["ReferencedEntity"] == entity.logical_name and (
            item["ReferencedEntityNavigationPropertyName"] == name
        ):
            target = _load(ctx, item["ReferencingEntity"])
            return target, _children(entity, target, item["ReferencingAttribute"])
    return None


def _children(entity: state.Entity, target: state.Entity, column: str) -> Related:
    """The rows of `target` whose lookup `column` names a row of `entity`."""

    def children(ctx: Context, row: dict[str, Any]) -> list[dict[str, Any]]:
        key = str(row[entity.primary_id]).lower()
        rows = state.rows(ctx.conn, target.logical_name)
        return [r for r in rows if str(r.get(column) or "").lower() == key]

    return children


def _parent(target: state.Entity, column: str) -> Related:
    """The row of `target` a row's lookup `column` names (none when it is empty)."""

    def parent(ctx: Context, row: dict[str, Any]) -> list[dict[str, Any]]:
        value = row.get(column)
        found = state.get_row(ctx.conn, target.logical_name, str(value).lower()) if value else None
        return [found] if found else []

    return parent


def _lookup(ctx: Context, entity: state.Entity, name: str) -> Any:
    """(target, the row a lookup names) of a single-valued property, or None."""
    for attr in entity.attributes:
        if attr["AttributeType"] != "Lookup":
            continue
        if name not in (attr["LogicalName"], attr["SchemaName"]):
            continue
        targets = [t for t in (attr.get("Targets") or []) if state.load_entity(ctx.conn, t)]
        if len(targets) != 1:
            return None  # polymorphic lookups have one navigation property per target
        target = _load(ctx, targets[0])
        return target, _parent(target, attr["LogicalName"])
    return None


def parse(ctx: Context, entity: state.Entity) -> list[Expansion]:
    """The request's `$expand`, checked against the table's navigation properties."""
    out: list[Expansion] = []
    for name, inner in expand_items(ctx.query.get("$expand")).items():
        options = inner_options(inner)
        found = _collection(ctx, entity, name)
        single = False
        if found is None:
            found, single = _lookup(ctx, entity, name), True
        if found is None:
            raise bad(
                f"Could not find a property named '{name}' on type '{NS}{entity.logical_name}'.",
                QUERY,
            )
        allowed = _SINGLE_OPTIONS if single else _COLLECTION_OPTIONS
        for option in options:
            if option not in allowed:
                raise bad(
                    f"The query option '{option}' is not supported inside $expand of "
                    f"'{name}' (allowed: {', '.join(sorted(allowed))}).",
                    QUERY,
                )
        target, related = found
        out.append(Expansion(name, target, options, related, single))
    return out


def attach(
    ctx: Context, expansions: list[Expansion], raw: dict[str, Any], shown: dict[str, Any]
) -> dict[str, Any]:
    """`shown` (a row as answered) with the related rows of `raw` (the stored row) added."""
    for item in expansions:
        shown[item.name] = item.value(ctx, raw)
    return shown
