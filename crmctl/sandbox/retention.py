"""Retention runs: carry out every RetentionPolicy on the records it covers.

A policy covers the records of its object whose `dateField` is older than
now minus `retain` (an ISO period of years, months, weeks and days; a blank
date is never old) and for which its `filter` formula, if any, is true.

- `delete` deletes them as an API delete would (master-detail children too;
  records that a required lookup still points at are kept, with a warning).
- `archive` moves them, likewise, to the archive table, where admins can
  still read them (`GET /api/v1/archive/{object}`).
- `anonymize` blanks the `anonymizeFields`. A required field is never left
  blank: required text, phone and URL fields become "ANONYMIZED", required
  email fields "anonymized@example.invalid"; a required field of another
  type keeps its value and the result carries a warning.

`matched` counts the records a policy covers, `affected` those it changed
(in a dry run: would change). Each real run of a policy is recorded in the
`records_audit` table with the ids it touched; dry runs change nothing and
are not recorded.
"""

from __future__ import annotations

import calendar
import json
import re
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from crmctl.formula import FormulaError
from crmctl.formula.functions import EvalProblem, to_bool
from crmctl.sandbox.enforcement import Caller, apply_computed, compiled_formula, formula_context
from crmctl.sandbox.records import (
    ObjectDef,
    OrgModel,
    SqlRecords,
    clear_lookups,
    datetime_text,
    delete_records,
    get_record,
    plan_delete,
)

__all__ = [
    "ANONYMIZED",
    "ANONYMIZED_EMAIL",
    "PolicyResult",
    "UnknownPolicy",
    "parse_period",
    "cutoff",
    "run_retention",
    "archived_records",
    "archived_record",
    "retention_runs",
]

ANONYMIZED = "ANONYMIZED"
ANONYMIZED_EMAIL = "anonymized@example.invalid"
_PERIOD = re.compile(r"^P(?=\d)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$")
_PLACEHOLDER_TYPES = ("Text", "TextArea", "LongTextArea", "Phone", "Url")


class UnknownPolicy(ValueError):
    """A run asked for a policy the configuration does not have."""


@dataclass
class PolicyResult:
    """What one policy did (or, in a dry run, would do)."""

    name: str
    object: str
    action: str
    matched: int = 0
    affected: int = 0
    warnings: list[str] = field(default_factory=list)
    record_ids: list[str] = field(default_factory=list)  # touched; for the audit trail

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "object": self.object,
            "action": self.action,
            "matched": self.matched,
            "affected": self.affected,
            "warnings": self.warnings,
        }


def parse_period(text: str) -> tuple[int, int, int, int]:
    """`P1Y6M` -> (years, months, weeks, days); ValueError for anything else."""
    found = _PERIOD.match(text or "")
    if not found:
        raise ValueError(f"'{text}' is not an ISO-8601 period such as P7Y, P18M or P90D")
    years, months, weeks, days = (int(g or 0) for g in found.groups())
    return years, months, weeks, days


def cutoff(now: datetime, period: str) -> datetime:
    """`now` minus the period; month arithmetic keeps the day, clamped to the month's end."""
    years, months, weeks, days = parse_period(period)
    total = now.year * 12 + (now.month - 1) - years * 12 - months
    year, month = divmod(total, 12)
    day = min(now.day, calendar.monthrange(year, month + 1)[1])
    return now.replace(year=year, month=month + 1, day=day) - timedelta(weeks=weeks, days=days)


