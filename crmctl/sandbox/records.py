"""Records of the sandbox CRM: what the live configuration says they hold, and their storage.

`OrgModel` is the configuration as record writes need it (objects, their
fields with types and constraints, rules, users, permission sets); it is
built once per configuration version and carries a `cache` where the other
modules keep what they derive from it (compiled formulas, access rights).

Every object's records live in one table (created by migration 3 in `db`),
each record as a JSON document of field values keyed by the fields' declared
API names. Queries filter with `json_extract` in SQL; a custom field added
later needs no schema change.
Stored values are JSON: text, numbers, booleans; Date as `YYYY-MM-DD`,
DateTime as UTC `YYYY-MM-DDTHH:MM:SS.mmmZ` (so text order is time order).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from crmctl.kinds import HANDLERS
from crmctl.kinds.custom_field import picklist_values
from crmctl.kinds.standard import STANDARD_OBJECTS, STANDARD_RELATIONSHIPS, SYSTEM_FIELDS

__all__ = [
    "RECORD_OBJECTS",
    "FieldDef",
    "ObjectDef",
    "OrgModel",
    "Filter",
    "QueryError",
    "parse_filters",
    "SqlRecords",
    "custom_field_def",
    "datetime_text",
    "parse_datetime_value",
    "new_record_id",
    "next_auto_number",
    "insert_record",
    "replace_record",
    "get_record",
    "delete_records",
    "query_records",
    "parse_where",
    "encode_cursor",
    "decode_cursor",
    "has_records",
    "referencing_records",
    "DeletePlan",
    "plan_delete",
    "clear_lookups",
]

#: The standard objects that hold records, with Salesforce's id prefixes.
RECORD_OBJECTS: dict[str, str] = {
    "Account": "001",
    "Contact": "003",
    "Opportunity": "006",
    "Lead": "00Q",
    "Case": "500",
    "Campaign": "701",
}
_STANDARD_REQUIRED = {
    "Account": ("Name",),
    "Contact": ("LastName",),
    "Lead": ("LastName", "Company"),
    "Opportunity": ("Name", "StageName", "CloseDate"),
    "Campaign": ("Name",),
}
_STANDARD_LENGTHS = {"FirstName": 40, "LastName": 80, "Email": 80, "Phone": 40, "Title": 128}
#: Set by the server on every write; never accepted from a caller (OwnerId and
#: CreatedDate are, from admins, to import or back-date records).
SERVER_FIELDS = (
    "Id", "OwnerId", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById",
    "SystemModstamp", "IsDeleted", "LastActivityDate", "LastViewedDate", "LastReferencedDate",
)  # fmt: skip
_DEFAULT_LENGTH = {"Text": 255, "TextArea": 255, "LongTextArea": 32768, "Email": 80}
_DEFAULT_LENGTH |= {"Phone": 40, "Url": 255, "Picklist": 255, "MultiPicklist": 4099, "Html": 32768}
_DEFAULT_NUMBER = {"Number": (18, 0), "Currency": (18, 2), "Percent": (18, 2)}
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?$"
)

# ------------------------------------------------------------------ model


@dataclass(frozen=True)
class FieldDef:
    """One field of an object as record writes see it."""

    name: str  # declared API name
    type: str  # crmctl type name; "Id" for the record id
    custom: bool
    required: bool = False
    unique: bool = False
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    values: tuple[str, ...] = ()  # active picklist values, in order
    default: Any = None
    reference_to: str | None = None  # Lookup target; None when not checked
    writable: bool = True  # False: the server sets it

    @property
    def is_text(self) -> bool:
        return self.type in ("Text", "TextArea", "LongTextArea", "Email", "Phone", "Url")


@dataclass
class ObjectDef:
    """An object that holds records: its fields and record-name and sharing settings."""

    name: str
    custom: bool
    fields: dict[str, FieldDef] = field(default_factory=dict)  # lower name -> field
    relationships: dict[str, FieldDef] = field(default_factory=dict)  # "account__r" -> lookup
    sharing: str = "ReadWrite"  # Private | Read | ReadWrite
    auto_number: str | None = None  # the record name's displayFormat, e.g. INV-{000000}
    auto_field: str = "Name"  # the field the auto number fills

    @property
    def key(self) -> str:
        return self.name.lower()

    def field(self, name: str) -> FieldDef | None:
        return self.fields.get(name.lower())

    def add(self, fdef: FieldDef, relationship: str | None = None) -> None:
        self.fields[fdef.name.lower()] = fdef
        if relationship:
            self.relationships[relationship.lower()] = fdef


@dataclass
class OrgModel:
    """The live configuration as the record layer uses it; rebuilt per configuration version."""

    objects: dict[str, ObjectDef]
    validation_rules: dict[str, list[tuple[str, dict[str, Any]]]]  # object key -> (name, spec)
    duplicate_rules: dict[str, list[tuple[str, dict[str, Any]]]]
    retention_policies: dict[str, dict[str, Any]]  # name -> spec
    users: dict[str, dict[str, Any]]  # lower username -> spec (+ "name")
    permission_sets: dict[str, dict[str, Any]]  # lower name -> spec
    cache: dict[Any, Any] = field(default_factory=dict)  # derived data, per module

    def object(self, name: str) -> ObjectDef | None:
        return self.objects.get(name.lower())

    @classmethod
    def from_config(cls, items: Iterable[Mapping[str, Any]]) -> OrgModel:
        """Build from config items `{"kind", "name", "spec", ...}` (specs canonicalised here)."""
        by_kind: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for item in items:
            kind = item["kind"]
            if kind in HANDLERS:
                spec = HANDLERS[kind].canonical(dict(item.get("spec") or {}))
                by_kind.setdefault(kind, []).append((item["name"], spec))
        objects = {name.lower(): _standard_object(name) for name in RECORD_OBJECTS}
        for name, spec in by_kind.get("CustomObject", []):
            if _NAME.match(name):
                objects[name.lower()] = _custom_object(name, spec)
        for name, spec in by_kind.get("CustomField", []):
            obj_name, _, field_name = name.partition(".")
            obj = objects.get(obj_name.lower())
            if obj is not None and _NAME.match(field_name):
                fdef, relationship = custom_field_def(field_name, spec)
                target = objects.get((fdef.reference_to or "").lower())
                if fdef.reference_to and fdef.reference_to.lower() != "user":
                    # Declared spelling; None for objects without records here (any id goes).
                    fdef = _with(fdef, reference_to=target.name if target else None)
                elif fdef.reference_to:
                    fdef = _with(fdef, reference_to="User")
                obj.add(fdef, relationship)

        def per_object(kind: str) -> dict[str, list[tuple[str, dict[str, Any]]]]:
            out: dict[str, list[tuple[str, dict[str, Any]]]] = {}
            for name, spec in sorted(by_kind.get(kind, [])):
                out.setdefault(name.partition(".")[0].lower(), []).append((name, spec))
            return out

        return cls(
            objects=objects,
            validation_rules=per_object("ValidationRule"),
            duplicate_rules=per_object("DuplicateRule"),
            retention_policies=dict(sorted(by_kind.get("RetentionPolicy", []))),
            users={n.lower(): {**s, "name": n} for n, s in by_kind.get("User", [])},
            permission_sets={n.lower(): s for n, s in by_kind.get("PermissionSet", [])},
        )


def _standard_object(name: str) -> ObjectDef:
    obj = ObjectDef(name=name, custom=False)
    required = _STANDARD_REQUIRED.get(name, ())
    for fname, ftype in {**SYSTEM_FIELDS, **STANDARD_OBJECTS[name]}.items():
        target, relationship = None, None
        if ftype == "Lookup" and fname.endswith("Id"):
            relationship = fname[:-2]
            target = STANDARD_RELATIONSHIPS.get((name, relationship)) or STANDARD_RELATIONSHIPS.get(
                ("*", relationship)
            )
            if target is None and relationship in RECORD_OBJECTS:
                target = relationship
            if target not in RECORD_OBJECTS and target != "User":
                target = None  # an object the sandbox does not hold: any id goes
        # Contact and Lead names are FirstName + LastName; case numbers are counted.
        computed = (fname == "Name" and name in ("Contact", "Lead")) or fname == "CaseNumber"
        obj.add(_typed(fname, ftype, False, fname in required, not computed, target), relationship)
    for fname, length in _STANDARD_LENGTHS.items():
        if fname.lower() in obj.fields:
            obj.fields[fname.lower()] = _with(obj.fields[fname.lower()], length=length)
    if name == "Case":
        obj.auto_number, obj.auto_field = "{00000000}", "CaseNumber"
    return obj


def _custom_object(name: str, spec: dict[str, Any]) -> ObjectDef:
    record_name = spec.get("recordName") or {}
    auto = record_name.get("displayFormat") if record_name.get("type") == "AutoNumber" else None
    obj = ObjectDef(name=name, custom=True, sharing=spec.get("sharingModel", "ReadWrite"))
    obj.auto_number = auto
    for fname, ftype in SYSTEM_FIELDS.items():
        target = "User" if fname in ("OwnerId", "CreatedById", "LastModifiedById") else None
        relationship = fname[:-2] if fname.endswith("Id") and fname != "Id" else None
        fdef = _typed(fname, ftype, False, False, True, target)
        if fname == "Name":  # an auto number is the server's; a text name is the caller's
            fdef = _with(fdef, length=80, required=not auto, writable=not auto)
        obj.add(fdef, relationship)
    return obj


def _typed(
    name: str, ftype: str, custom: bool, required: bool, writable: bool, target: str | None
) -> FieldDef:
    precision, scale = _DEFAULT_NUMBER.get(ftype, (None, None))
    return FieldDef(
        name=name,
        type=ftype,
        custom=custom,
        required=required,
        length=_DEFAULT_LENGTH.get(ftype),
        precision=precision,
        scale=scale,
        reference_to=target,
        writable=writable and name not in SERVER_FIELDS,
    )


def _with(fdef: FieldDef, **changes: Any) -> FieldDef:
    return FieldDef(**{**fdef.__dict__, **changes})


def custom_field_def(name: str, spec: dict[str, Any]) -> tuple[FieldDef, str | None]:
    """A custom field's definition from its canonical spec, and its relationship name."""
    ftype = spec.get("type", "Text")
    computed = ftype in ("Formula", "Summary", "AutoNumber")  # the CRM's value, not the caller's
    base = _typed(name, ftype, True, bool(spec.get("required")), not computed, None)
    values = picklist_values(spec)
    default = spec.get("defaultValue")
    if default is None and ftype == "Picklist":
        default = next((v["value"] for v in values if v["default"] and v["active"]), None)
    relationship = None
    target = spec.get("referenceTo") if ftype in ("Lookup", "MasterDetail") else None
    if target:
        relationship = f"{spec.get('relationshipName') or name.removesuffix('__c')}__r"
    fdef = _with(
        base,
        # A master-detail child cannot exist without its master.
        required=base.required or ftype == "MasterDetail",
        unique=bool(spec.get("unique")),
        length=spec.get("length", base.length),
        precision=spec.get("precision", base.precision),
        scale=spec.get("scale", base.scale),
        values=tuple(str(v["value"]) for v in values if v["active"]),
        default=default,
        reference_to=target,
    )
    return fdef, relationship


