"""The checks every record write passes: fields, types, required, unique, lookups, rules.

`check_write` collects every problem of one write (as `Problem`s, never
raised) and returns the record to store. Validation rules run through the
formula engine, compiled once per configuration version. A rule that reads
a field whose new value is itself invalid is skipped, so the caller sees the
field's own problem rather than a rule's confusing consequence of it.

Formulas see Percent fields as fractions (a stored 30 reads as 0.3), as in
Salesforce, so `Discount__c > 0.5` means "more than 50%".
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from crmctl.formula import EvalContext, FormulaError, compile_formula, field_references, parse
from crmctl.formula.functions import EvalProblem, to_bool
from crmctl.model import Resource
from crmctl.sandbox.db import SandboxError
from crmctl.sandbox.records import (
    FieldDef,
    ObjectDef,
    OrgModel,
    custom_field_def,
    datetime_text,
    parse_datetime_value,
)

__all__ = [
    "Problem",
    "Caller",
    "RecordReader",
    "Write",
    "WriteOutcome",
    "check_write",
    "apply_computed",
    "coerce",
    "convert_value",
    "convert_field_values",
    "formula_context",
    "compiled_formula",
    "user_globals",
]

NUMERIC = ("Number", "Currency", "Percent")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_AUDIT_ON_CREATE = ("OwnerId", "CreatedDate")  # admins may set these, to import records


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a write: the field (None for the whole record), a code, a message."""

    field: str | None
    code: str
    message: str
    rule: str | None = None  # the validation rule that reported it

    def as_json(self) -> dict[str, Any]:
        out = {"field": self.field, "code": self.code, "message": self.message}
        if self.rule:
            out["rule"] = self.rule
        return out


@dataclass(frozen=True)
class Caller:
    """Who writes: the username (also their user id) and whether they are an admin."""

    username: str
    is_admin: bool = False


class RecordReader(Protocol):
    """What the checks read about other records (records.SqlRecords implements it)."""

    def existing_ids(self, target: str, ids: Iterable[str]) -> set[str]: ...

    def equal_values(
        self, obj: ObjectDef, fdef: FieldDef, value: Any, exclude_id: str | None
    ) -> list[str]: ...

    def fetch(self, record_id: str) -> tuple[str, dict[str, Any]] | None: ...


@dataclass
class Write:
    """One record write to check: the caller's values, and the stored record on update."""

    obj: ObjectDef
    values: Mapping[str, Any]
    caller: Caller
    now: datetime
    prior: dict[str, Any] | None = None  # None on create


@dataclass
class WriteOutcome:
    """The record to store (without Id and auto number on create) and what is wrong with it."""

    record: dict[str, Any]
    changed: set[str] = field(default_factory=set)  # declared names the caller wrote
    problems: list[Problem] = field(default_factory=list)


# ------------------------------------------------------------- values


def coerce(fdef: FieldDef, value: Any) -> tuple[Any, Problem | None]:
    """A caller's JSON value as stored for the field, or the problem with it."""
    name, ftype = fdef.name, fdef.type

    def bad(code: str, message: str) -> tuple[Any, Problem]:
        return None, Problem(name, code, f"{name}: {message}")

    if ftype == "Checkbox":
        if value is None:
            return False, None
        return (
            (value, None)
            if isinstance(value, bool)
            else bad("INVALID_TYPE", "expected true or false")
        )
    if value is None or value == "":
        return None, None
    if ftype in NUMERIC:
        return _number(fdef, value, bad)
    if not isinstance(value, str):
        return bad(
            "INVALID_TYPE", f"expected {_EXPECTED.get(ftype, 'text')}, got {_json_kind(value)}"
        )
    if ftype == "Date":
        if not _DATE.match(value) or not _is_date(value):
            return bad("INVALID_TYPE", f"'{value}' is not a date (expected YYYY-MM-DD)")
        return value, None
    if ftype == "DateTime":
        moment = parse_datetime_value(value)
        if moment is None:
            return bad("INVALID_TYPE", f"'{value}' is not an ISO-8601 date and time")
        return moment, None
    if ftype == "Picklist":
        if fdef.values and value not in fdef.values:
            return bad("INVALID_PICKLIST_VALUE", f"'{value}' is not one of {_listed(fdef.values)}")
    elif ftype == "MultiPicklist":
        chosen = list(dict.fromkeys(v.strip() for v in value.split(";") if v.strip()))
        wrong = [v for v in chosen if fdef.values and v not in fdef.values]
        if wrong:
            return bad(
                "INVALID_PICKLIST_VALUE",
                f"{_listed(wrong)} {'is' if len(wrong) == 1 else 'are'} not among {_listed(fdef.values)}",
            )
        value = ";".join(chosen) or None
    elif ftype == "Email" and not _EMAIL.match(value):
        return bad("INVALID_FORMAT", f"'{value}' is not an email address")
    if fdef.length is not None and value is not None and len(value) > fdef.length:
        return bad("TOO_LONG", f"{len(value)} characters; at most {fdef.length} are allowed")
    return value, None


