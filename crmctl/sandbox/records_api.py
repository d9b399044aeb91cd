"""HTTP endpoints for records, the archive and retention runs (added to the server's table).

    POST   /api/v1/records/{object}          create   -> 201 {"id", "fields", "warnings"}
    GET    /api/v1/records/{object}          query    -> 200 {"records", "nextCursor"}
    GET    /api/v1/records/{object}/{id}     read     -> 200 {"id", "fields"}
    PATCH  /api/v1/records/{object}/{id}     update   -> 200 {"id", "fields", "warnings"}
    DELETE /api/v1/records/{object}/{id}     delete   -> 204
    POST   /api/v1/retention/run             admin    -> 200 {"dryRun", "now", "policies"}
    GET    /api/v1/retention/runs            admin    -> 200 {"items"}
    GET    /api/v1/archive/{object}          admin    -> 200 {"records", "nextCursor"}
    GET    /api/v1/archive/{object}/{id}     admin    -> 200 {"id", "fields", "archivedAt", "policy"}

A write is checked in this order, and the first failing step answers:
object permission (403 INSUFFICIENT_ACCESS), field permissions (403
FIELD_NOT_EDITABLE), the record's own checks (400 VALIDATION_FAILED listing
every problem), duplicate rules that block (409 DUPLICATES_DETECTED).
Records a caller may not see answer 404, as if they did not exist.

A query takes `where=Field:op:value` (repeatable; all must hold) with ops
eq, ne, lt, le, gt, ge, like (SQL LIKE: % and _), in (comma-separated
values); text compares case-insensitively, `eq` with an empty value matches
blank, `ne` also matches blank; `fields=A,B` picks fields (Id always comes);
`limit` (1..2000, default 100) and `cursor` (the previous page's nextCursor).
At most 100 filters, 2,000 values in all and 10,000 characters in one
(records.MAX_FILTERS …); errors are 400 INVALID_QUERY, with details.field
when a field of the object is the problem (unknown, or a value it cannot hold).
"""

from __future__ import annotations

import weakref
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from crmctl.sandbox.db import SandboxError
from crmctl.sandbox.duplicates import find_duplicates
from crmctl.sandbox.enforcement import Caller, Write, check_write
from crmctl.sandbox.permissions import Access, access_for
from crmctl.sandbox.records import (
    ObjectDef,
    OrgModel,
    QueryError,
    SqlRecords,
    clear_lookups,
    decode_cursor,
    delete_records,
    encode_cursor,
    get_record,
    insert_record,
    new_record_id,
    next_auto_number,
    parse_filters,
    plan_delete,
    query_records,
    replace_record,
)
from crmctl.sandbox.retention import (
    UnknownPolicy,
    archived_record,
    archived_records,
    retention_runs,
    run_retention,
)
from crmctl.sandbox.server import Request, Route

if TYPE_CHECKING:
    import sqlite3

    from crmctl.sandbox.store import SandboxStore

__all__ = ["routes", "org_model", "MAX_LIMIT", "DEFAULT_LIMIT"]

Response = tuple[int, Any, dict[str, str]]
DEFAULT_LIMIT = 100
MAX_LIMIT = 2000

_models: weakref.WeakKeyDictionary[Any, tuple[int, OrgModel]] = weakref.WeakKeyDictionary()


def org_model(store: SandboxStore, conn: sqlite3.Connection) -> OrgModel:
    """The live configuration as records see it; rebuilt only when its generation moves."""
    (generation,) = conn.execute(
        "SELECT value FROM meta WHERE key = 'config_generation'"
    ).fetchone()
    cached = _models.get(store)
    if cached is None or cached[0] != generation:
        cached = (generation, OrgModel.from_config(store.list_all_config()))
        _models[store] = cached
    return cached[1]


def routes() -> list[Route]:
    """The endpoints of this module (listed in `server.API_MODULES`)."""

    return [
        Route("POST", "/api/v1/records/{object}", create_record),
        Route("GET", "/api/v1/records/{object}", query),
        Route("GET", "/api/v1/records/{object}/{id}", read_record),
        Route("PATCH", "/api/v1/records/{object}/{id}", update_record),
        Route("DELETE", "/api/v1/records/{object}/{id}", delete_record),
        Route("POST", "/api/v1/retention/run", run_policies, admin=True),
        Route("GET", "/api/v1/retention/runs", list_runs, admin=True),
        Route("GET", "/api/v1/archive/{object}", list_archive, admin=True),
        Route("GET", "/api/v1/archive/{object}/{id}", read_archived, admin=True),
    ]