# ---------------------------------------------------------------- storage


def datetime_text(moment: datetime) -> str:
    """A DateTime as stored: UTC with milliseconds, so text order is time order."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def parse_datetime_value(text: str) -> str | None:
    """An ISO-8601 date-time (offset or Z; none means UTC) in stored form, or None."""
    if not _DATETIME.match(text):
        return None
    try:
        moment = datetime.fromisoformat(text)
        return datetime_text(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    except (ValueError, OverflowError):  # OverflowError: 0001-01-01T00:00+01:00 in UTC
        return None


def _json_path(fdef: FieldDef) -> str:
    return f"$.{fdef.name}"  # names are checked against _NAME when the model is built


def _prefix(conn: sqlite3.Connection, obj: ObjectDef) -> str:
    if obj.name in RECORD_OBJECTS:
        return RECORD_OBJECTS[obj.name]
    row = conn.execute("SELECT prefix FROM object_prefixes WHERE object = ?", (obj.key,)).fetchone()
    if row:
        return row[0]
    # Custom objects get a00, a01 … in the order they first hold a record; kept forever.
    (count,) = conn.execute("SELECT COUNT(*) FROM object_prefixes").fetchone()
    prefix = "a" + _base36(count).rjust(2, "0")
    conn.execute("INSERT INTO object_prefixes (object, prefix) VALUES (?, ?)", (obj.key, prefix))
    return prefix


def _base36(number: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def _next(conn: sqlite3.Connection, obj: ObjectDef, kind: str, count: int) -> int:
    """Reserve `count` numbers of a per-object sequence; returns the first."""
    row = conn.execute(
        "SELECT next FROM record_sequences WHERE object = ? AND kind = ?", (obj.key, kind)
    ).fetchone()
    first = row[0] if row else 1
    conn.execute(
        "INSERT INTO record_sequences (object, kind, next) VALUES (?, ?, ?) "
        "ON CONFLICT (object, kind) DO UPDATE SET next = excluded.next",
        (obj.key, kind, first + count),
    )
    return first


def new_record_id(conn: sqlite3.Connection, obj: ObjectDef, count: int = 1) -> list[str]:
    """Fresh record ids: the object's 3-character prefix and a 12-digit number, never reused."""
    prefix = _prefix(conn, obj)
    first = _next(conn, obj, "id", count)
    return [f"{prefix}{n:012d}" for n in range(first, first + count)]


