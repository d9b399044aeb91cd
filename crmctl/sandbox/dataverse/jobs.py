"""Duplicate detection rules, asynchronous operations, bulk delete and long-term retention.

**Duplicate rules.** `duplicaterules` (baseentityname, matchingentityname …)
and `duplicateruleconditions` (regardingobjectid → the rule; baseattributename,
matchingattributename, operatorcode 0 exact / 1 first N / 2 last N characters
/ 3 same date / 4 same date and time / 5 picklist label / 6 picklist value;
operatorparam only and always (> 0) with 1 and 2). A rule is made
unpublished (statecode 0, statuscode 0). `POST duplicaterules(id)/
Microsoft.Dynamics.CRM.PublishDuplicateRule` (or unbound `PublishDuplicateRule`
with `DuplicateRuleId`) answers `{"JobId"}` at once and sets the rule to
Publishing (1); the `asyncoperations` row finishes after it has been read
`asyncPolls` times (a setting, default 1; `configure(store, asyncPolls=…)`),
then the rule is Published (statecode 1, statuscode 2). At most 5 rules per
base table are published or publishing. Changing a rule or its conditions,
or the table's metadata, unpublishes it. `UnpublishDuplicateRule` too.

**Duplicate detection on writes.** A create or update sent with
`MSCRM.SuppressDuplicateDetection: false` is refused (HTTP 500, 0x80040333)
when a published rule of its table finds an existing row matching every
condition (exact, first/last N characters, same date; case-insensitive unless
the rule is case-sensitive; blanks never match when ignoreblankvalues). Without
the header, nothing is checked (Dataverse's default for the Web API).

**Bulk delete.** `POST BulkDelete` (QuerySet of QueryExpression, JobName,
StartDateTime, RecurrencePattern "" or `FREQ=DAILY;INTERVAL=n`, …) → `{"JobId"}`:
an `asyncoperations` row (operationtype 13, recurrencepattern,
recurrencestarttime) and a `bulkdeleteoperations` row whose
`orderedquerysetxml` holds the query as FetchXML. The job runs when polled
past its start time; a recurring job then waits (statecode 1, statuscode 10)
with `postponeuntil` at the next run.

**Retention.** `retentionconfigs` rows (entitylogicalname, FetchXML criteria
for that table, starttime, recurrence `FREQ=DAILY|WEEKLY|MONTHLY|YEARLY;INTERVAL=n`
or empty) are checked and stored; retention is not executed.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from typing import Any
from xml.sax.saxutils import quoteattr

from crmctl.sandbox.dataverse import api, records, state
from crmctl.sandbox.dataverse.api import Context, Response
from crmctl.sandbox.dataverse.odata import NOT_FOUND, DataverseFault, Segment, bad
from crmctl.sandbox.db import iso_time
from crmctl.sandbox.store import SandboxStore

__all__ = ["configure", "MAX_PUBLISHED", "advance"]

MAX_PUBLISHED = 5
PUBLISH_DUPLICATE_RULE, BULK_DELETE = 7, 13
_READY, _SUSPENDED, _LOCKED, _COMPLETED = 0, 1, 2, 3
#: The longest JobName: the name of the system job it becomes (asyncoperation.name, 256).
JOB_NAME_MAX = 256
_RECURRENCE = re.compile(r"^FREQ=(DAILY|WEEKLY|MONTHLY|YEARLY);INTERVAL=([1-9]\d*)$")


def configure(store: SandboxStore, *, asyncPolls: int) -> None:  # noqa: N803 (the setting's name)
    """How many reads of a job answer "not done yet" before it completes."""
    with store.transaction() as conn:
        state.ensure(conn)
        state.set_meta(conn, "asyncPolls", int(asyncPolls))


def _rule(ctx: Context, rule_id: str | None) -> dict[str, Any]:
    rule = state.get_row(ctx.conn, "duplicaterule", rule_id or "")
    if rule is None:
        raise DataverseFault(404, NOT_FOUND, f"duplicaterule With Id = {rule_id} Does Not Exist")
    return rule


def _unpublish(ctx: Context, rule: dict[str, Any]) -> None:
    if rule.get("statuscode") in (1, 2):
        rule.update(statecode=0, statuscode=0)
        state.put_row(ctx.conn, "duplicaterule", rule["duplicateruleid"], rule)


def _before_rule(ctx: Context, row: dict[str, Any], old: dict[str, Any] | None) -> None:
    for name in ("baseentityname", "matchingentityname"):
        if name == "matchingentityname" and not row.get(name):
            row[name] = row.get("baseentityname")
        if state.load_entity(ctx.conn, str(row.get(name) or "")) is None:
            raise bad(f"{name} {row.get(name)!r} is not a table.")
    row.setdefault("excludeinactiverecords", False)
    row.setdefault("iscasesensitive", False)
    if old is None or any(
        row.get(k) != old.get(k)
        for k in row
        if k not in ("statecode", "statuscode", "modifiedon", "modifiedby", "versionnumber")
    ):
        row.update(statecode=0, statuscode=0)


def _delete_rule(ctx: Context, rule: dict[str, Any]) -> None:
    for cond in state.rows(ctx.conn, "duplicaterulecondition"):
        if cond.get("regardingobjectid") == rule["duplicateruleid"]:
            state.delete_row(ctx.conn, "duplicaterulecondition", cond["duplicateruleconditionid"])


def _before_condition(ctx: Context, row: dict[str, Any], old: dict[str, Any] | None) -> None:
    rule = _rule(ctx, row.get("regardingobjectid"))
    for side, table in (("base", rule["baseentityname"]), ("matching", rule["matchingentityname"])):
        name = f"{side}attributename"
        if side == "matching" and not row.get(name):
            row[name] = row.get("baseattributename")
        entity = state.load_entity(ctx.conn, table)
        if entity is None or entity.attribute(str(row.get(name) or "")) is None:
            raise bad(f"{name} {row.get(name)!r} is not a column of {table}.")
    code = row.setdefault("operatorcode", 0)
    if code not in range(7):
        raise bad(f"operatorcode {code!r} is not 0 to 6.")
    param = row.get("operatorparam")
    if code in (1, 2) and (not isinstance(param, int) or param <= 0):
        raise bad("operatorparam must be a number above 0 with first/last N characters.")
    if code not in (1, 2) and param is not None:
        raise bad("operatorparam is set only with first/last N characters (operatorcode 1 or 2).")
    row.setdefault("ignoreblankvalues", False)
    _unpublish(ctx, rule)


def _delete_condition(ctx: Context, cond: dict[str, Any]) -> None:
    rule = state.get_row(ctx.conn, "duplicaterule", cond.get("regardingobjectid") or "")
    if rule:
        _unpublish(ctx, rule)


def _new_job(ctx: Context, name: str, kind: int, regarding: str | None, **extra: Any) -> dict[str, Any]:  # fmt: skip
    job_id = state.new_id()
    job = {"asyncoperationid": job_id, "name": name, "operationtype": kind, "statecode": _READY,
           "statuscode": 0, "regardingobjectid": regarding, "ownerid": ctx.user_id,
           "createdon": iso_time(ctx.now), "modifiedon": iso_time(ctx.now),
           "_polls": int(state.get_meta(ctx.conn, "asyncPolls", 1)), **extra}  # fmt: skip
    state.put_row(ctx.conn, "asyncoperation", job_id, job)
    return job


def _publish(ctx: Context, rule: dict[str, Any]) -> Response:
    records.require_write(ctx, "duplicaterule", rule)
    busy = [r for r in state.rows(ctx.conn, "duplicaterule")
            if r["baseentityname"] == rule["baseentityname"] and r.get("statuscode") in (1, 2)
            and r["duplicateruleid"] != rule["duplicateruleid"]]  # fmt: skip
    if len(busy) >= MAX_PUBLISHED:
        raise bad(
            f"The table {rule['baseentityname']} already has {MAX_PUBLISHED} published duplicate "
            "detection rules: unpublish one first.",
            "0x80045006",
        )
    rule.update(statecode=0, statuscode=1)
    state.put_row(ctx.conn, "duplicaterule", rule["duplicateruleid"], rule)
    job = _new_job(ctx, f"Publish duplicate detection rule {rule['name']}", PUBLISH_DUPLICATE_RULE,
                   rule["duplicateruleid"])  # fmt: skip
    body = {"@odata.context": f"{ctx.api}/$metadata#Microsoft.Dynamics.CRM.PublishDuplicateRuleResponse",  # noqa: E501
            "JobId": job["asyncoperationid"]}  # fmt: skip
    return 200, body, {}


def _publish_bound(ctx: Context, method: str, rule: dict[str, Any], body: Any) -> Response:
    if method != "POST":
        raise bad("Actions are called with POST.", status=405)
    return _publish(ctx, rule)


def _publish_unbound(ctx: Context, method: str, segments: list[Segment], body: Any) -> Response:
    if method != "POST":
        raise bad("Actions are called with POST.", status=405)
    return _publish(
        ctx,
        _rule(ctx, str(api.check_keys(body, "PublishDuplicateRule").get("DuplicateRuleId") or "")),
    )  # noqa: E501


def _unpublish_bound(ctx: Context, method: str, rule: dict[str, Any], body: Any) -> Response:
    records.require_write(ctx, "duplicaterule", rule)
    rule.update(statecode=0, statuscode=0)
    state.put_row(ctx.conn, "duplicaterule", rule["duplicateruleid"], rule)
    return 204, None, {}


# Bulk delete.

_OPERATORS = {"Equal": "eq", "NotEqual": "ne", "GreaterThan": "gt", "LessThan": "lt",
              "GreaterEqual": "ge", "LessEqual": "le", "In": "in", "Null": "null",
              "NotNull": "not-null", "OlderThanXDays": "olderthan-x-days",
              "Like": "like"}  # fmt: skip


def _fetch_xml(query: dict[str, Any]) -> str:
    entity = query["EntityName"]
    conditions = []
    for cond in (query.get("Criteria") or {}).get("Conditions") or []:
        op = _OPERATORS.get(cond.get("Operator"), "")
        if not op:
            raise bad(f"The condition operator {cond.get('Operator')!r} is not supported here.")
        values = [v.get("Value") if isinstance(v, dict) else v for v in cond.get("Values") or []]
        attr = quoteattr(str(cond.get("AttributeName")))
        if op == "in":
            inner = "".join(f"<value>{v}</value>" for v in values)
            conditions.append(f'<condition attribute={attr} operator="in">{inner}</condition>')
        elif op in ("null", "not-null"):
            conditions.append(f'<condition attribute={attr} operator="{op}" />')
        else:
            value = quoteattr(str(values[0] if values else ""))
            conditions.append(f'<condition attribute={attr} operator="{op}" value={value} />')
    filter_type = "or" if (query.get("Criteria") or {}).get("FilterOperator") == "Or" else "and"
    return (f'<fetch><entity name={quoteattr(entity)}><filter type="{filter_type}">'
            f'{"".join(conditions)}</filter></entity></fetch>')  # fmt: skip


def _matches(row: dict[str, Any], cond: ET.Element, now: datetime) -> bool:
    value = row.get(cond.get("attribute", ""))
    op, given = cond.get("operator"), cond.get("value")
    if op == "null":
        return value is None
    if op == "not-null":
        return value is not None
    if op == "in":
        return str(value).lower() in {(v.text or "").lower() for v in cond.findall("value")}
    if op == "olderthan-x-days":
        return value is not None and str(value) < iso_time(now - timedelta(days=int(given or 0)))
    text = "" if value is None else str(value).lower()
    wanted = (given or "").lower()
    return {"eq": text == wanted, "ne": text != wanted, "gt": text > wanted, "lt": text < wanted,
            "ge": text >= wanted, "le": text <= wanted}.get(op or "", False)  # fmt: skip


def _run_bulk_delete(ctx: Context, job: dict[str, Any]) -> None:
    operation = next((b for b in state.rows(ctx.conn, "bulkdeleteoperation")
                      if b.get("asyncoperationid") == job["asyncoperationid"]), None)  # fmt: skip
    if operation is None:
        return
    deleted = 0
    for fetch in ET.fromstring(f"<q>{operation['orderedquerysetxml']}</q>"):
        entity_el = fetch.find("entity")
        assert entity_el is not None
        entity = state.load_entity(ctx.conn, entity_el.get("name", ""))
        if entity is None:
            continue
        filter_el = entity_el.find("filter")
        conds = list(filter_el) if filter_el is not None else []
        any_of = filter_el is not None and filter_el.get("type") == "or"
        for row in state.rows(ctx.conn, entity.logical_name):
            hits = [_matches(row, c, ctx.now) for c in conds]
            if any(hits) if any_of else all(hits):
                records.delete_row(ctx, entity, row)
                deleted += 1
    operation["successcount"] = (operation.get("successcount") or 0) + deleted
    operation["failurecount"] = operation.get("failurecount") or 0
    if job.get("recurrencepattern"):
        interval = int(job["recurrencepattern"].rpartition("=")[2])
        job.update(statecode=_SUSPENDED, statuscode=10,
                   postponeuntil=iso_time(ctx.now + timedelta(days=interval)))  # fmt: skip
        operation["nextrun"] = job["postponeuntil"]
    else:
        job.update(statecode=_COMPLETED, statuscode=30, completedon=iso_time(ctx.now))
    operation.update(statecode=job["statecode"], statuscode=job["statuscode"])
    state.put_row(ctx.conn, "bulkdeleteoperation", operation["bulkdeleteoperationid"], operation)


def _moment(text: Any, default: datetime) -> str:
    """An Edm.DateTimeOffset from a request, in the store's fixed-width form."""
    if not text:
        return iso_time(default)
    try:
        return iso_time(datetime.fromisoformat(str(text).replace("Z", "+00:00")))
    except ValueError:
        raise bad(f"{text!r} is not a date and time (e.g. 2030-01-01T00:00:00Z).") from None


