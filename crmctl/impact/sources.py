"""Where the records an impact is measured on come from.

- the environment's own sandbox database (`provider: {type: sandbox, path: …}`);
- a sandbox database loaded from a records export (`crmctl sandbox load`);
- a bounded sample of live records (`--impact-from-live`), read through the
  provider's query API into a temporary database that is deleted afterwards.

Databases are opened read-only: measuring impact never changes a record.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from crmctl.config.environment import Environment
from crmctl.errors import CrmctlError
from crmctl.impact.engine import IMPACT_KINDS, configurations
from crmctl.model import Resource
from crmctl.plan.model import Change
from crmctl.sandbox.records import OrgModel

__all__ = [
    "environment_database",
    "open_read_only",
    "objects_needed",
    "ReadRecords",
    "copy_live_records",
]

#: `(object, field names, row limit) -> records`, read-only; a provider's `read_records`.
ReadRecords = Callable[[str, list[str], int], list[dict[str, Any]]]


def environment_database(env: Environment) -> Path | None:
    """The sandbox database file of an in-process sandbox environment (None for other providers)."""
    provider = env.provider
    if provider.get("type") == "sandbox" and isinstance(provider.get("path"), str):
        return env.project_dir / provider["path"]
    return None


def open_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection to a sandbox database holding records; CrmctlError otherwise."""
    if not path.is_file():
        raise CrmctlError(
            f"{path}: no such sandbox database",
            hint="create one with crmctl sandbox init, fill it with crmctl sandbox seed or "
            "crmctl sandbox load --from FILE",
        )
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        conn.execute("SELECT 1 FROM records LIMIT 1").fetchall()
    except sqlite3.Error as exc:
        raise CrmctlError(f"{path}: not a sandbox database with records ({exc})") from None
    return conn


def objects_needed(live: Mapping[str, Resource], changes: Iterable[Change]) -> dict[str, list[str]]:
    """Objects whose records the changes can affect, with the fields to read (as declared)."""
    changes = [c for c in changes if c.kind in IMPACT_KINDS]
    before, _ = configurations(live, changes)
    model = OrgModel.from_config(before)
    wanted: dict[str, list[str]] = {}
    for change in changes:
        names = [change.name.partition(".")[0]] if change.kind != "CustomObject" else [change.name]
        if change.kind == "RetentionPolicy":
            names = [s["object"] for s in (change.before, change.after) if s and "object" in s]
        for name in names:
            obj = model.object(name)
            if obj is not None and obj.name not in wanted:
                wanted[obj.name] = [f.name for f in obj.fields.values()]
    return wanted


def copy_live_records(
    read: ReadRecords, wanted: Mapping[str, list[str]], limit: int, into: sqlite3.Connection
) -> tuple[dict[str, int], list[str]]:
    """Copy at most `limit` records per object into a records table; (counts, notes)."""
    into.execute(
        "CREATE TABLE IF NOT EXISTS records (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
        "id TEXT NOT NULL UNIQUE, object TEXT NOT NULL, owner_id TEXT NOT NULL, "
        "fields TEXT NOT NULL)"
    )
    counts, notes = {}, []
    for obj, fields in wanted.items():
        rows = read(obj, fields, limit)
        into.executemany(
            "INSERT OR IGNORE INTO records (id, object, owner_id, fields) VALUES (?, ?, ?, ?)",
            [
                (r["Id"], obj.lower(), str(r.get("OwnerId") or ""), json.dumps(r))
                for r in rows
                if r.get("Id")
            ],
        )
        counts[obj] = len(rows)
        if len(rows) >= limit:
            notes.append(
                f"{obj}: only the first {limit} live records were read (--impact-limit); "
                "counts are of those"
            )
    into.commit()
    return counts, notes
