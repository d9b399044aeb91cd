"""Table rows: create, retrieve, query (paged), update, upsert, delete, and their audit history.

    GET    {set}?$select&$filter&$orderby&$top&$count&$expand   (Prefer: odata.maxpagesize=N)
    POST   {set}                                     204 + OData-EntityId
    GET    {set}({id})
    PATCH  {set}({id})       update, or create when absent (If-Match: * forbids that)
    DELETE {set}({id})
    POST   {set}/Microsoft.Dynamics.CRM.CreateMultiple  {"Targets": [...]} → {"Ids": [...]}

A lookup is written as `name@odata.bind: "/set(id)"` and read as `_name_value`.
Rows carry `@odata.etag` (W/"versionnumber"); `If-Match` with an older one
answers 412. Every create, update and delete writes an `audit` row (action
1/2/3, objecttypecode, _objectid_value, _userid_value, changedata) unless the
table's auditing is off. Other modules add behaviour per table through the
hook tables (`BEFORE_WRITE`, `BEFORE_DELETE`, `BOUND`, `NAVIGATION`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from crmctl.sandbox.dataverse import api, expand, state
from crmctl.sandbox.dataverse.api import NS, Context, Response
from crmctl.sandbox.dataverse.odata import (
    NOT_FOUND,
    QUERY,
    DataverseFault,
    Segment,
    bad,
    decode_token,
    encode_token,
    evaluate,
    filter_paths,
    order,
    parse_filter,
    parse_key,
    split_top,
)
from crmctl.sandbox.db import iso_time

__all__ = [
    "create_row",
    "update_row",
    "delete_row",
    "show_row",
    "find_row",
    "entity_of_set",
    "write_audit",
    "BEFORE_WRITE",
    "BEFORE_DELETE",
    "BEFORE_READ",
    "require_write",
    "BOUND",
    "NAVIGATION",
    "bind_target",
    "property_names",
    "select_names",
    "project",
]

WriteHook = Callable[[Context, dict[str, Any], dict[str, Any] | None], None]
#: logical name → check/adjust a row before it is written (new doc, old doc or None).
BEFORE_WRITE: dict[str, list[WriteHook]] = {}
#: Checks of every table's writes (duplicate detection), after the table's own hooks.
ANY_WRITE: list[Callable[[Context, state.Entity, dict[str, Any]], None]] = []
#: logical name → run before rows of the table are read (jobs advance when polled).
BEFORE_READ: dict[str, list[Callable[[Context], None]]] = {}
#: logical name → check before a row is deleted.
BEFORE_DELETE: dict[str, list[Callable[[Context, dict[str, Any]], None]]] = {}
#: (logical name, action) → handler of a bound action or function on one row.
BOUND: dict[tuple[str, str], Callable[[Context, str, dict[str, Any], Any], Response]] = {}
#: (logical name, navigation property) → handler of `{set}({id})/{nav}[({key})][/$ref]`;
#: it gets the segments from the navigation property on.
NAVIGATION: dict[
    tuple[str, str], Callable[[Context, str, dict[str, Any], list[Segment], Any], Response]
] = {}

_NO_AUDIT = {"audit", "asyncoperation", "privilege", "solutioncomponent"}
_SERVER_SET = {"createdon", "modifiedon", "createdby", "modifiedby", "versionnumber",
               "owningbusinessunit"}  # fmt: skip


def entity_of_set(ctx: Context, entity_set: str) -> state.Entity:
    entity = state.load_entity_by_set(ctx.conn, entity_set)
    if entity is None:
        raise bad(f"Resource not found for the segment '{entity_set}'.", QUERY, 404)
    return entity


def _lookups(entity: state.Entity) -> dict[str, dict[str, Any]]:
    return {a["LogicalName"]: a for a in entity.attributes if a["AttributeType"] == "Lookup"}


def show_row(entity: state.Entity, row: dict[str, Any]) -> dict[str, Any]:
    """A row as the Web API returns it: lookups as _name_value, the etag."""
    out: dict[str, Any] = {"@odata.etag": f'W/"{row.get("versionnumber", 0)}"'}
    lookups = _lookups(entity)
    for attr in entity.attributes:
        name = attr["LogicalName"]
        if name in lookups:
            out[f"_{name}_value"] = row.get(name)
        else:
            out[name] = row.get(name)
    return out


def find_row(ctx: Context, entity: state.Entity, key: str | None) -> dict[str, Any]:
    if key is None:
        raise bad("A key is required.", QUERY)
    parsed = parse_key(key, ctx.aliases())
    if isinstance(parsed, dict):
        matches = [
            r
            for r in state.rows(ctx.conn, entity.logical_name)
            if all(str(r.get(k.lower())).lower() == str(v).lower() for k, v in parsed.items())
        ]
        if not matches:
            raise DataverseFault(
                404, NOT_FOUND, f"{entity.logical_name} With Ids = {key} Does Not Exist"
            )
        return matches[0]
    row = state.get_row(ctx.conn, entity.logical_name, parsed)
    if row is None:
        raise DataverseFault(
            404, NOT_FOUND, f"{entity.logical_name} With Id = {parsed} Does Not Exist"
        )
    return row


def bind_target(ctx: Context, value: Any, targets: list[str], where: str) -> str:
    """The id an `@odata.bind` names, checked to exist in one of `targets`."""
    if not isinstance(value, str):
        raise bad(f"{where}: an @odata.bind value is a URL like /accounts(<id>).")
    if value.startswith("$") and value[1:] in ctx.content_ids:  # a $batch Content-ID
        value = ctx.content_ids[value[1:]]
    path = api.relative(ctx, value)
    match = re.fullmatch(r"/?([\w]+)\(([^)]*)\)", path.strip())
    if match is None:
        raise bad(f"{where}: cannot resolve the @odata.bind URL {value!r}.")
    entity = entity_of_set(ctx, match.group(1))
    if targets and entity.logical_name not in targets:
        raise bad(f"{where}: a {entity.logical_name} cannot be bound here (targets: {targets}).")
    return str(find_row(ctx, entity, match.group(2))[entity.primary_id])


def _check_value(entity: state.Entity, attr: dict[str, Any], value: Any) -> Any:
    if value is None:
        return None
    name, kind = attr["LogicalName"], attr["AttributeType"]
    where = f"'{name}' of the '{entity.logical_name}' entity"
    if kind in ("String", "Memo"):
        if not isinstance(value, str):
            raise bad(f"A validation error occurred. The value of {where} must be text.")
        if len(value) > attr.get("MaxLength", 4000):
            raise bad(
                f"A validation error occurred. The length of the {where} exceeded the "
                f"maximum allowed length of '{attr['MaxLength']}'.",
                "0x80044331",
            )
    elif kind in ("Integer", "BigInt", "Decimal", "Double", "Money"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad(f"A validation error occurred. The value of {where} must be a number.")
        low, high = attr.get("MinValue"), attr.get("MaxValue")
        if low is not None and high is not None and not low <= value <= high:
            raise bad(
                f"A validation error occurred. The value {value} of {where} is outside the "
                f"valid range. Accepted Values: {low} to {high}.",
                "0x80044330",
            )
    elif kind == "Boolean":
        if not isinstance(value, bool):
            raise bad(f"A validation error occurred. The value of {where} must be true or false.")
    elif kind == "Picklist" and attr.get("IsCustomAttribute"):
        options = (attr.get("OptionSet") or {}).get("Options")
        allowed = {o["Value"] for o in options} if options is not None else None
        if allowed is not None and value not in allowed:
            raise bad(
                f"A validation error occurred. The value {value} of {where} is outside the "
                "valid range.",
                "0x8004431A",
            )
    return value


def _apply(
    ctx: Context, entity: state.Entity, row: dict[str, Any], body: dict[str, Any]
) -> dict[str, Any]:
    """Apply a request body to a row; returns {attribute: (old, new)} of what changed."""
    lookups = _lookups(entity)
    by_nav = {a["SchemaName"].lower(): a for a in lookups.values()}
    changes: dict[str, Any] = {}
    for key, value in body.items():
        if key.startswith("@odata.") or key == "@odata.type":
            continue
        if key.endswith("@odata.bind"):
            nav = key.removesuffix("@odata.bind").lower()
            attr = by_nav.get(nav) or lookups.get(nav)
            if attr is None:
                raise bad(
                    f"An undeclared property '{key.removesuffix('@odata.bind')}' which only has "
                    f"property annotations in the payload but no property value was found in "
                    f"the payload.",
                    QUERY,
                )
            new: Any = bind_target(ctx, value, attr.get("Targets") or [], key) if value else None
            name = attr["LogicalName"]
        else:
            name = key.lower()
            found = entity.attribute(name)
            if found is None or name in lookups:
                raise bad(
                    f"Invalid property '{key}' was found in entity '{NS}{entity.logical_name}'.",
                    QUERY,
                )
            if name in _SERVER_SET:
                continue
            new = _check_value(entity, found, value)
        if row.get(name) != new:
            changes[name] = (row.get(name), new)
        row[name] = new
    return changes


def write_audit(
    ctx: Context, entity: str, row_id: str, action: int, changes: dict[str, Any] | None = None
) -> None:
    if entity in _NO_AUDIT:
        return
    definition = state.load_entity(ctx.conn, entity)
    if definition is not None and not definition.doc.get("IsAuditEnabled", {}).get("Value", True):
        return
    audit_id = state.new_id()
    changed = [
        {"logicalName": k, "oldValue": old, "newValue": new}
        for k, (old, new) in sorted((changes or {}).items())
    ]
    state.put_row(ctx.conn, "audit", audit_id, {
        "auditid": audit_id, "action": action, "operation": min(action, 3) if action <= 3 else 4,
        "objecttypecode": entity, "objectid": row_id, "userid": ctx.user_id,
        "createdon": iso_time(ctx.now), "changedata": json.dumps({"changedAttributes": changed}),
        "attributemask": ",".join(k for k in sorted(changes or {})),
    })  # fmt: skip


def create_row(ctx: Context, entity: state.Entity, body: dict[str, Any]) -> str:
    primary = entity.primary_id
    given = body.get(primary)
    row_id = str(given).lower() if given else state.new_id()
    if state.get_row(ctx.conn, entity.logical_name, row_id) is not None:
        raise bad("Cannot insert duplicate key.", "0x80040237", 412)
    body = {k: v for k, v in body.items() if k.lower() != primary}
    row: dict[str, Any] = {primary: row_id}
    at = iso_time(ctx.now)
    changes = _apply(ctx, entity, row, body)
    for attr in entity.attributes:
        if (
            attr["RequiredLevel"]["Value"] == "SystemRequired"
            and row.get(attr["LogicalName"])
            in (
                None,
                "",
            )
            and attr["IsCustomAttribute"]
        ):
            raise bad(
                f"A validation error occurred. A value for the field '{attr['LogicalName']}' "
                "is required (SystemRequired).",
                "0x80040200",
            )
    row.update(createdon=at, modifiedon=at, createdby=ctx.user_id, modifiedby=ctx.user_id)
    row["versionnumber"] = state.next_seq(ctx.conn, "row_version")
    if entity.attribute("ownerid") is not None:
        row.setdefault("ownerid", ctx.user_id)
        user = state.get_row(ctx.conn, "systemuser", ctx.user_id) or {}
        row["owningbusinessunit"] = user.get("businessunitid")
    for hook in BEFORE_WRITE.get(entity.logical_name, []):
        hook(ctx, row, None)
    for check in ANY_WRITE:
        check(ctx, entity, row)
    if entity.attribute("statecode") is not None:
        row.setdefault("statecode", 0)
        row.setdefault("statuscode", 1)
    state.put_row(ctx.conn, entity.logical_name, row_id, row)
    write_audit(ctx, entity.logical_name, row_id, 1, changes)
    return row_id


def update_row(
    ctx: Context, entity: state.Entity, row: dict[str, Any], body: dict[str, Any]
) -> None:
    old = dict(row)
    body = {k: v for k, v in body.items() if k.lower() != entity.primary_id}
    changes = _apply(ctx, entity, row, body)
    row.update(modifiedon=iso_time(ctx.now), modifiedby=ctx.user_id)
    row["versionnumber"] = state.next_seq(ctx.conn, "row_version")
    for hook in BEFORE_WRITE.get(entity.logical_name, []):
        hook(ctx, row, old)
    for check in ANY_WRITE:
        check(ctx, entity, row)
    state.put_row(ctx.conn, entity.logical_name, row[entity.primary_id], row)
    if changes:
        write_audit(ctx, entity.logical_name, row[entity.primary_id], 2, changes)


def delete_row(ctx: Context, entity: state.Entity, row: dict[str, Any]) -> None:
    for hook in BEFORE_DELETE.get(entity.logical_name, []):
        hook(ctx, row)
    state.delete_row(ctx.conn, entity.logical_name, row[entity.primary_id])
    write_audit(ctx, entity.logical_name, row[entity.primary_id], 3)


def _check_if_match(ctx: Context, row: dict[str, Any]) -> None:
    wanted = ctx.header("If-Match")
    version = (wanted or "").strip().removeprefix("W/").strip('"')
    if wanted and wanted.strip() != "*" and version != str(row.get("versionnumber")):
        raise DataverseFault(
            412,
            "0x80060882",
            "The version of the existing record doesn't match the RowVersion property provided.",
        )


def _location(ctx: Context, entity: state.Entity, row_id: str) -> dict[str, str]:
    url = f"{ctx.api}/{entity.entity_set}({row_id})"
    return {"OData-EntityId": url, "Location": url}


def _wants_representation(ctx: Context) -> bool:
    return "return=representation" in (ctx.header("Prefer") or "")


def property_names(entity: state.Entity) -> set[str]:
    """The names a row's $select and $filter may use (lookups as _name_value)."""
    lookups = _lookups(entity)
    return {a["LogicalName"] if a["LogicalName"] not in lookups else f"_{a['LogicalName']}_value"
            for a in entity.attributes}  # fmt: skip