def _bulk_delete(ctx: Context, method: str, segments: list[Segment], body: Any) -> Response:
    if method != "POST":
        raise bad("Actions are called with POST.", status=405)
    body = api.check_keys(body, "BulkDelete")
    name = body.get("JobName")
    queries = body.get("QuerySet")
    if not isinstance(name, str) or not name.strip():
        raise bad("BulkDelete needs a JobName.")
    if len(name) > JOB_NAME_MAX:
        raise bad(
            "A validation error occurred. The length of the 'name' attribute of the "
            f"'asyncoperation' entity exceeded the maximum allowed length of '{JOB_NAME_MAX}'.",
            "0x80044331",
        )
    if not isinstance(queries, list) or not queries:
        raise bad("BulkDelete needs a QuerySet: a list of QueryExpression.")
    for query in queries:
        entity = state.load_entity(ctx.conn, str((query or {}).get("EntityName") or ""))
        if entity is None:
            raise bad(f"QuerySet: {query.get('EntityName')!r} is not a table.")
        records.require_write(ctx, entity.logical_name, None, "Delete")
    pattern = body.get("RecurrencePattern") or ""
    if pattern and not re.fullmatch(r"FREQ=DAILY;INTERVAL=[1-9]\d*", pattern):
        raise bad("RecurrencePattern is empty or FREQ=DAILY;INTERVAL=n (bulk delete recurs daily).")
    start = _moment(body.get("StartDateTime"), ctx.now)
    job = _new_job(ctx, name, BULK_DELETE, None, recurrencepattern=pattern,
                   recurrencestarttime=start, postponeuntil=start)  # fmt: skip
    operation_id = state.new_id()
    state.put_row(ctx.conn, "bulkdeleteoperation", operation_id, {
        "bulkdeleteoperationid": operation_id, "name": name,
        "asyncoperationid": job["asyncoperationid"], "isrecurring": bool(pattern),
        "orderedquerysetxml": "".join(_fetch_xml(q) for q in queries), "nextrun": start,
        "statecode": _READY, "statuscode": 0, "successcount": 0, "failurecount": 0,
        "createdon": iso_time(ctx.now), "ownerid": ctx.user_id})  # fmt: skip
    return 200, {"@odata.context": f"{ctx.api}/$metadata#Microsoft.Dynamics.CRM.BulkDeleteResponse",
                 "JobId": job["asyncoperationid"]}, {}  # fmt: skip