_EXPECTED = {"Date": "a date", "DateTime": "a date and time", "Lookup": "a record id"}
_EXPECTED["MasterDetail"] = "a record id"


def _number(fdef: FieldDef, value: Any, bad: Callable[[str, str], Any]) -> tuple[Any, Any]:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return bad("INVALID_TYPE", f"expected a number, got {_json_kind(value)}")
    number = Decimal(value) if isinstance(value, int) else Decimal(repr(value))
    if not number.is_finite():
        return bad("INVALID_TYPE", "expected a finite number")
    scale, precision = fdef.scale or 0, fdef.precision or 18
    places = max(0, -int(number.normalize().as_tuple().exponent))  # 12.0 has no decimals
    if places > scale:
        return bad("NUMBER_OUT_OF_RANGE", f"{value} has more than {scale} decimal places")
    whole = len(str(abs(int(number)))) if int(number) else 0
    if whole > precision - scale:
        return bad(
            "NUMBER_OUT_OF_RANGE",
            f"{value} has more than {precision - scale} digits before the decimal point",
        )
    return (int(number) if scale == 0 or number == int(number) else float(number)), None


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "text"


def _listed(values: Iterable[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def convert_value(value: Any, new: FieldDef) -> tuple[Any, Problem | None]:
    """A stored value converted for the field's new type (a type change), or the problem."""
    if value is None:
        return None, None
    candidate = value
    if new.is_text or new.type in ("Picklist", "MultiPicklist", "Lookup", "MasterDetail"):
        if isinstance(value, bool):
            candidate = "true" if value else "false"
        elif isinstance(value, int | float):
            candidate = (
                format(Decimal(repr(value)), "f") if isinstance(value, float) else str(value)
            )
        else:
            candidate = str(value)
    elif new.type in NUMERIC and isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None, Problem(new.name, "INVALID_TYPE", f"'{value}' is not a number")
        candidate = int(number) if number == int(number) else float(number)
    elif new.type == "Checkbox" and isinstance(value, str):
        candidate = {"true": True, "false": False}.get(value.strip().lower(), value)
    elif new.type == "Date" and isinstance(value, str) and len(value) > 10:
        candidate = value[:10]  # a stored DateTime is UTC, so its date is its first ten characters
    elif new.type == "DateTime" and isinstance(value, str) and _DATE.match(value):
        candidate = f"{value}T00:00:00Z"
    return coerce(new, candidate)


def convert_field_values(
    conn: sqlite3.Connection, old: Resource, new: Resource
) -> SandboxError | None:
    """Convert a custom field's stored values to its new type, or refuse (409) when some cannot be.

    Runs inside the configuration write's transaction, after the core has
    allowed the type change: a refusal rolls the change back with it.
    """
    old_type, new_type = old.spec.get("type"), new.spec.get("type")
    if old.kind != "CustomField" or old_type == new_type:
        return None
    obj_name, _, field_name = new.name.partition(".")
    fdef, _ = custom_field_def(field_name, new.spec)
    path = f"$.{fdef.name}"
    rows = conn.execute(
        "SELECT id, json_extract(fields, ?), json_type(fields, ?) FROM records "
        "WHERE object = ? AND json_extract(fields, ?) IS NOT NULL ORDER BY seq",
        (path, path, obj_name.lower(), path),
    ).fetchall()
    converted, failures = [], []
    for record_id, value, json_type in rows:
        if json_type in ("true", "false"):
            value = json_type == "true"  # json_extract gives 1 and 0 for booleans
        new_value, problem = convert_value(value, fdef)
        if problem:
            failures.append((record_id, problem.message))
        elif new_value != value or type(new_value) is not type(value):
            converted.append((record_id, new_value))
    if failures:
        first_id, first_problem = failures[0]
        return SandboxError(
            f"{new.address}: changing the type from {old_type} to {new_type} is refused: "
            f"{len(failures)} stored value(s) cannot be converted ({first_id}: {first_problem})",
            hint="fix or blank those values first, or create a new field",
            status=409,
            code="TYPE_CHANGE_REFUSED",
            details={"from": old_type, "to": new_type, "records": [f[0] for f in failures[:20]]},
        )
    for record_id, new_value in converted:
        if new_value is None:
            conn.execute(
                "UPDATE records SET fields = json_remove(fields, ?) WHERE id = ?", (path, record_id)
            )
        else:
            conn.execute(
                "UPDATE records SET fields = json_set(fields, ?, json(?)) WHERE id = ?",
                (path, json.dumps(new_value), record_id),
            )
    return None


# --------------------------------------------------------- the write


def check_write(model: OrgModel, reader: RecordReader, write: Write) -> WriteOutcome:
    """Check one create (prior None) or update; collect every problem."""
    obj, is_new = write.obj, write.prior is None
    record = dict(write.prior or {})
    outcome = WriteOutcome(record)
    invalid: set[str] = set()
    for key, value in write.values.items():
        fdef = obj.field(key)
        if fdef is None:
            outcome.problems.append(
                Problem(key, "UNKNOWN_FIELD", f"{obj.name} has no field '{key}'")
            )
            continue
        if fdef.name in outcome.changed:
            outcome.problems.append(
                Problem(fdef.name, "DUPLICATE_FIELD", f"{fdef.name} is given more than once")
            )
            continue
        if not fdef.writable and not _may_write_audit(fdef, write.caller, is_new):
            outcome.problems.append(
                Problem(fdef.name, "READ_ONLY_FIELD", f"{fdef.name} is set by the server")
            )
            continue
        stored, problem = coerce(fdef, value)
        outcome.changed.add(fdef.name)
        if problem:
            outcome.problems.append(problem)
            invalid.add(fdef.name.lower())
        else:
            record[fdef.name] = stored
    if is_new:
        _apply_defaults(obj, record, outcome.changed)
    _stamp(obj, record, write)
    _check_required(obj, record, outcome, is_new, invalid)
    _check_references(obj, record, outcome, reader, invalid)
    _check_unique(obj, record, outcome, reader, invalid)
    context = formula_context(model, reader, obj, record, write.prior, write.caller, write.now)
    for name, spec, compiled, reads in validation_rules(model, obj):
        if reads & invalid:
            continue
        problem = _run_rule(name, spec, compiled, context)
        if problem:
            outcome.problems.append(problem)
    return outcome


def _may_write_audit(fdef: FieldDef, caller: Caller, is_new: bool) -> bool:
    if not caller.is_admin:
        return False
    return fdef.name == "OwnerId" or (is_new and fdef.name in _AUDIT_ON_CREATE)


def _apply_defaults(obj: ObjectDef, record: dict[str, Any], given: set[str]) -> None:
    for fdef in obj.fields.values():
        if fdef.name in given:
            continue
        if fdef.default is not None:
            record[fdef.name] = fdef.default
        elif fdef.type == "Checkbox" and fdef.writable:
            record[fdef.name] = False


def _stamp(obj: ObjectDef, record: dict[str, Any], write: Write) -> None:
    now = datetime_text(write.now)
    user = write.caller.username
    if write.prior is None:
        record.setdefault("OwnerId", user)
        record.setdefault("CreatedDate", now)
        record["CreatedById"] = user
    record["LastModifiedDate"] = now
    record["LastModifiedById"] = user
    apply_computed(obj, record)


def apply_computed(obj: ObjectDef, record: dict[str, Any]) -> None:
    """Fill the fields the server computes from others: a contact's or lead's Name."""
    if obj.name in ("Contact", "Lead"):
        parts = [record.get("FirstName"), record.get("LastName")]
        record["Name"] = " ".join(p for p in parts if p) or None


def _check_required(
    obj: ObjectDef, record: dict[str, Any], outcome: WriteOutcome, is_new: bool, invalid: set[str]
) -> None:
    for fdef in obj.fields.values():
        if not fdef.required or fdef.name.lower() in invalid:
            continue
        # On update only a value the caller blanks counts: older records may
        # predate the rule, and must stay editable.
        if record.get(fdef.name) in (None, "") and (is_new or fdef.name in outcome.changed):
            outcome.problems.append(
                Problem(fdef.name, "REQUIRED_FIELD_MISSING", f"{fdef.name} is required")
            )


def _changed_fields(obj: ObjectDef, outcome: WriteOutcome) -> list[FieldDef]:
    """The fields the caller wrote, in the object's field order (answers list problems stably)."""
    return [f for f in obj.fields.values() if f.name in outcome.changed]


def _check_references(
    obj: ObjectDef,
    record: dict[str, Any],
    outcome: WriteOutcome,
    reader: RecordReader,
    invalid: set[str],
) -> None:
    wanted: dict[str, list[FieldDef]] = {}
    for fdef in _changed_fields(obj, outcome):
        name = fdef.name
        if fdef.reference_to and record.get(name) and name.lower() not in invalid:
            wanted.setdefault(fdef.reference_to, []).append(fdef)
    for target, fdefs in wanted.items():
        found = reader.existing_ids(target, [record[f.name] for f in fdefs])
        for fdef in fdefs:
            if record[fdef.name] not in found:
                invalid.add(fdef.name.lower())
                outcome.problems.append(
                    Problem(
                        fdef.name,
                        "INVALID_REFERENCE",
                        f"{fdef.name}: no {target} record has id '{record[fdef.name]}'",
                    )
                )


def _check_unique(
    obj: ObjectDef,
    record: dict[str, Any],
    outcome: WriteOutcome,
    reader: RecordReader,
    invalid: set[str],
) -> None:
    for fdef in _changed_fields(obj, outcome):
        name, value = fdef.name, record.get(fdef.name)
        if not fdef.unique or value in (None, "") or name.lower() in invalid:
            continue
        clash = reader.equal_values(obj, fdef, value, record.get("Id"))
        if clash:
            outcome.problems.append(
                Problem(
                    fdef.name,
                    "DUPLICATE_VALUE",
                    f"{fdef.name} must be unique; {obj.name} {clash[0]} already has '{value}'",
                )
            )


# ------------------------------------------------------------ formulas


def compiled_formula(
    model: OrgModel, text: str
) -> tuple[Callable[[EvalContext], Any] | None, str | None, set[str]]:
    """(compiled formula, or None and why not, the references it reads in lower case); cached."""
    cache = model.cache.setdefault("formulas", {})
    if text not in cache:
        try:
            node = parse(text)
            reads = {ref.name.lower() for ref in field_references(node)}
            cache[text] = (compile_formula(node), None, reads)
        except FormulaError as exc:
            cache[text] = (None, str(exc), set())
    return cache[text]


def validation_rules(
    model: OrgModel, obj: ObjectDef
) -> list[tuple[str, dict[str, Any], Any, set[str]]]:
    """The object's active validation rules, compiled: (name, spec, compiled or error, reads)."""
    key = ("rules", obj.key)
    if key not in model.cache:
        rules = []
        for name, spec in model.validation_rules.get(obj.key, []):
            if spec.get("active", True):
                compiled, error, reads = compiled_formula(model, spec["condition"])
                rules.append((name, spec, compiled or error, _fields_read(obj, reads)))
        model.cache[key] = rules
    return model.cache[key]


def _fields_read(obj: ObjectDef, references: set[str]) -> set[str]:
    """The object's fields a formula reads; `Account__r.Name` reads the lookup `Account__c`."""
    out = set()
    for ref in references:
        first, dot, _ = ref.partition(".")
        lookup = obj.relationships.get(first) if dot else None
        out.add(lookup.name.lower() if lookup else first)
    return out


def _run_rule(
    name: str, spec: dict[str, Any], compiled: Any, context: EvalContext
) -> Problem | None:
    error_field = spec.get("errorField")
    if isinstance(compiled, str):
        return Problem(
            error_field, "FORMULA_ERROR", f"validation rule {name} cannot run: {compiled}", name
        )
    try:
        failed = to_bool(compiled(context))
    except (FormulaError, EvalProblem) as exc:
        return Problem(
            error_field,
            "FORMULA_ERROR",
            f"validation rule {name} could not be evaluated: {exc}",
            name,
        )
    if failed:
        return Problem(error_field, "VALIDATION_RULE", spec["errorMessage"], name)
    return None


def user_globals(model: OrgModel, caller: Caller) -> dict[str, Any]:
    """The `$User`, `$UserRole` and `$Profile` globals formulas see for the caller."""
    user = _user_record(model, caller.username)
    out = {f"$User.{k}": v for k, v in user.items()}
    out["$UserRole.Name"] = user.get("UserRoleId")
    out["$Profile.Name"] = "System Administrator" if caller.is_admin else "Standard User"
    return out


def _user_record(model: OrgModel, username: str) -> dict[str, Any]:
    """A configured user as a record formulas can read ($User, Owner.Name …)."""
    spec = model.users.get(username.lower(), {})
    first, last = spec.get("firstName"), spec.get("lastName")
    return {
        "Id": spec.get("name", username),
        "Username": spec.get("name", username),
        "Email": spec.get("email"),
        "FirstName": first,
        "LastName": last,
        "Name": " ".join(p for p in (first, last) if p) or username,
        "IsActive": spec.get("active", True),
        "UserRoleId": spec.get("role"),
    }


def formula_context(
    model: OrgModel,
    reader: RecordReader,
    obj: ObjectDef,
    record: Mapping[str, Any],
    prior: Mapping[str, Any] | None,
    caller: Caller,
    now: datetime,
) -> EvalContext:
    """How formulas see one record: typed values, prior values, globals, related records."""
    types, percents = _formula_types(model, obj)
    fetched: dict[str, tuple[str, dict[str, Any]] | None] = {}

    def related(parts: tuple[str, ...]) -> Any:
        current: ObjectDef | None = obj
        values: Mapping[str, Any] = record
        for rel in parts[:-1]:
            lookup = current.relationships.get(rel.lower()) if current else None
            target_id = values.get(lookup.name) if lookup else None
            if not target_id:
                return None
            if lookup.reference_to == "User":  # type: ignore[union-attr]
                current, values = None, _user_record(model, target_id)
                continue
            if target_id not in fetched:
                fetched[target_id] = reader.fetch(target_id)
            found = fetched[target_id]
            if found is None:
                return None
            current, values = model.object(found[0]), found[1]
        name = parts[-1].lower()
        value = next((v for k, v in values.items() if k.lower() == name), None)
        return _formula_value(current.field(name) if current else None, value)

    return EvalContext(
        record=_with_percent_fractions(record, percents),
        prior=_with_percent_fractions(prior, percents) if prior is not None else None,
        is_new=prior is None,
        globals=user_globals(model, caller),
        now=now,
        related=related,
        field_types=types,
    )


def _formula_types(model: OrgModel, obj: ObjectDef) -> tuple[dict[str, str], list[str]]:
    key = ("formula-types", obj.key)
    if key not in model.cache:
        types = {f.name: f.type for f in obj.fields.values() if f.type != "Percent"}
        percents = [f.name for f in obj.fields.values() if f.type == "Percent"]
        model.cache[key] = (types, percents)
    return model.cache[key]


def _with_percent_fractions(record: Mapping[str, Any], percents: list[str]) -> Mapping[str, Any]:
    if not any(isinstance(record.get(p), int | float) for p in percents):
        return record
    out = dict(record)
    for name in percents:
        if isinstance(out.get(name), int | float):
            out[name] = Decimal(repr(out[name])) / 100
    return out


def _formula_value(fdef: FieldDef | None, value: Any) -> Any:
    if fdef is None or value is None or value == "":
        return value
    try:
        if fdef.type == "Date":
            return date.fromisoformat(value)
        if fdef.type == "DateTime":
            return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return value
    if fdef.type == "Percent" and isinstance(value, int | float):
        return Decimal(repr(value)) / 100
    return value
