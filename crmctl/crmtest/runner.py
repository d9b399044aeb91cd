"""Run configuration test cases against a test sandbox and say, per case, expected vs actual."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crmctl.access.effective import OrgAccess, Target
from crmctl.crmtest.cases import TestCase
from crmctl.crmtest.checks import retention_date_fields
from crmctl.crmtest.sandbox import ADMIN, TestSandbox
from crmctl.sandbox import records_api
from crmctl.sandbox.records import FieldDef, ObjectDef, datetime_text, get_record
from crmctl.sandbox.retention import archived_record, cutoff, run_retention

__all__ = ["CaseResult", "run_case", "run_clock", "CaseError", "PASS", "FAIL", "ERROR"]

PASS, FAIL, ERROR = "pass", "fail", "error"


class CaseError(Exception):
    """A case could not run to its check (a given record was refused, …)."""


@dataclass
class CaseResult:
    """One case's outcome: pass, fail (with expected vs actual) or error (with the reason)."""

    case: TestCase
    status: str
    expected: list[str] = field(default_factory=list)
    actual: list[str] = field(default_factory=list)
    message: str = ""  # why an error happened


@dataclass
class _Answer:
    """What the CRM answered a record write."""

    accepted: bool
    record_id: str | None = None
    problems: list[tuple[str | None, str]] = field(default_factory=list)  # (field, message)
    code: str | None = None
    alerts: list[str] = field(default_factory=list)  # duplicate rules that alerted
    blocked: list[str] = field(default_factory=list)  # duplicate rules that blocked


def _answer(status: int, body: Any) -> _Answer:
    if status < 300:
        alerts = [w["rule"] for w in body.get("warnings", []) if "rule" in w]
        return _Answer(True, body["id"], alerts=alerts)
    error = body["error"]
    code, details = error["code"], error.get("details") or {}
    if code == "VALIDATION_FAILED":
        problems = [(e["field"], e["message"]) for e in details["errors"]]
    elif code == "FIELD_NOT_EDITABLE":
        problems = [(f, error["message"]) for f in details["fields"]]
    else:
        problems = [(None, error["message"])]
    blocked = (
        [d["rule"] for d in details.get("duplicates", [])] if code == "DUPLICATES_DETECTED" else []
    )
    return _Answer(False, problems=problems, code=code, blocked=blocked)