_names = property_names


def _select(ctx: Context, entity: state.Entity) -> list[str] | None:
    return select_names(entity, ctx.query.get("$select"))


def select_names(entity: state.Entity, text: str | None) -> list[str] | None:
    """A $select's names, checked against the table (400 on an unknown one)."""
    if not text:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    known = _names(entity)
    for name in names:
        if name not in known:
            raise bad(
                f"Could not find a property named '{name}' on type '{NS}{entity.logical_name}'.",
                QUERY,
            )
    return names


def project(entity: state.Entity, shown: dict[str, Any], names: list[str] | None) -> dict[str, Any]:
    """A shown row cut to a $select (the primary key and annotations are always kept)."""
    if names is None:
        return shown
    keep = set(names) | {entity.primary_id}
    return {k: v for k, v in shown.items() if k in keep or k.startswith("@odata.")}


_project = project


def query(
    ctx: Context, entity: state.Entity, items: list[dict[str, Any]] | None = None
) -> Response:
    """A collection read: $select, $filter, $orderby, $top, $count, paging by $skiptoken."""
    names = _select(ctx, entity)
    expansions = expand.parse(ctx, entity)
    raw = {
        str(r[entity.primary_id]): r
        for r in (items if items is not None else state.rows(ctx.conn, entity.logical_name))
    }
    shown = [show_row(entity, r) for r in raw.values()]
    if ctx.query.get("$filter"):
        node = parse_filter(ctx.query["$filter"])
        known = _names(entity)
        for path in filter_paths(node):
            if path.split("/")[0] not in known:
                raise bad(
                    f"Could not find a property named '{path}' on type "
                    f"'{NS}{entity.logical_name}'.",
                    QUERY,
                )
        shown = [r for r in shown if evaluate(node, r)]
    shown = order(shown, ctx.query.get("$orderby"))
    size = ctx.max_page_size()
    top = split_top(ctx.query.get("$top"))
    headers: dict[str, str] = {}
    if size is not None:
        headers["Preference-Applied"] = f"odata.maxpagesize={size}"
    elif top is not None:
        shown = shown[:top]
    total = len(shown)
    page = size or 5000
    start = decode_token(ctx.query["$skiptoken"]) if ctx.query.get("$skiptoken") else 0
    chunk = shown[start : start + page]
    body: dict[str, Any] = {"@odata.context": f"{ctx.api}/$metadata#{entity.entity_set}"}
    if ctx.query.get("$count", "").lower() == "true":
        body["@odata.count"] = total
    body["value"] = [
        expand.attach(ctx, expansions, raw[str(r[entity.primary_id])], _project(entity, r, names))
        for r in chunk
    ]
    if start + page < total:
        params = {k: v for k, v in ctx.query.items() if k != "$skiptoken"}
        params["$skiptoken"] = encode_token(start + page)
        body["@odata.nextLink"] = f"{ctx.api}/{entity.entity_set}?{urlencode(params)}"
    return 200, body, headers