# ------------------------------------------------------------ helpers


def _object(model: OrgModel, name: str) -> ObjectDef:
    obj = model.object(name)
    if obj is None:
        raise SandboxError(
            f"no object named '{name}' holds records here",
            hint="standard objects: Account, Contact, Lead, Opportunity, Case, Campaign; "
            "custom objects are CustomObject configuration items",
            status=404,
            code="NOT_FOUND",
            details={"object": name},
        )
    return obj


def _access(model: OrgModel, request: Request) -> Access:
    assert request.principal is not None  # every records route needs a token
    return access_for(model, request.principal.username, request.principal.is_admin)


def _require(access: Access, obj: ObjectDef, permission: str) -> None:
    if not access.allows(obj, permission):
        raise SandboxError(
            f"user '{access.username}' may not {permission} {obj.name} records: "
            f"none of their permission sets grants '{permission}' on {obj.name}",
            status=403,
            code="INSUFFICIENT_ACCESS",
            details={"object": obj.name, "permission": permission},
        )


def _not_found(obj: ObjectDef, record_id: str) -> SandboxError:
    return SandboxError(
        f"no {obj.name} record with id '{record_id}'",
        status=404,
        code="NOT_FOUND",
        details={"object": obj.name, "id": record_id},
    )


def _visible(
    conn: sqlite3.Connection, access: Access, obj: ObjectDef, record_id: str
) -> dict[str, Any]:
    found = get_record(conn, record_id, obj)
    if found is None or not access.owns_or_reads(obj, found[1].get("OwnerId", "")):
        raise _not_found(obj, record_id)
    return found[1]


def _require_owner_or_writes(access: Access, obj: ObjectDef, record: dict[str, Any]) -> None:
    if not access.owns_or_writes(obj, record.get("OwnerId", "")):
        raise SandboxError(
            f"user '{access.username}' may not change {obj.name} {record['Id']}: "
            f"{obj.name} records are shared read-only; only their owner or a user with "
            "modifyAll may change them",
            status=403,
            code="INSUFFICIENT_ACCESS",
            details={"object": obj.name, "id": record["Id"]},
        )


def _require_editable(access: Access, obj: ObjectDef, values: dict[str, Any]) -> None:
    refused = []
    for key in values:
        fdef = obj.field(key)
        if fdef is not None and not access.can_edit_field(obj, fdef):
            refused.append(fdef.name)
    if refused:
        raise SandboxError(
            f"user '{access.username}' may not edit {', '.join(refused)} on {obj.name}",
            status=403,
            code="FIELD_NOT_EDITABLE",
            details={"object": obj.name, "fields": refused},
        )


def _caller(request: Request) -> Caller:
    assert request.principal is not None
    return Caller(request.principal.username, request.principal.is_admin)