def _resolve(values: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    return {
        k: ids[v["ref"]] if isinstance(v, dict) and "ref" in v else v for k, v in values.items()
    }


class _Run:
    def __init__(self, sandbox: TestSandbox, conn: Any, case: TestCase) -> None:
        self.sandbox, self.conn, self.case = sandbox, conn, case
        self.model = sandbox.model(conn)
        self.ids: dict[str, str] = {}
        self.objects: dict[str, str] = {}

    def principal(self, username: str | None) -> Any:
        principal = self.sandbox.principal(self.conn, username or ADMIN)
        if principal is None:
            raise CaseError(f"no User named '{username}'")
        return principal

    def create(self, username: str | None, obj: str, values: dict[str, Any]) -> _Answer:
        status, body = self.sandbox.call(
            self.principal(username),
            "POST",
            records_api.create_record,
            {"object": obj},
            _resolve(values, self.ids),
        )
        return _answer(status, body)

    def update(self, username: str | None, ref: str, values: dict[str, Any]) -> _Answer:
        params = {"object": self.objects[ref], "id": self.ids[ref]}
        status, body = self.sandbox.call(
            self.principal(username),
            "PATCH",
            records_api.update_record,
            params,
            _resolve(values, self.ids),
        )
        return _answer(status, body)

    def given(self) -> None:
        for name, record in self.case.given.items():
            answer = self.create(record.get("user"), record["object"], record.get("values") or {})
            if not answer.accepted:
                raise CaseError(f"given record '{name}' was refused: {_rejection(answer)[0]}")
            self.ids[name] = answer.record_id or ""
            self.objects[name] = record["object"]

    def write(self) -> _Answer:
        body = self.case.body
        if "create" in body:
            return self.create(self.case.user, body["create"], body.get("values") or {})
        return self.update(self.case.user, body["update"], body.get("values") or {})


def _rejection(answer: _Answer) -> list[str]:
    return [f"rejected: {f}: {m}" if f else f"rejected: {m}" for f, m in answer.problems]


def _describe(answer: _Answer) -> list[str]:
    if answer.accepted:
        alerts = f" (duplicate alert: {', '.join(answer.alerts)})" if answer.alerts else ""
        return [f"accepted{alerts}"]
    return _rejection(answer)


def _record_case(run: _Run) -> tuple[bool, list[str], list[str]]:
    expect = run.case.body["expect"]
    answer = run.write()
    actual = _describe(answer)
    if expect == "accepted":
        return answer.accepted, ["accepted"], actual
    wanted = expect["rejected"] or {}
    field_given = "field" in wanted
    text = "rejected"
    if field_given:
        text += f": {wanted['field']}" if wanted["field"] else ": (the record)"
    if "message" in wanted:
        text += f": {wanted['message']}"
    ok = not answer.accepted and any(
        (not field_given or (f or "").lower() == (wanted["field"] or "").lower())
        and ("message" not in wanted or m == wanted["message"])
        for f, m in answer.problems
    )
    return ok, [text], actual


def _duplicate_case(run: _Run) -> tuple[bool, list[str], list[str]]:
    body = run.case.body
    expect, rule = body["expect"], body.get("rule")
    answer = run.write()
    of = f" by {rule}" if rule else ""
    if expect == "blocked":
        expected = [f"blocked{of}"]
        ok = bool(answer.blocked) and (rule is None or rule in answer.blocked)
    elif expect == "alerted":
        expected = [f"accepted with a duplicate alert{of}"]
        ok = answer.accepted and bool(answer.alerts) and (rule is None or rule in answer.alerts)
    else:
        expected = [f"accepted without a duplicate alert{of}"]
        ok = answer.accepted and not (answer.alerts if rule is None else rule in answer.alerts)
    if answer.blocked:
        actual = [f"blocked by {', '.join(answer.blocked)}"]
    elif answer.accepted:
        alerts = answer.alerts
        actual = [
            f"accepted with a duplicate alert by {', '.join(alerts)}"
            if alerts
            else "accepted without a duplicate alert"
        ]
    else:
        actual = _rejection(answer)
    return ok, expected, actual


def _object(run: _Run, name: str) -> ObjectDef:
    obj = run.model.object(name)
    if obj is None:
        raise CaseError(f"no object named '{name}'")
    return obj


def _field(obj: ObjectDef, name: str) -> FieldDef:
    fdef = obj.field(name)
    if fdef is None:
        raise CaseError(f"no field named '{obj.name}.{name}'")
    return fdef


def _access_case(run: _Run, access: OrgAccess) -> tuple[bool, list[str], list[str]]:
    body = run.case.body
    user = access.user(run.case.user or "")
    if user is None:
        raise CaseError(f"no User named '{run.case.user}'")
    if "object" in body:
        obj = _object(run, body["object"])
        grants = access.user_grants(user, [obj.name], [])
        what = obj.name
    else:
        obj_name, _, field_name = body["field"].partition(".")
        obj = _object(run, obj_name)
        fdef = _field(obj, field_name)
        grants = access.user_grants(user, [], [Target(obj.name, fdef.name)])
        what = f"{obj.name}.{fdef.name}"
    held = {perm: via for g in grants for perm, via in g.paths().items()}
    can, cannot = body.get("can", []), body.get("cannot", [])
    expected = []
    if can:
        expected.append(f"can {', '.join(can)} {what}")
    if cannot:
        expected.append(f"cannot {', '.join(cannot)} {what}")
    asked = [*can, *cannot]
    actual = []
    for perm in asked:
        if perm in held:
            actual.append(f"can {perm} {what} via {', '.join(held[perm])}")
        else:
            reason = " (user is inactive)" if not user.active else ""
            actual.append(f"cannot {perm} {what}{reason}")
    ok = all(p in held for p in can) and not any(p in held for p in cannot)
    return ok, expected, actual


def _retention_case(run: _Run, now: datetime) -> tuple[bool, list[str], list[str]]:
    body = run.case.body
    obj = _object(run, body["object"])
    moment = cutoff(now, body["age"])
    values = dict(body.get("values") or {})
    for name in retention_date_fields(run.model, obj.name):
        fdef = obj.field(name)
        if fdef is not None:
            values[fdef.name] = (
                moment.date().isoformat() if fdef.type == "Date" else datetime_text(moment)
            )
    answer = run.create(None, obj.name, values)
    if not answer.accepted or answer.record_id is None:
        raise CaseError(f"the {obj.name} record was refused: {_rejection(answer)[0]}")
    record_id = answer.record_id
    created = get_record(run.conn, record_id, obj)
    if created is None:
        raise CaseError(f"the {obj.name} record {record_id} was not stored")
    before = created[1]
    results = run_retention(run.conn, run.model, now=now, actor="crmctl test")
    after = get_record(run.conn, record_id, obj)
    touched = [r.name for r in results if record_id in r.record_ids]
    by = f" by {', '.join(touched)}" if touched else ""
    if after is None:
        outcome = "archived" if archived_record(run.conn, obj, record_id) else "deleted"
        actual = [f"{outcome}{by}"]
    else:
        keys = {*before, *after[1]}
        changed = sorted(
            k
            for k in keys
            if before.get(k) != after[1].get(k) and getattr(obj.field(k), "writable", False)
        )
        outcome = "anonymized" if changed else "kept"
        actual = [f"anonymized{by}: {', '.join(changed)}" if changed else "kept"]
    return outcome == body["expect"], [body["expect"]], actual


def run_case(sandbox: TestSandbox, case: TestCase, access: OrgAccess, now: datetime) -> CaseResult:
    """Run one case in its own rolled-back transaction."""
    try:
        with sandbox.case() as conn:
            run = _Run(sandbox, conn, case)
            run.given()
            if case.kind == "record":
                ok, expected, actual = _record_case(run)
            elif case.kind == "duplicate":
                ok, expected, actual = _duplicate_case(run)
            elif case.kind == "access":
                ok, expected, actual = _access_case(run, access)
            else:
                ok, expected, actual = _retention_case(run, now)
    except CaseError as exc:
        return CaseResult(case, ERROR, message=str(exc))
    return CaseResult(case, PASS if ok else FAIL, expected, actual)


def run_clock() -> datetime:
    """Now, to the second: the test sandbox's clock for a whole run."""
    return datetime.now(UTC).replace(microsecond=0)