def run_retention(
    conn: sqlite3.Connection,
    model: OrgModel,
    *,
    now: datetime,
    actor: str,
    dry_run: bool = False,
    names: list[str] | None = None,
) -> list[PolicyResult]:
    """Apply the policies (all, or those named) in name order; the caller holds the transaction."""
    policies = model.retention_policies
    if names is not None:
        known = {n.lower(): n for n in policies}
        missing = [n for n in names if n.lower() not in known]
        if missing:
            raise UnknownPolicy(f"no RetentionPolicy named {', '.join(missing)}")
        wanted = {known[n.lower()] for n in names}
        policies = {n: s for n, s in policies.items() if n in wanted}
    results = []
    for name, spec in policies.items():
        result = PolicyResult(name, spec["object"], spec["action"])
        obj = model.object(spec["object"])
        if obj is None:
            result.warnings.append(f"object {spec['object']} holds no records here")
        else:
            ids = _covered(conn, model, obj, spec, now, actor, result)
            result.matched = len(ids)
            _ACTIONS[spec["action"]](conn, model, obj, spec, ids, now, actor, dry_run, result)
            if not dry_run and result.affected:
                _audit(conn, now, actor, obj, result)
        results.append(result)
    return results


def _covered(
    conn: sqlite3.Connection,
    model: OrgModel,
    obj: ObjectDef,
    spec: dict[str, Any],
    now: datetime,
    actor: str,
    result: PolicyResult,
) -> list[str]:
    date_field = obj.field(spec["dateField"])
    if date_field is None or date_field.type not in ("Date", "DateTime"):
        result.warnings.append(f"dateField {spec['dateField']} is not a date field of {obj.name}")
        return []
    try:
        moment = cutoff(now, spec["retain"])
    except (ValueError, OverflowError):  # a `now` so early that now - retain is before year 1
        result.warnings.append(f"now minus {spec['retain']} is before the first day of year 1")
        return []
    limit = moment.date().isoformat() if date_field.type == "Date" else datetime_text(moment)
    rows = conn.execute(
        "SELECT id, fields FROM records WHERE object = ? AND json_extract(fields, ?) < ? "
        "ORDER BY seq",
        (obj.key, f"$.{date_field.name}", limit),
    )
    if not spec.get("filter"):
        return [row[0] for row in rows]
    compiled, error, _ = compiled_formula(model, spec["filter"])
    if compiled is None:
        result.warnings.append(f"filter cannot run: {error}")
        return []
    reader, caller = SqlRecords(conn, model), Caller(actor, True)
    ids, failures = [], []
    for record_id, fields in rows:
        record = json.loads(fields)
        context = formula_context(model, reader, obj, record, record, caller, now)
        try:
            if to_bool(compiled(context)):
                ids.append(record_id)
        except (FormulaError, EvalProblem) as exc:  # skips the record, never the run
            failures.append(f"{record_id}: {exc}")
    if failures:
        result.warnings.append(
            f"filter could not be evaluated for {len(failures)} record(s), which were kept; "
            f"first: {failures[0]}"
        )
    return ids


def _remove(
    conn: sqlite3.Connection,
    model: OrgModel,
    obj: ObjectDef,
    spec: dict[str, Any],
    ids: list[str],
    now: datetime,
    actor: str,
    dry_run: bool,
    result: PolicyResult,
) -> None:
    """delete and archive: the records and their master-detail children leave the table."""
    plan = plan_delete(conn, model, obj, ids)
    if plan.blocked:
        first, refs = next(iter(plan.blocked.items()))
        result.warnings.append(
            f"{len(plan.blocked)} record(s) kept because required lookups point at them "
            f"(e.g. {first} from {', '.join(refs[:3])})"
        )
    roots = [i for i in ids if i not in plan.blocked]
    result.affected = len(roots)
    result.record_ids = [rid for _, rid in plan.delete]
    if dry_run:
        return
    if spec["action"] == "archive":
        at = datetime_text(now)
        for _, rid in plan.delete:
            conn.execute(
                "INSERT OR REPLACE INTO archived_records "
                "(id, object, owner_id, fields, archived_at, policy) "
                "SELECT id, object, owner_id, fields, ?, ? FROM records WHERE id = ?",
                (at, result.name, rid),
            )
    clear_lookups(conn, plan.clear)
    delete_records(conn, result.record_ids)