def advance(ctx: Context) -> None:
    """A read of jobs: each waiting job counts one poll, and runs when it has none left."""
    for job in state.rows(ctx.conn, "asyncoperation"):
        if job.get("statecode") == _COMPLETED:
            continue
        if str(job.get("postponeuntil") or "") > iso_time(ctx.now):
            continue
        if job.get("_polls", 0) > 0:
            job["_polls"] -= 1
            job.update(statecode=_LOCKED, statuscode=20)
        elif job["operationtype"] == PUBLISH_DUPLICATE_RULE:
            rule = state.get_row(ctx.conn, "duplicaterule", job.get("regardingobjectid") or "")
            if rule is not None and rule.get("statuscode") == 1:
                rule.update(statecode=1, statuscode=2)
                state.put_row(ctx.conn, "duplicaterule", rule["duplicateruleid"], rule)
                job.update(statecode=_COMPLETED, statuscode=30, completedon=iso_time(ctx.now))
            else:
                job.update(statecode=_COMPLETED, statuscode=32, completedon=iso_time(ctx.now),
                           message="The rule was changed or unpublished before it was published.")  # fmt: skip
        elif job["operationtype"] == BULK_DELETE:
            _run_bulk_delete(ctx, job)
            job["_polls"] = int(state.get_meta(ctx.conn, "asyncPolls", 1))
        state.put_row(ctx.conn, "asyncoperation", job["asyncoperationid"], job)


