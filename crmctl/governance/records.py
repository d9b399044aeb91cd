"""Approval records: small YAML files under `approvals/<env>/` in the project.

`crmctl approve` writes one record per approval; the approver commits it,
and only a committed record counts (see `crmctl.governance.gitverify`).
Emergency applies leave a flag under `approvals/<env>/break-glass/`.
Files are described by `schemas/approval.json`; a file that does not match
is reported as a diagnostic and ignored.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from crmctl.config.schema_check import schema_diagnostics
from crmctl.config.yamlsource import read_yaml_file
from crmctl.errors import Diagnostic, Severity, SourceLocation
from crmctl.plan import Change, fingerprint

__all__ = [
    "ApprovedChange",
    "ApprovalRecord",
    "BreakGlassRecord",
    "MissingApproval",
    "approvals_dir",
    "break_glass_dir",
    "read_approvals",
    "read_break_glass",
    "write_approval",
    "write_break_glass",
]

API_VERSION = "crmctl/v1"


@dataclass(frozen=True)
class ApprovedChange:
    """A change as it was approved: its address, action and the digests of both specs."""

    address: str
    action: str
    desired: str | None  # fingerprint of the desired spec (None for a delete)
    live: str | None  # fingerprint of the live spec it was planned against (None for a create)

    @classmethod
    def of(cls, change: Change) -> ApprovedChange:
        return cls(
            change.address, change.action.word, fingerprint(change.after), change.live_fingerprint
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "action": self.action,
            "desired": self.desired,
            "live": self.live,
        }


@dataclass(frozen=True)
class ApprovalRecord:
    """One approval: who, in which governance role, of which changes (or which break-glass apply)."""

    path: str  # relative to the project, with forward slashes: approvals/prod/….yaml
    environment: str
    approver: str
    role: str
    at: str
    changes: tuple[ApprovedChange, ...] = ()
    ticket: str | None = None
    comment: str | None = None
    reviews: str | None = None  # id of the break-glass record this approval reviews

    def entry(self, address: str) -> ApprovedChange | None:
        return next((c for c in self.changes if c.address == address), None)


@dataclass(frozen=True)
class MissingApproval:
    """An approval a break-glass apply went ahead without."""

    address: str
    role: str
    problem: str


@dataclass(frozen=True)
class BreakGlassRecord:
    """An apply made without its missing approvals, awaiting review after the fact."""

    path: str
    environment: str
    actor: str
    role: str
    at: str
    reason: str
    review_by: str
    changes: tuple[ApprovedChange, ...]
    missing: tuple[MissingApproval, ...]
    version: int | None = None
    status: str = ""

    @property
    def id(self) -> str:
        return Path(self.path).stem

    @property
    def missing_roles(self) -> list[str]:
        return list(dict.fromkeys(m.role for m in self.missing))


def approvals_dir(project_dir: Path, env: str) -> Path:
    return project_dir / "approvals" / env


def break_glass_dir(project_dir: Path, env: str) -> Path:
    return approvals_dir(project_dir, env) / "break-glass"


def _relative(project_dir: Path, path: Path) -> str:
    return Path(os.path.relpath(path, project_dir)).as_posix()


def _changes(items: list[dict[str, Any]]) -> tuple[ApprovedChange, ...]:
    return tuple(ApprovedChange(c["address"], c["action"], c["desired"], c["live"]) for c in items)


def _read(
    folder: Path, project_dir: Path, kind: str
) -> tuple[list[tuple[str, dict]], list[Diagnostic]]:
    """(relative path, data) of every valid record of `kind` directly in `folder`."""
    found, problems = [], []
    if not folder.is_dir():
        return found, problems
    for path in sorted(
        p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()
    ):
        rel = _relative(project_dir, path)
        docs, diagnostics = read_yaml_file(path, rel)
        if not diagnostics and (len(docs) != 1 or not isinstance(docs[0].data, dict)):
            diagnostics = [
                Diagnostic(
                    "an approval record holds exactly one YAML mapping",
                    SourceLocation(rel, 1),
                    code="approval-record",
                )
            ]
        if not diagnostics:
            diagnostics = schema_diagnostics("approval", docs[0].data, docs[0].source)
        if not diagnostics and docs[0].data.get("kind") != kind:
            diagnostics = [
                Diagnostic(
                    f"a {docs[0].data.get('kind')} record does not belong in {_relative(project_dir, folder)}/",
                    SourceLocation(rel, 1),
                    code="approval-record",
                )
            ]
        if diagnostics:
            problems.extend(
                Diagnostic(
                    f"ignored approval record: {d.message}",
                    d.location,
                    hint=d.hint,
                    severity=Severity.WARNING,
                    code="approval-record",
                )
                for d in diagnostics
            )
            continue
        found.append((rel, docs[0].data))
    return found, problems


def read_approvals(project_dir: Path, env: str) -> tuple[list[ApprovalRecord], list[Diagnostic]]:
    """Every approval record of `env` (committed or not), and warnings for unreadable ones."""
    found, problems = _read(approvals_dir(project_dir, env), project_dir, "Approval")
    records = [
        ApprovalRecord(
            path=rel,
            environment=data["environment"],
            approver=data["approver"],
            role=data["role"],
            at=data["at"],
            changes=_changes(data["changes"]),
            ticket=data.get("ticket"),
            comment=data.get("comment"),
            reviews=data.get("reviews"),
        )
        for rel, data in found
    ]
    for record in records:
        if record.environment != env:
            problems.append(
                Diagnostic(
                    f"ignored approval record: it is for environment {record.environment}, not {env}",
                    SourceLocation(record.path, 1),
                    severity=Severity.WARNING,
                    code="approval-record",
                )
            )
    return [r for r in records if r.environment == env], problems


def read_break_glass(
    project_dir: Path, env: str
) -> tuple[list[BreakGlassRecord], list[Diagnostic]]:
    """Every break-glass flag of `env`, oldest first."""
    found, problems = _read(break_glass_dir(project_dir, env), project_dir, "BreakGlass")
    records = [
        BreakGlassRecord(
            path=rel,
            environment=data["environment"],
            actor=data["actor"],
            role=data["role"],
            at=data["at"],
            reason=data["reason"],
            review_by=data["reviewBy"],
            changes=_changes(data["changes"]),
            missing=tuple(
                MissingApproval(m["address"], m["role"], m["problem"]) for m in data["missing"]
            ),
            version=data.get("version"),
            status=data.get("status", ""),
        )
        for rel, data in found
    ]
    return records, problems


def _stamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "x"


def _new_file(folder: Path, stem: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path, n = folder / f"{stem}.yaml", 1
    while path.exists():
        n += 1
        path = folder / f"{stem}-{n}.yaml"
    return path


def _write(path: Path, header: str, data: dict[str, Any]) -> None:
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(header + text, encoding="utf-8")
    tmp.replace(path)


def write_approval(
    project_dir: Path,
    env: str,
    approver: str,
    role: str,
    changes: list[ApprovedChange],
    ticket: str | None = None,
    comment: str | None = None,
    reviews: str | None = None,
    now: datetime | None = None,
) -> Path:
    """Write a new approval record and return its path (the approver then commits it)."""
    now = now or datetime.now(UTC)
    stem = f"{_stamp(now)}-{_slug(approver.split('@')[0])}-{_slug(role)}"
    path = _new_file(approvals_dir(project_dir, env), stem)
    data: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": "Approval",
        "environment": env,
        "approver": approver,
        "role": role,
        "at": now.astimezone(UTC).isoformat(timespec="seconds"),
        "ticket": ticket,
        "comment": comment,
    }
    if reviews:
        data["reviews"] = reviews
    data["changes"] = [c.to_dict() for c in changes]
    header = (
        "# Written by `crmctl approve`. It counts once its approver commits it:\n"
        f"#   git add {_relative(project_dir, path)} && git commit\n"
    )
    _write(path, header, data)
    return path


def write_break_glass(
    project_dir: Path,
    env: str,
    actor: str,
    role: str,
    reason: str,
    review_within_days: int,
    changes: list[ApprovedChange],
    missing: list[MissingApproval],
    version: int | None,
    status: str,
    now: datetime | None = None,
) -> Path:
    """Flag an emergency apply for review; return the file (the actor then commits it)."""
    now = now or datetime.now(UTC)
    path = _new_file(
        break_glass_dir(project_dir, env), f"{_stamp(now)}-{_slug(actor.split('@')[0])}"
    )
    data = {
        "apiVersion": API_VERSION,
        "kind": "BreakGlass",
        "environment": env,
        "actor": actor,
        "role": role,
        "at": now.astimezone(UTC).isoformat(timespec="seconds"),
        "reason": reason,
        "reviewBy": (now + timedelta(days=review_within_days))
        .astimezone(UTC)
        .isoformat(timespec="seconds"),
        "version": version,
        "status": status,
        "changes": [c.to_dict() for c in changes],
        "missing": [{"address": m.address, "role": m.role, "problem": m.problem} for m in missing],
    }
    header = (
        "# Written by `crmctl apply --break-glass`: applied without the approvals listed under\n"
        "# `missing`. Commit it, then have each missing role review it:\n"
        f"#   crmctl approve -e {env} --role ROLE --review {path.stem}\n"
    )
    _write(path, header, data)
    return path