def _anonymize(
    conn: sqlite3.Connection,
    model: OrgModel,
    obj: ObjectDef,
    spec: dict[str, Any],
    ids: list[str],
    now: datetime,
    actor: str,
    dry_run: bool,
    result: PolicyResult,
) -> None:
    replacements: dict[str, Any] = {}
    for name in spec.get("anonymizeFields") or []:
        fdef = obj.field(name)
        if fdef is None or not fdef.writable:
            result.warnings.append(f"{name} is not a field of {obj.name} that can be anonymized")
        elif not fdef.required:
            replacements[fdef.name] = None
        elif fdef.type in _PLACEHOLDER_TYPES:
            replacements[fdef.name] = ANONYMIZED[: fdef.length or None]
        elif fdef.type == "Email":
            replacements[fdef.name] = ANONYMIZED_EMAIL
        else:
            result.warnings.append(f"{fdef.name} is a required {fdef.type} field; it was kept")
    for record_id in ids:
        found = get_record(conn, record_id, obj)
        if found is None:
            continue
        record = found[1]
        if all(record.get(k) == v for k, v in replacements.items()):
            continue  # anonymized by an earlier run
        result.affected += 1
        result.record_ids.append(record_id)
        if dry_run:
            continue
        for key, value in replacements.items():
            if value is None:
                record.pop(key, None)
            else:
                record[key] = value
        apply_computed(obj, record)  # an anonymized LastName must not live on in Name
        record["LastModifiedDate"] = datetime_text(now)
        record["LastModifiedById"] = actor
        conn.execute("UPDATE records SET fields = ? WHERE id = ?", (json.dumps(record), record_id))


_ACTIONS = {"delete": _remove, "archive": _remove, "anonymize": _anonymize}


def _audit(
    conn: sqlite3.Connection, now: datetime, actor: str, obj: ObjectDef, result: PolicyResult
) -> None:
    details: dict[str, Any] = {"matched": result.matched, "affected": result.affected}
    details |= {"recordIds": result.record_ids, "warnings": result.warnings}
    conn.execute(
        "INSERT INTO records_audit (at, actor, action, object, subject, details) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (datetime_text(now), actor, f"retention.{result.action}", obj.name, result.name,
         json.dumps(details)),
    )  # fmt: skip


# ----------------------------------------------------------- reading back


def retention_runs(conn: sqlite3.Connection, limit: int = 100) -> list[dict[str, Any]]:
    """The latest recorded retention actions, newest first."""
    rows = conn.execute(
        "SELECT seq, at, actor, action, object, subject, details FROM records_audit "
        "WHERE action LIKE 'retention.%' ORDER BY seq DESC LIMIT ?",
        (limit,),
    )
    return [
        {"seq": seq, "at": at, "actor": actor, "action": action, "object": obj,
         "policy": subject, **json.loads(details)}
        for seq, at, actor, action, obj, subject, details in rows
    ]  # fmt: skip


def _archived(row: tuple[Any, ...]) -> dict[str, Any]:
    record_id, fields, archived_at, policy = row
    return {
        "id": record_id,
        "fields": json.loads(fields),
        "archivedAt": archived_at,
        "policy": policy,
    }


def archived_records(
    conn: sqlite3.Connection, obj: ObjectDef, *, limit: int, after: str = ""
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of an object's archived records in id order, and the id to continue after."""
    rows = conn.execute(
        "SELECT id, fields, archived_at, policy FROM archived_records "
        "WHERE object = ? AND id > ? ORDER BY id LIMIT ?",
        (obj.key, after, limit + 1),
    ).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    return [_archived(r) for r in rows], (rows[-1][0] if more else None)


def archived_record(
    conn: sqlite3.Connection, obj: ObjectDef, record_id: str
) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT id, fields, archived_at, policy FROM archived_records WHERE object = ? AND id = ?",
        (obj.key, record_id),
    ).fetchone()
    return _archived(row) if row else None