def next_auto_number(conn: sqlite3.Connection, obj: ObjectDef, fmt: str) -> str:
    """The next record name of an AutoNumber object or field, e.g. INV-{000000} -> INV-000042."""
    number = _next(conn, obj, "autonumber", 1)
    return re.sub(r"\{(0+)\}", lambda m: str(number).rjust(len(m.group(1)), "0"), fmt, count=1)


def insert_record(conn: sqlite3.Connection, obj: ObjectDef, fields: Mapping[str, Any]) -> None:
    """Store a new record; `fields` holds Id and OwnerId among the values."""
    conn.execute(
        "INSERT INTO records (id, object, owner_id, fields) VALUES (?, ?, ?, ?)",
        (fields["Id"], obj.key, fields["OwnerId"], json.dumps(fields)),
    )


def replace_record(conn: sqlite3.Connection, fields: Mapping[str, Any]) -> None:
    """Store a record's new values (the whole document)."""
    conn.execute(
        "UPDATE records SET owner_id = ?, fields = ? WHERE id = ?",
        (fields["OwnerId"], json.dumps(fields), fields["Id"]),
    )


def get_record(
    conn: sqlite3.Connection, record_id: str, obj: ObjectDef | None = None
) -> tuple[str, dict[str, Any]] | None:
    """(object key, values) of a record, optionally only if it belongs to `obj`."""
    row = conn.execute("SELECT object, fields FROM records WHERE id = ?", (record_id,)).fetchone()
    if row is None or (obj is not None and row[0] != obj.key):
        return None
    return row[0], json.loads(row[1])


