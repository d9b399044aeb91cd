"""Read a records snapshot (CSV or JSON, one file per object) into a sandbox database.

`Contact.csv` holds Contact records: a header row of field API names (as
`sf data export bulk` writes it), one record per row, an empty cell is
blank. `Invoice__c.json` holds a list of records, or `{"records": [...]}`,
or the `sf data query --json` answer `{"result": {"records": [...]}}`.
Relationship columns (`Account.Name`) and `attributes` are ignored.

Values are typed by the configuration given (number, checkbox, date,
date-time); nothing else is checked: a snapshot holds records as the CRM
holds them, including those today's rules would refuse, which is what an
impact measurement needs. Every problem is collected with its file and line,
and the snapshot is stored only when there is none, in one transaction.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from crmctl.errors import CrmctlError, Diagnostic, SourceLocation
from crmctl.sandbox.records import FieldDef, ObjectDef, OrgModel, parse_datetime_value

__all__ = ["Snapshot", "read_snapshot", "store_snapshot", "MAX_FILE_BYTES", "MAX_PROBLEMS"]

MAX_FILE_BYTES = 2 * 1024**3
#: At most this many problems are listed; the rest are counted.
MAX_PROBLEMS = 20
_ID = re.compile(r"^[A-Za-z0-9]{1,18}$")
_NUMBER_TYPES = ("Number", "Currency", "Percent")
_RECORDS_KEY = re.compile(r'"records"\s*:\s*\[')


@dataclass
class Snapshot:
    """Records read from files, grouped by object, each with where it came from."""

    records: dict[str, list[tuple[SourceLocation, dict[str, Any]]]] = field(default_factory=dict)
    objects: dict[str, ObjectDef] = field(default_factory=dict)
    problems: list[Diagnostic] = field(default_factory=list)
    files: int = 0

    def problem(self, file: str, line: int, message: str) -> None:
        self.problems.append(Diagnostic(message, SourceLocation(file, line), code="snapshot"))


def _files(source: Path) -> list[Path]:
    if source.is_dir():
        found = sorted(p for p in source.iterdir() if p.suffix.lower() in (".csv", ".json"))
        if not found:
            raise CrmctlError(f"{source}: no .csv or .json files in this folder")
        return found
    if not source.is_file():
        raise CrmctlError(f"{source}: no such file or folder")
    if source.suffix.lower() not in (".csv", ".json"):
        raise CrmctlError(f"{source}: a snapshot file is .csv or .json, one per object")
    return [source]


def _typed(fdef: FieldDef, value: Any, from_text: bool) -> tuple[Any, str | None]:
    """A value as the sandbox stores it for the field, or why it cannot be."""
    if value is None or value == "":
        return None, None
    ftype = fdef.type
    if ftype == "Checkbox":
        if isinstance(value, bool):
            return value, None
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True, None
        if text in ("false", "0"):
            return False, None
        return None, f"'{value}' is not true or false"
    if ftype in _NUMBER_TYPES:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            return None, f"'{value}' is not a number"
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            return None, f"'{value}' is not a number"
        if not number.is_finite():
            return None, f"'{value}' is not a finite number"
        return (int(number) if number == int(number) else float(number)), None
    if not isinstance(value, str):
        if isinstance(value, int | float) and not isinstance(value, bool) and from_text is False:
            return str(value), None
        return None, f"expected text, got {type(value).__name__}"
    if ftype == "Date":
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return None, f"'{value}' is not a date (YYYY-MM-DD)"
        return value, None
    if ftype == "DateTime":
        moment = parse_datetime_value(value.strip())
        if moment is None:
            return None, f"'{value}' is not an ISO-8601 date and time"
        return moment, None
    return value, None


def _columns(
    snap: Snapshot, obj: ObjectDef, file: str, line: int, names: list[str]
) -> list[FieldDef | None]:
    out: list[FieldDef | None] = []
    for name in names:
        if name == "attributes" or "." in name:
            out.append(None)  # a related record's value: not this object's
            continue
        fdef = obj.field(name)
        if fdef is None:
            snap.problem(file, line, f"{obj.name} has no field '{name}'")
        out.append(fdef)
    return out


def _record(
    snap: Snapshot,
    obj: ObjectDef,
    file: str,
    line: int,
    pairs: list[tuple[FieldDef, Any]],
    text: bool,
) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for fdef, raw in pairs:
        value, problem = _typed(fdef, raw, text)
        if problem:
            snap.problem(file, line, f"{fdef.name}: {problem}")
        elif value is not None:
            record[fdef.name] = value
    record_id = record.get("Id")
    if not isinstance(record_id, str) or not _ID.match(record_id):
        shown = "no Id" if record_id is None else f"Id '{record_id}' is not a record id"
        snap.problem(
            file, line, f"{shown}: every record needs its CRM id (1-18 letters and digits)"
        )
    return record


def _csv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    line = 1
    for row in reader:
        yield line, row
        line = reader.line_num + 1


def _read_csv(snap: Snapshot, obj: ObjectDef, file: str, text: str) -> None:
    rows = _csv_rows(text)
    header = next(rows, None)
    if header is None or not any(header[1]):
        snap.problem(file, 1, "the file is empty; the first row names the fields")
        return
    columns = _columns(snap, obj, file, 1, [h.strip() for h in header[1]])
    for line, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            snap.problem(file, line, f"{len(row)} values for {len(columns)} columns")
            continue
        pairs = [(f, cell) for f, cell in zip(columns, row, strict=True) if f is not None]
        snap.records[obj.name].append(
            (SourceLocation(file, line), _record(snap, obj, file, line, pairs, True))
        )


def _json_items(text: str) -> Iterator[tuple[int, Any]]:
    """Each element of the records array with its line; ValueError when there is none."""
    data = json.loads(text)
    if isinstance(data, list):
        start = text.index("[")
    else:
        records = data.get("records") if isinstance(data, dict) else None
        if records is None and isinstance(data, dict) and isinstance(data.get("result"), dict):
            records = data["result"].get("records")
        found = _RECORDS_KEY.search(text)
        if not isinstance(records, list) or found is None:
            raise ValueError(
                'expected a list of records, {"records": [...]} or sf data query --json output'
            )
        start = found.end() - 1
    decoder = json.JSONDecoder()
    pos = start + 1
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            return
        item, end = decoder.raw_decode(text, pos)
        yield text.count("\n", 0, pos) + 1, item
        pos = end


def _read_json(snap: Snapshot, obj: ObjectDef, file: str, text: str) -> None:
    try:
        items = list(_json_items(text))
    except json.JSONDecodeError as exc:
        snap.problem(file, exc.lineno, f"not valid JSON: {exc.msg}")
        return
    except ValueError as exc:
        snap.problem(file, 1, str(exc))
        return
    known: dict[str, FieldDef | None] = {}
    for line, item in items:
        if not isinstance(item, dict):
            snap.problem(file, line, "a record is a JSON object of field names and values")
            continue
        for name in item:
            if name not in known:
                known[name] = _columns(snap, obj, file, line, [name])[0]
        pairs: list[tuple[FieldDef, Any]] = []
        for key, value in item.items():
            fdef = known[key]
            if fdef is not None and not isinstance(value, dict):
                pairs.append((fdef, value))
        snap.records[obj.name].append(
            (SourceLocation(file, line), _record(snap, obj, file, line, pairs, False))
        )


def read_snapshot(source: Path, model: OrgModel, object_name: str | None = None) -> Snapshot:
    """Every record of the file or folder `source`, typed by `model`; problems collected."""
    files = _files(source)
    if object_name is not None and len(files) != 1:
        raise CrmctlError(
            "--object names the object of one file; a folder's files are named after theirs"
        )
    snap = Snapshot(files=len(files))
    for path in files:
        file = str(path)
        name = object_name or path.stem
        obj = model.object(name)
        if obj is None:
            snap.problem(
                file,
                1,
                f"no object named '{name}' holds records here (the file name is the object's API name)",
            )
            continue
        if obj.name in snap.records:
            snap.problem(file, 1, f"a second file for {obj.name}")
            continue
        try:
            raw = path.read_bytes()
            if len(raw) > MAX_FILE_BYTES:
                raise CrmctlError(f"{file}: larger than {MAX_FILE_BYTES} bytes")
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            snap.problem(file, raw.count(b"\n", 0, exc.start) + 1, "not UTF-8 text")
            continue
        except OSError as exc:
            raise CrmctlError(f"{file}: cannot be read: {exc.strerror or exc}") from None
        snap.objects[obj.name] = obj
        snap.records[obj.name] = []
        (_read_csv if path.suffix.lower() == ".csv" else _read_json)(snap, obj, file, text)
    _check_ids(snap)
    return snap


def _check_ids(snap: Snapshot) -> None:
    seen: dict[str, SourceLocation] = {}
    for rows in snap.records.values():
        for where, record in rows:
            record_id = record.get("Id")
            if not isinstance(record_id, str):
                continue
            if record_id in seen:
                snap.problem(
                    where.file, where.line, f"Id {record_id} is already used at {seen[record_id]}"
                )
            else:
                seen[record_id] = where


def store_snapshot(conn: sqlite3.Connection, snap: Snapshot, replace: bool) -> dict[str, int]:
    """Insert the snapshot's records (the caller holds the transaction); counts per object.

    With `replace`, the objects' stored records go first; otherwise an id already
    stored is a problem (raised as CrmctlError, nothing stored).
    """
    if snap.problems:
        raise snapshot_error(snap)
    if replace:
        for obj in snap.objects.values():
            conn.execute("DELETE FROM records WHERE object = ?", (obj.key,))
    ids = [r.get("Id") for rows in snap.records.values() for _, r in rows]
    clash = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        clash += [
            row[0] for row in conn.execute(f"SELECT id FROM records WHERE id IN ({marks})", chunk)
        ]
    if clash:
        where = {r["Id"]: w for rows in snap.records.values() for w, r in rows}
        for record_id in clash[:MAX_PROBLEMS]:
            loc = where[record_id]
            snap.problem(loc.file, loc.line, f"a record with Id {record_id} is already stored")
        raise snapshot_error(
            snap, hint="add --replace to replace the stored records of these objects"
        )
    counts = {}
    for name, rows in snap.records.items():
        obj = snap.objects[name]
        conn.executemany(
            "INSERT INTO records (id, object, owner_id, fields) VALUES (?, ?, ?, ?)",
            [(r["Id"], obj.key, str(r.get("OwnerId") or ""), json.dumps(r)) for _, r in rows],
        )
        counts[name] = len(rows)
    return counts


def snapshot_error(snap: Snapshot, hint: str | None = None) -> CrmctlError:
    problems = snap.problems
    shown = problems[:MAX_PROBLEMS]
    more = f" (the first {MAX_PROBLEMS} are listed)" if len(problems) > MAX_PROBLEMS else ""
    first = shown[0]
    return CrmctlError(
        f"{first.location}: {first.message}; nothing was loaded"
        if len(problems) == 1
        else f"the snapshot has {len(problems)} problems{more}; nothing was loaded",
        hint=hint or "fix the files and load again",
        diagnostics=[] if len(problems) == 1 else shown,
    )