def require_write(
    ctx: Context, logical: str, row: dict[str, Any] | None, verb: str = "Write"
) -> None:
    from crmctl.sandbox.dataverse import security

    entity = state.load_entity(ctx.conn, logical)
    assert entity is not None
    security.require(ctx, entity, verb, row)


def handle(ctx: Context, method: str, segments: list[Segment], body: Any) -> Response:
    """`{set}`, `{set}({key})` and what hangs below them."""
    from crmctl.sandbox.dataverse import security

    entity = entity_of_set(ctx, segments[0].name)
    if method != "GET" and entity.doc.get("_read_only"):
        from crmctl.sandbox.dataverse.virtual import READ_ONLY_MESSAGE

        raise bad(READ_ONLY_MESSAGE.format(name=entity.logical_name))
    if method == "GET":
        for hook in BEFORE_READ.get(entity.logical_name, []):
            hook(ctx)
    key = segments[0].key
    if key is None and len(segments) == 1:
        if method == "GET":
            security.require(ctx, entity, "Read")
            return query(ctx, entity)
        if method == "POST":
            security.require(ctx, entity, "Create")
            row_id = create_row(ctx, entity, api.check_keys(body, "a create"))
            return _created(ctx, entity, row_id)
        raise bad(f"The HTTP method {method} is not allowed on {entity.entity_set}.", QUERY, 405)
    if key is None:
        action = segments[1].name.removeprefix(NS)
        if action == "CreateMultiple" and method == "POST":
            security.require(ctx, entity, "Create")
            targets = api.check_keys(body, "CreateMultiple").get("Targets")
            if not isinstance(targets, list):
                raise bad("CreateMultiple takes Targets: a list of rows.")
            ids = [create_row(ctx, entity, api.check_keys(t, "a target")) for t in targets]
            return 200, {"@odata.context": f"{ctx.api}/$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse", "Ids": ids}, {}  # fmt: skip
        raise bad(f"Resource not found for the segment '{segments[1].name}'.", QUERY, 404)
    if len(segments) > 1:
        row = find_row(ctx, entity, key)
        name = segments[1].name
        bound = BOUND.get((entity.logical_name, name.removeprefix(NS)))
        if bound is not None:
            return bound(ctx, method, row, body)
        nav = NAVIGATION.get((entity.logical_name, name))
        if nav is not None:
            return nav(ctx, method, row, segments[1:], body)
        raise bad(f"Resource not found for the segment '{name}'.", QUERY, 404)
    if method == "GET":
        security.require(ctx, entity, "Read")
        row = find_row(ctx, entity, key)
        expansions = expand.parse(ctx, entity)
        shown = _project(entity, show_row(entity, row), _select(ctx, entity))
        shown = expand.attach(ctx, expansions, row, shown)
        shown["@odata.context"] = f"{ctx.api}/$metadata#{entity.entity_set}/$entity"
        return 200, shown, {}
    if method == "PATCH":
        try:
            row = find_row(ctx, entity, key)
        except DataverseFault:
            if (ctx.header("If-Match") or "").strip() == "*":
                raise
            security.require(ctx, entity, "Create")
            parsed = parse_key(key, ctx.aliases())
            fields = dict(api.check_keys(body, "an upsert"))
            if isinstance(parsed, dict):
                fields.update(parsed)
            else:
                fields[entity.primary_id] = parsed
            return _created(ctx, entity, create_row(ctx, entity, fields))
        if (ctx.header("If-None-Match") or "").strip() == "*":
            raise bad("A record with matching key values already exists.", "0x80040237", 412)
        security.require(ctx, entity, "Write", row)
        _check_if_match(ctx, row)
        update_row(ctx, entity, row, api.check_keys(body, "an update"))
        return _written(ctx, entity, row[entity.primary_id], 200)
    if method == "DELETE":
        row = find_row(ctx, entity, key)
        security.require(ctx, entity, "Delete", row)
        _check_if_match(ctx, row)
        delete_row(ctx, entity, row)
        return 204, None, {}
    if method == "PUT":
        raise bad("PUT sets one property: use PATCH to update a record.", QUERY, 405)
    raise bad(f"The HTTP method {method} is not allowed here.", QUERY, 405)


def _created(ctx: Context, entity: state.Entity, row_id: str) -> Response:
    return _written(ctx, entity, row_id, 201)


def _written(ctx: Context, entity: state.Entity, row_id: str, status: int) -> Response:
    headers = _location(ctx, entity, row_id)
    if _wants_representation(ctx):
        row = state.get_row(ctx.conn, entity.logical_name, row_id) or {}
        shown = _project(entity, show_row(entity, row), _select(ctx, entity))
        return status, shown, headers
    return 204, None, headers


api.FALLBACK.append(handle)