def delete_records(conn: sqlite3.Connection, ids: Iterable[str]) -> int:
    """Delete records by id; returns how many there were."""
    ids = list(ids)
    deleted = 0
    for start in range(0, len(ids), 500):  # SQLite limits bound parameters per statement
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        deleted += conn.execute(f"DELETE FROM records WHERE id IN ({marks})", chunk).rowcount
    return deleted


def has_records(conn: sqlite3.Connection, obj_name: str, field_name: str | None = None) -> bool:
    """Whether records of the object hold a value in the field (any record when field is None).

    The core's `rules.HasRecords`: type changes and deletes of config consult it.
    """
    if field_name is None:
        sql, params = "SELECT 1 FROM records WHERE object = ? LIMIT 1", (obj_name.lower(),)
    elif not _NAME.match(field_name):
        return False
    else:
        sql = (
            "SELECT 1 FROM records WHERE object = ? AND json_extract(fields, ?) IS NOT NULL LIMIT 1"
        )
        params = (obj_name.lower(), f"$.{field_name}")  # type: ignore[assignment]
    return conn.execute(sql, params).fetchone() is not None


def referencing_records(
    conn: sqlite3.Connection, model: OrgModel, obj: ObjectDef, ids: list[str]
) -> list[tuple[ObjectDef, FieldDef, str, str]]:
    """Every (object, lookup field, record id, id it points at) whose lookup points into `ids`."""
    out: list[tuple[ObjectDef, FieldDef, str, str]] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for other in model.objects.values():
            for fdef in other.fields.values():
                if not fdef.reference_to or fdef.reference_to.lower() != obj.key:
                    continue
                rows = conn.execute(
                    f"SELECT id, value FROM (SELECT id, json_extract(fields, ?) AS value "
                    f"FROM records WHERE object = ?) WHERE value IN ({marks})",
                    (_json_path(fdef), other.key, *chunk),
                )
                out.extend((other, fdef, rid, target) for rid, target in rows)
    return out


