"""Approval records: small YAML files under `approvals/<env>/` in the project.

`crmctl approve` writes one record per approval, signed with the approver's
SSH key over the record's canonical content (`payload`): environment, role,
approver, time, ticket, comment, the break-glass id it reviews, and the
digests of every approved change. Who approved is what the signature proves
(`crmctl.governance.sshsig`), never who committed the file, so a record
survives squash merges, rebases and cherry-picks, and an edited record stops
counting. A record's `id` is the digest of its payload: renaming or copying
the file does not make a spent approval new.

Emergency applies are authorised by a signed `BreakGlass` record; a copy is
left under `approvals/<env>/break-glass/` for the pull request, but the
history is what lists it until it is reviewed.
Files are described by `schemas/approval.json`; a file that does not match
is reported as a diagnostic and ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
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
    "break_glass_from_dict",
    "canonical_payload",
    "break_glass_dir",
    "read_approvals",
    "read_break_glass",
    "new_break_glass",
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
    signature: str | None = None  # armored SSH signature of `payload` (None: unsigned)

    def entry(self, address: str) -> ApprovedChange | None:
        return next((c for c in self.changes if c.address == address), None)

    def content(self) -> dict[str, Any]:
        """Everything the signature covers."""
        data: dict[str, Any] = {
            "apiVersion": API_VERSION,
            "kind": "Approval",
            "environment": self.environment,
            "approver": self.approver,
            "role": self.role,
            "at": self.at,
            "ticket": self.ticket,
            "comment": self.comment,
        }
        if self.reviews:
            data["reviews"] = self.reviews
        data["changes"] = [c.to_dict() for c in self.changes]
        return data

    @property
    def payload(self) -> bytes:
        return canonical_payload(self.content())

    @property
    def id(self) -> str:
        """The digest of the signed content: the same approval under any file name."""
        return hashlib.sha256(self.payload).hexdigest()


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
    version: int | None = None  # display only: the history is what records the apply
    status: str = ""  # display only
    signature: str | None = None  # armored SSH signature of `payload` by the actor

    @property
    def id(self) -> str:
        return Path(self.path).stem

    def content(self) -> dict[str, Any]:
        """Everything the signature covers (the authorisation, decided before the apply)."""
        return {
            "apiVersion": API_VERSION,
            "kind": "BreakGlass",
            "id": self.id,
            "environment": self.environment,
            "actor": self.actor,
            "role": self.role,
            "at": self.at,
            "reason": self.reason,
            "reviewBy": self.review_by,
            "changes": [c.to_dict() for c in self.changes],
            "missing": [
                {"address": m.address, "role": m.role, "problem": m.problem} for m in self.missing
            ],
        }

    @property
    def payload(self) -> bytes:
        return canonical_payload(self.content())

    @property
    def missing_roles(self) -> list[str]:
        return list(dict.fromkeys(m.role for m in self.missing))


def canonical_payload(content: dict[str, Any]) -> bytes:
    """The exact bytes a record's signature covers: its content as compact, sorted JSON."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


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
    found: list[tuple[str, dict]] = []
    problems: list[Diagnostic] = []
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
            signature=data.get("signature"),
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
            signature=data.get("signature"),
        )
        for rel, data in found
    ]
    return records, problems


def break_glass_from_dict(
    data: dict[str, Any], version: int | None, status: str
) -> BreakGlassRecord:
    """A break-glass record as the history keeps it (with the version it made)."""
    env = data.get("environment", "")
    return BreakGlassRecord(
        path=f"approvals/{env}/break-glass/{data.get('id', 'unknown')}.yaml",
        environment=env,
        actor=data.get("actor", ""),
        role=data.get("role", ""),
        at=data.get("at", ""),
        reason=data.get("reason", ""),
        review_by=data.get("reviewBy", ""),
        changes=_changes(data.get("changes") or []),
        missing=tuple(
            MissingApproval(m["address"], m["role"], m["problem"])
            for m in data.get("missing") or []
        ),
        version=version,
        status=status,
        signature=data.get("signature"),
    )


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
    data = dict(data)
    signature = data.pop("signature", None)
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    if signature:  # a literal block, as ssh-keygen wrote it
        text += "signature: |\n" + "".join(f"  {line}\n" for line in signature.splitlines())
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(header + text, encoding="utf-8")
    tmp.replace(path)


def _record_data(content: dict[str, Any], signature: str | None) -> dict[str, Any]:
    data = dict(content)
    data.pop("id", None)  # a break-glass id is its file name
    if signature is not None:
        data["signature"] = signature
    return data


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
    sign: Callable[[bytes], str] | None = None,
) -> Path:
    """Write a new approval record, signed with `sign` (payload -> armored signature)."""
    now = now or datetime.now(UTC)
    stem = f"{_stamp(now)}-{_slug(approver.split('@')[0])}-{_slug(role)}"
    path = _new_file(approvals_dir(project_dir, env), stem)
    record = ApprovalRecord(
        path=_relative(project_dir, path),
        environment=env,
        approver=approver,
        role=role,
        at=now.astimezone(UTC).isoformat(timespec="seconds"),
        changes=tuple(changes),
        ticket=ticket,
        comment=comment,
        reviews=reviews,
    )
    signature = sign(record.payload) if sign is not None else None
    header = (
        "# Written by `crmctl approve` and signed with the approver's SSH key; any edit voids it.\n"
        f"#   git add {record.path} && git commit\n"
    )
    _write(path, header, _record_data(record.content(), signature))
    return path


def new_break_glass(
    project_dir: Path,
    env: str,
    actor: str,
    role: str,
    reason: str,
    review_within_days: int,
    changes: list[ApprovedChange],
    missing: list[MissingApproval],
    now: datetime | None = None,
) -> BreakGlassRecord:
    """The (unsigned) authorisation of an emergency apply; the actor signs its payload."""
    now = now or datetime.now(UTC)
    folder = break_glass_dir(project_dir, env)
    stem = f"{_stamp(now)}-{_slug(actor.split('@')[0])}"
    return BreakGlassRecord(
        path=_relative(project_dir, folder / f"{stem}.yaml"),
        environment=env,
        actor=actor,
        role=role,
        at=now.astimezone(UTC).isoformat(timespec="seconds"),
        reason=reason,
        review_by=(now + timedelta(days=review_within_days))
        .astimezone(UTC)
        .isoformat(timespec="seconds"),
        changes=tuple(changes),
        missing=tuple(missing),
    )


def write_break_glass(
    project_dir: Path, record: BreakGlassRecord, version: int | None, status: str
) -> Path:
    """Leave a copy of a break-glass record in the project, for the pull request to show it."""
    path = project_dir / record.path
    path.parent.mkdir(parents=True, exist_ok=True)
    data = _record_data(record.content(), record.signature)
    data["version"], data["status"] = version, status
    header = (
        "# Written by `crmctl apply --break-glass`: applied without the approvals listed under\n"
        "# `missing`. The history lists it until each missing role has reviewed it:\n"
        f"#   crmctl approve -e {record.environment} --role ROLE --review {record.id}\n"
    )
    _write(path, header, data)
    return path