def _before_retention(ctx: Context, row: dict[str, Any], old: dict[str, Any] | None) -> None:
    table = str(row.get("entitylogicalname") or "")
    if state.load_entity(ctx.conn, table) is None:
        raise bad(f"entitylogicalname {table!r} is not a table.")
    try:
        fetch = ET.fromstring(str(row.get("criteria") or ""))
    except ET.ParseError as exc:
        raise bad(f"criteria is not FetchXML: {exc}") from None
    entity_el = fetch.find("entity")
    if fetch.tag != "fetch" or entity_el is None or entity_el.get("name") != table:
        raise bad(f'criteria must be <fetch><entity name="{table}">…</entity></fetch>.')
    recurrence = row.get("recurrence") or ""
    if recurrence and not _RECURRENCE.match(recurrence):
        raise bad("recurrence is empty (run once) or FREQ=DAILY|WEEKLY|MONTHLY|YEARLY;INTERVAL=n.")
    row.setdefault("statecode", 0)
    if old is None:
        row["statuscode"] = row.get("statuscode") or 10


def _condition_matches(cond: dict[str, Any], new: Any, old: Any, case: bool) -> bool:
    if new in (None, "") or old in (None, ""):
        return not cond.get("ignoreblankvalues") and new in (None, "") and old in (None, "")
    a, b = (str(new), str(old)) if case else (str(new).lower(), str(old).lower())
    code, n = cond.get("operatorcode", 0), cond.get("operatorparam") or 0
    if code == 1:
        return a[:n] == b[:n]
    if code == 2:
        return a[-n:] == b[-n:]
    if code == 3:
        return a[:10] == b[:10]
    return a == b