@dataclass
class DeletePlan:
    """What deleting some records involves, as CRMs do it.

    Master-detail children go with their master; optional lookups to a deleted
    record are cleared; a required lookup keeps its target from being deleted.
    """

    delete: list[tuple[ObjectDef, str]] = field(default_factory=list)  # children after parents
    clear: list[tuple[ObjectDef, FieldDef, str]] = field(default_factory=list)
    blocked: dict[str, list[str]] = field(default_factory=dict)  # root id -> referencing ids


def plan_delete(
    conn: sqlite3.Connection, model: OrgModel, obj: ObjectDef, ids: list[str]
) -> DeletePlan:
    """Work out the cascade of deleting `ids`; roots that are blocked are left out entirely."""
    root_of = {i: i for i in ids}
    deleting: list[tuple[ObjectDef, str]] = []
    clearing: list[tuple[ObjectDef, FieldDef, str, str]] = []
    blocked: dict[str, list[str]] = {}
    level: dict[str, tuple[ObjectDef, list[str]]] = {obj.key: (obj, list(ids))}
    while level:
        following: dict[str, tuple[ObjectDef, list[str]]] = {}
        for current, current_ids in level.values():
            deleting.extend((current, i) for i in current_ids)
            for other, fdef, rid, target in referencing_records(conn, model, current, current_ids):
                root = root_of[target]
                if rid in root_of and fdef.type != "MasterDetail":
                    continue  # deleted in the same go: neither blocks nor needs clearing
                if fdef.type == "MasterDetail":
                    if rid not in root_of:
                        root_of[rid] = root
                        following.setdefault(other.key, (other, []))[1].append(rid)
                elif fdef.required:
                    blocked.setdefault(root, []).append(rid)
                else:
                    clearing.append((other, fdef, rid, root))
        level = following
    # A record that blocks its own root's deletion (a child pointing back) does not count.
    for root, refs in list(blocked.items()):
        refs = [r for r in refs if root_of.get(r) != root]
        if refs:
            blocked[root] = sorted(set(refs))
        else:
            del blocked[root]
    gone = {rid for _, rid in deleting if root_of[rid] not in blocked}
    return DeletePlan(
        delete=[(o, rid) for o, rid in deleting if rid in gone],
        clear=[
            (o, f, rid) for o, f, rid, root in clearing if root not in blocked and rid not in gone
        ],
        blocked=blocked,
    )


def clear_lookups(conn: sqlite3.Connection, clear: list[tuple[ObjectDef, FieldDef, str]]) -> None:
    """Blank lookups whose target is being deleted."""
    for _, fdef, rid in clear:
        conn.execute(
            "UPDATE records SET fields = json_remove(fields, ?) WHERE id = ?",
            (_json_path(fdef), rid),
        )