def _checked(
    conn: sqlite3.Connection, model: OrgModel, obj: ObjectDef, write: Write
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The record to store and the duplicate warnings, or the error to answer."""
    outcome = check_write(model, SqlRecords(conn, model), write)
    if outcome.problems:
        errors = [p.as_json() for p in outcome.problems]
        raise SandboxError(
            f"the {obj.name} record is not valid: "
            + "; ".join(p.message.rstrip(".") for p in outcome.problems),
            status=400,
            code="VALIDATION_FAILED",
            details={"errors": errors},
        )
    record = outcome.record
    found = find_duplicates(
        conn, model, obj, record, is_new=write.prior is None, changed=outcome.changed
    )
    blocking = [d for d in found if d.action == "block"]
    if blocking:
        raise SandboxError(
            "; ".join(d.message for d in blocking),
            status=409,
            code="DUPLICATES_DETECTED",
            details={"duplicates": [d.as_json() for d in blocking]},
        )
    warnings = [{"code": "DUPLICATES_DETECTED", **d.as_json()} for d in found]
    return record, warnings


def _shown(access: Access, obj: ObjectDef, record: dict[str, Any]) -> dict[str, Any]:
    return {"id": record["Id"], "fields": access.readable(obj, record)}


def _body(request: Request) -> dict[str, Any]:
    body = request.json_object()
    if not all(isinstance(k, str) for k in body):
        raise SandboxError("field names must be strings", code="BAD_REQUEST")
    return body


# ------------------------------------------------------------ records


def create_record(request: Request) -> Response:
    body = _body(request)
    store = request.store
    with store.transaction() as conn:
        model = org_model(store, conn)
        obj = _object(model, request.params["object"])
        access = _access(model, request)
        _require(access, obj, "create")
        _require_editable(access, obj, body)
        write = Write(obj, body, _caller(request), store.now())
        record, warnings = _checked(conn, model, obj, write)
        record["Id"] = new_record_id(conn, obj)[0]
        if obj.auto_number:
            record[obj.auto_field] = next_auto_number(conn, obj, obj.auto_number)
        insert_record(conn, obj, record)
    location = f"/api/v1/records/{obj.name}/{record['Id']}"
    return 201, {**_shown(access, obj, record), "warnings": warnings}, {"Location": location}


def read_record(request: Request) -> Response:
    store = request.store
    with store.transaction() as conn:
        model = org_model(store, conn)
        obj = _object(model, request.params["object"])
        access = _access(model, request)
        _require(access, obj, "read")
        record = _visible(conn, access, obj, request.params["id"])
    return 200, _shown(access, obj, record), {}


def update_record(request: Request) -> Response:
    body = _body(request)
    store = request.store
    with store.transaction() as conn:
        model = org_model(store, conn)
        obj = _object(model, request.params["object"])
        access = _access(model, request)
        _require(access, obj, "edit")
        prior = _visible(conn, access, obj, request.params["id"])
        _require_owner_or_writes(access, obj, prior)
        _require_editable(access, obj, body)
        write = Write(obj, body, _caller(request), store.now(), prior=prior)
        record, warnings = _checked(conn, model, obj, write)
        replace_record(conn, record)
    return 200, {**_shown(access, obj, record), "warnings": warnings}, {}


def delete_record(request: Request) -> Response:
    store = request.store
    with store.transaction() as conn:
        model = org_model(store, conn)
        obj = _object(model, request.params["object"])
        access = _access(model, request)
        _require(access, obj, "delete")
        record = _visible(conn, access, obj, request.params["id"])
        _require_owner_or_writes(access, obj, record)
        plan = plan_delete(conn, model, obj, [record["Id"]])
        if plan.blocked:
            refs = plan.blocked[record["Id"]]
            raise SandboxError(
                f"{obj.name} {record['Id']} cannot be deleted: required lookups of "
                f"{', '.join(refs[:10])} point at it",
                hint="delete those records or point them elsewhere first",
                status=409,
                code="RECORD_IN_USE",
                details={"referencedBy": refs},
            )
        clear_lookups(conn, plan.clear)
        delete_records(conn, [rid for _, rid in plan.delete])
    return 204, None, {}


def _limit(request: Request) -> int:
    limit = request.query_int("limit", DEFAULT_LIMIT)
    if not 1 <= limit <= MAX_LIMIT:
        raise SandboxError(
            f"limit must be between 1 and {MAX_LIMIT} (got {limit})",
            code="BAD_REQUEST",
            details={"parameter": "limit"},
        )
    return limit


def _invalid_query(exc: QueryError) -> SandboxError:
    details = {"field": exc.field} if exc.field is not None else {}
    return SandboxError(str(exc), status=400, code="INVALID_QUERY", details=details)


def _unreadable(access: Access, obj: ObjectDef, names: list[str]) -> None:
    hidden = [n for n in names if not access.can_read_field(obj, obj.fields[n.lower()])]
    if hidden:
        raise SandboxError(
            f"user '{access.username}' may not read {', '.join(hidden)} on {obj.name}",
            status=403,
            code="FIELD_NOT_READABLE",
            details={"object": obj.name, "fields": hidden},
        )


def query(request: Request) -> Response:
    limit = _limit(request)
    store = request.store
    with store.transaction() as conn:
        model = org_model(store, conn)
        obj = _object(model, request.params["object"])
        access = _access(model, request)
        _require(access, obj, "read")
        try:
            filters = parse_filters(obj, request.query_lists.get("where", []))
            cursor = request.query.get("cursor")
            after = decode_cursor(cursor) if cursor else 0
            wanted = _fields_param(obj, request.query.get("fields"))
        except QueryError as exc:
            raise _invalid_query(exc) from None
        _unreadable(access, obj, [f.field.name for f in filters] + (wanted or []))
        owner = None if access.reads_all(obj) else access.username
        rows, last = query_records(conn, obj, filters, limit=limit, after=after, owner=owner)
    records = []
    for row in rows:
        shown = _shown(access, obj, row)
        if wanted is not None:
            shown["fields"] = {k: shown["fields"].get(k) for k in ["Id", *wanted]}
        records.append(shown)
    return 200, {"records": records, "nextCursor": encode_cursor(last) if last else None}, {}


def _fields_param(obj: ObjectDef, text: str | None) -> list[str] | None:
    if text is None or not text.strip():
        return None
    names = []
    for name in (n.strip() for n in text.split(",") if n.strip()):
        fdef = obj.field(name)
        if fdef is None:
            raise QueryError(f"{obj.name} has no field '{name}'", field=name)
        if fdef.name != "Id" and fdef.name not in names:
            names.append(fdef.name)
    return names


# ---------------------------------------------------- retention, archive


def run_policies(request: Request) -> Response:
    body = request.json_object() if request.body is not None else {}
    dry_run = body.get("dryRun", False)
    names = body.get("policies")
    if not isinstance(dry_run, bool):
        raise SandboxError("dryRun must be true or false", code="BAD_REQUEST")
    if names is not None and (
        not isinstance(names, list) or not all(isinstance(n, str) for n in names)
    ):
        raise SandboxError("policies must be a list of policy names", code="BAD_REQUEST")
    store = request.store
    now = _now(body.get("now")) if body.get("now") is not None else store.now()
    with store.transaction() as conn:
        model = org_model(store, conn)
        try:
            results = run_retention(
                conn, model, now=now, actor=request.actor, dry_run=dry_run, names=names
            )
        except UnknownPolicy as exc:
            raise SandboxError(str(exc), status=404, code="NOT_FOUND") from None
    body_out = {
        "dryRun": dry_run,
        "now": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "policies": [r.as_json() for r in results],
    }
    return 200, body_out, {}


def _now(text: Any) -> datetime:
    moment = None
    if isinstance(text, str):
        try:
            moment = datetime.fromisoformat(text.upper())  # 2030-01-01t00:00:00z is RFC 3339
        except ValueError:
            moment = None
    if moment is not None:
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        try:
            return moment.astimezone(UTC)
        except OverflowError:  # 0001-01-01T00:00+01:00 is before year 1 in UTC: the first day
            return (datetime.min if moment.year == 1 else datetime.max).replace(tzinfo=UTC)
    raise SandboxError(
        f"now must be an ISO-8601 time such as 2030-01-01T00:00:00Z (got {text!r})",
        code="BAD_REQUEST",
    )


def list_runs(request: Request) -> Response:
    limit = _limit(request)
    with request.store.transaction() as conn:
        return 200, {"items": retention_runs(conn, limit)}, {}


def list_archive(request: Request) -> Response:
    limit = _limit(request)
    store = request.store
    with store.transaction() as conn:
        obj = _object(org_model(store, conn), request.params["object"])
        cursor = request.query.get("cursor") or ""
        rows, last = archived_records(conn, obj, limit=limit, after=cursor)
    return 200, {"records": rows, "nextCursor": last}, {}


def read_archived(request: Request) -> Response:
    store = request.store
    with store.transaction() as conn:
        obj = _object(org_model(store, conn), request.params["object"])
        found = archived_record(conn, obj, request.params["id"])
    if found is None:
        raise SandboxError(
            f"no archived {obj.name} record with id '{request.params['id']}'",
            status=404,
            code="NOT_FOUND",
            details={"object": obj.name, "id": request.params["id"]},
        )
    return 200, found, {}