def _detect_duplicates(ctx: Context, entity: state.Entity, row: dict[str, Any]) -> None:
    if (ctx.header("MSCRM.SuppressDuplicateDetection") or "").strip().lower() != "false":
        return
    rules = [r for r in state.rows(ctx.conn, "duplicaterule")
             if r.get("statuscode") == 2 and r.get("baseentityname") == entity.logical_name]  # fmt: skip
    for rule in rules:
        conds = [c for c in state.rows(ctx.conn, "duplicaterulecondition")
                 if c.get("regardingobjectid") == rule["duplicateruleid"]]  # fmt: skip
        target = state.load_entity(ctx.conn, rule["matchingentityname"])
        if not conds or target is None:
            continue
        for other in state.rows(ctx.conn, target.logical_name):
            if other.get(target.primary_id) == row.get(entity.primary_id):
                continue
            if all(_condition_matches(c, row.get(c["baseattributename"]),
                                      other.get(c["matchingattributename"]),
                                      bool(rule.get("iscasesensitive"))) for c in conds):  # fmt: skip
                raise DataverseFault(
                    500,
                    "0x80040333",
                    "A record was not created or updated because a duplicate of the current "
                    f"record already exists (duplicate detection rule '{rule['name']}').",
                )


records.ANY_WRITE.append(_detect_duplicates)
records.BEFORE_WRITE.setdefault("duplicaterule", []).append(_before_rule)
records.BEFORE_DELETE.setdefault("duplicaterule", []).append(_delete_rule)
records.BEFORE_WRITE.setdefault("duplicaterulecondition", []).append(_before_condition)
records.BEFORE_DELETE.setdefault("duplicaterulecondition", []).append(_delete_condition)
records.BEFORE_WRITE.setdefault("retentionconfig", []).append(_before_retention)
records.BEFORE_READ.setdefault("asyncoperation", []).append(advance)
records.BEFORE_READ.setdefault("duplicaterule", []).append(advance)
records.BEFORE_READ.setdefault("bulkdeleteoperation", []).append(advance)
records.BOUND[("duplicaterule", "PublishDuplicateRule")] = _publish_bound
records.BOUND[("duplicaterule", "UnpublishDuplicateRule")] = _unpublish_bound
api.OPERATIONS["PublishDuplicateRule"] = _publish_unbound
api.OPERATIONS["BulkDelete"] = _bulk_delete