class SqlRecords:
    """What record checks need to read, answered from the records table."""

    def __init__(self, conn: sqlite3.Connection, model: OrgModel) -> None:
        self.conn = conn
        self.model = model

    def existing_ids(self, target: str, ids: Iterable[str]) -> set[str]:
        """Which of `ids` are records of `target` (users: configured usernames)."""
        ids = list(ids)
        if target == "User":
            return {i for i in ids if i.lower() in self.model.users}
        marks = ",".join("?" * len(ids))
        rows = self.conn.execute(
            f"SELECT id FROM records WHERE object = ? AND id IN ({marks})", (target.lower(), *ids)
        )
        return {row[0] for row in rows}

    def equal_values(
        self, obj: ObjectDef, fdef: FieldDef, value: Any, exclude_id: str | None
    ) -> list[str]:
        """Ids of records whose field holds `value` (text compared case-insensitively)."""
        path = _json_path(fdef)
        if isinstance(value, str):
            # The same expression as the index below, so SQLite can use it.
            expr, param = f"lower(json_extract(fields, '{path}'))", value.lower()
            self._ensure_index(obj, fdef, expr)
        else:
            expr, param = f"json_extract(fields, '{path}')", value
        rows = self.conn.execute(
            f"SELECT id FROM records WHERE object = ? AND {expr} = ? AND id != ? ORDER BY seq LIMIT 20",
            (obj.key, param, exclude_id or ""),
        )
        return [row[0] for row in rows]

    def fetch(self, record_id: str) -> tuple[str, dict[str, Any]] | None:
        return get_record(self.conn, record_id)

    def _ensure_index(self, obj: ObjectDef, fdef: FieldDef, expr: str) -> None:
        name = f"records_value_{obj.key}_{fdef.name.lower()}"
        done = self.model.cache.setdefault("indexes", set())
        if name not in done:
            self.conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON records (object, {expr})")
            done.add(name)


# ------------------------------------------------------------------ query


class QueryError(ValueError):
    """A `where`, `fields`, `limit` or `cursor` query parameter that cannot be used.

    `field`: the field named when the problem is the object's (no such field, or a value
    its type cannot hold), as opposed to the parameter's shape.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Filter:
    """One `where=Field:op:value` condition, already typed for its field."""

    field: FieldDef
    op: str
    value: Any  # typed; a list for `in`; None for a blank test


_OPS = {"eq": "=", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_OPS_ALL = (*_OPS, "like", "in")
MAX_IN_VALUES = 500  # well inside SQLite's limit on bound parameters
#: At most this many `where` filters in one query (SQLite nests each AND one level deeper).
MAX_FILTERS = 100
#: At most this many values across all the filters of one query (bound parameters).
MAX_FILTER_VALUES = 2000
#: A `where` filter is at most this many characters (SQLite refuses longer LIKE patterns).
MAX_WHERE_LENGTH = 10_000


def parse_filters(obj: ObjectDef, texts: list[str]) -> list[Filter]:
    """Every `where` of a query, within the limits above (QueryError beyond them)."""
    if len(texts) > MAX_FILTERS:
        raise QueryError(f"{len(texts)} where filters; a query takes at most {MAX_FILTERS}")
    filters = [parse_where(obj, text) for text in texts]
    values = sum(len(f.value) if isinstance(f.value, list) else 1 for f in filters)
    if values > MAX_FILTER_VALUES:
        raise QueryError(
            f"the where filters hold {values} values; a query takes at most {MAX_FILTER_VALUES}"
        )
    return filters


def parse_where(obj: ObjectDef, text: str) -> Filter:
    """Parse `Field:op:value`; the value may itself contain colons (times)."""
    if len(text) > MAX_WHERE_LENGTH:
        raise QueryError(
            f"where '{text[:40]}…' is {len(text)} characters long; at most {MAX_WHERE_LENGTH}"
        )
    name, sep, rest = text.partition(":")
    op, sep2, raw = rest.partition(":")
    if not sep or not sep2:
        raise QueryError(f"where '{text}' is not Field:op:value")
    fdef = obj.field(name)
    if fdef is None:
        raise QueryError(f"{obj.name} has no field '{name}'", field=name)
    if op not in _OPS_ALL:
        raise QueryError(f"where '{text}': unknown operator '{op}' (use {', '.join(_OPS_ALL)})")
    if op == "in":
        values = raw.split(",")
        if len(values) > MAX_IN_VALUES:
            raise QueryError(
                f"where '{name}:in:…' lists {len(values)} values; at most {MAX_IN_VALUES}"
            )
        return Filter(fdef, op, [_typed_value(fdef, v) for v in values])
    if raw == "" and op in ("eq", "ne"):
        return Filter(fdef, op, None)
    return Filter(fdef, op, raw if op == "like" else _typed_value(fdef, raw))


def _typed_value(fdef: FieldDef, raw: str) -> Any:
    if fdef.type in ("Number", "Currency", "Percent"):
        try:
            return float(raw)
        except ValueError:
            raise QueryError(
                f"{fdef.name} is a {fdef.type} field; '{raw}' is not a number", field=fdef.name
            ) from None
    if fdef.type == "Checkbox":
        if raw.lower() not in ("true", "false"):
            raise QueryError(f"{fdef.name} is a Checkbox field; use true or false", field=fdef.name)
        return 1 if raw.lower() == "true" else 0
    if fdef.type == "Date" and not _is_date(raw):
        raise QueryError(
            f"{fdef.name} is a Date field; '{raw}' is not a date (YYYY-MM-DD)", field=fdef.name
        )
    if fdef.type == "DateTime" and len(raw) > 10:
        moment = parse_datetime_value(raw)
        if moment is None:
            raise QueryError(
                f"{fdef.name} is a DateTime field; '{raw}' is not an ISO-8601 time",
                field=fdef.name,
            )
        return moment
    return raw


def _is_date(text: str) -> bool:
    try:
        return len(text) == 10 and bool(date.fromisoformat(text))
    except ValueError:
        return False


def _condition(flt: Filter) -> tuple[str, list[Any]]:
    column = f"json_extract(fields, '{_json_path(flt.field)}')"
    if flt.field.type == "Checkbox":
        column = f"coalesce({column}, 0)"  # an unset checkbox is false
    text = isinstance(flt.value, str) or (
        isinstance(flt.value, list) and all(isinstance(v, str) for v in flt.value)
    )
    lower = flt.field.type not in ("Date", "DateTime") and text
    if flt.value is None:
        return f"{column} IS {'NOT ' if flt.op == 'ne' else ''}NULL", []
    if flt.op == "like":
        return f"{column} LIKE ? ESCAPE '\\'", [flt.value]
    if flt.op == "in":
        values = [v.lower() for v in flt.value] if lower else flt.value
        marks = ",".join("?" * len(values))
        return f"{'lower(' + column + ')' if lower else column} IN ({marks})", values
    expr = f"lower({column})" if lower else column
    value = flt.value.lower() if lower else flt.value
    if flt.op == "ne":  # as in SOQL, != also matches records where the field is blank
        return f"({column} IS NULL OR {expr} != ?)", [value]
    return f"{expr} {_OPS[flt.op]} ?", [value]


def encode_cursor(seq: int) -> str:
    """The cursor of the page after record `seq`: the number itself."""
    return str(seq)


def decode_cursor(cursor: str) -> int:
    if cursor.isascii() and cursor.isdigit() and len(cursor) <= 18:  # SQLite's range
        return int(cursor)
    raise QueryError("cursor is not one this server returned")


def query_records(
    conn: sqlite3.Connection,
    obj: ObjectDef,
    filters: list[Filter],
    *,
    limit: int,
    after: int = 0,
    owner: str | None = None,
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of an object's records matching every filter, oldest first.

    Returns the records and the sequence number to continue after (None on
    the last page). `owner` limits the page to records that user owns.
    """
    where, params = ["object = ?", "seq > ?"], [obj.key, after]
    if owner is not None:
        where.append("owner_id = ?")
        params.append(owner)
    for flt in filters:
        sql, values = _condition(flt)
        where.append(sql)
        params.extend(values)
    rows = conn.execute(
        f"SELECT seq, fields FROM records WHERE {' AND '.join(where)} ORDER BY seq LIMIT ?",
        (*params, limit + 1),
    ).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    return [json.loads(r[1]) for r in rows], (rows[-1][0] if more else None)
