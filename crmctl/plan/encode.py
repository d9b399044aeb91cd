"""The saved plan (`plan --out`, `plan --format json`) and its one encode/decode step.

The format is versioned (`formatVersion`) and described by `schemas/plan.json`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from crmctl.config.files import FileRefused, read_limited
from crmctl.config.text import control_character
from crmctl.errors import Diagnostic, PlanError, Severity, SourceLocation
from crmctl.plan.action import Action
from crmctl.plan.approval_state import ApprovalState
from crmctl.plan.diff import FieldDiff
from crmctl.plan.model import Change, Plan
from crmctl.schemas import validator_for

__all__ = [
    "FORMAT_VERSION",
    "MAX_PLAN_BYTES",
    "plan_to_dict",
    "change_to_dict",
    "plan_from_dict",
    "write_plan",
    "read_plan",
]

FORMAT_VERSION = 1


def change_to_dict(change: Change) -> dict[str, Any]:
    """One change as plain JSON data (the elements of a plan's `changes`)."""
    return {
        "address": change.address,
        "kind": change.kind,
        "name": change.name,
        "action": change.action.word,
        "symbol": change.action.value,
        "reason": change.reason,
        "before": change.before,
        "after": change.after,
        "diff": [d.to_dict() for d in change.diffs],
        "liveFingerprint": change.live_fingerprint,
        "source": f"{change.source}" if change.source else None,
        "requires": list(change.requires),
        **({"approvals": change.approvals.to_dict()} if change.approvals else {}),
    }


def plan_to_dict(plan: Plan, changes: Any = None) -> dict[str, Any]:
    """The plan as plain JSON data (what `--format json` prints and `--out` saves).

    `changes` stands in for the encoded changes (a writer that streams them passes its own).
    """
    return {
        "formatVersion": FORMAT_VERSION,
        "crmctlVersion": plan.crmctl_version,
        "environment": plan.environment,
        "provider": plan.provider,
        "createdAt": plan.created_at,
        "manifestsDigest": plan.manifests_digest,
        "rollbackTo": plan.rollback_to,
        **({"snapshotDigest": plan.snapshot_digest} if plan.snapshot_digest else {}),
        "targets": plan.targets,
        "excludes": plan.excludes,
        "applicable": plan.applicable,
        "summary": plan.counts(),
        "changes": [change_to_dict(c) for c in plan.changes] if changes is None else changes,
        "unmanaged": plan.unmanaged,
        "diagnostics": [d.to_dict() for d in plan.diagnostics],
        **({"policyChange": change_to_dict(plan.policy_change)} if plan.policy_change else {}),
    }


def _location(text: str | None) -> SourceLocation | None:
    if not text:
        return None
    file, _, line = text.rpartition(":")
    return SourceLocation(file, int(line)) if file and line.isdigit() else SourceLocation(text)


def _change_from_dict(c: dict[str, Any]) -> Change:
    return Change(
        kind=c["kind"],
        name=c["name"],
        action=Action.from_word(c["action"]),
        before=c["before"],
        after=c["after"],
        diffs=[FieldDiff(d["path"], d["before"], d["after"], d["change"]) for d in c["diff"]],
        live_fingerprint=c["liveFingerprint"],
        reason=c["reason"],
        source=_location(c.get("source")),
        requires=c.get("requires", []),
        approvals=ApprovalState.from_dict(c["approvals"]) if c.get("approvals") else None,
    )


def plan_from_dict(data: dict[str, Any]) -> Plan:
    """Rebuild a Plan from its saved form (validated against schemas/plan.json first)."""
    errors = sorted(validator_for("plan").iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        where = "/".join(map(str, errors[0].absolute_path)) or "the document"
        raise PlanError(f"not a crmctl plan file: {where}: {errors[0].message}")
    plan = Plan(
        environment=data["environment"],
        manifests_digest=data["manifestsDigest"],
        targets=data.get("targets", []),
        excludes=data.get("excludes", []),
        provider=data.get("provider", ""),
        created_at=data.get("createdAt", ""),
        crmctl_version=data.get("crmctlVersion", ""),
        rollback_to=data.get("rollbackTo"),
        snapshot_digest=data.get("snapshotDigest"),
        unmanaged=data.get("unmanaged", []),
    )
    plan.changes = [_change_from_dict(c) for c in data["changes"]]
    if data.get("policyChange"):
        plan.policy_change = _change_from_dict(data["policyChange"])
    for d in data.get("diagnostics", []):
        loc = SourceLocation(d["file"], d.get("line") or 0) if d.get("file") else None
        plan.diagnostics.append(
            Diagnostic(
                d["message"],
                loc,
                d.get("address"),
                d.get("hint"),
                Severity(d["severity"]),
                d.get("code", ""),
            )
        )
    return plan


def write_plan(plan: Plan, path: Path) -> None:
    """Save a plan file (written to a temporary name first, so a crash leaves no half file)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(
        json.dumps(plan_to_dict(plan), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    tmp.replace(path)


#: A saved plan of a few thousand changes is a few MB; this leaves room for the largest orgs.
MAX_PLAN_BYTES = 64 * 1024 * 1024
#: Plans nest a spec a few levels deep; anything deeper is not a plan crmctl wrote.
_MAX_PLAN_DEPTH = 64
#: Integers in a plan are counts and line numbers.
_MAX_INT_DIGITS = 20


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        raise ValueError(f"a number with {len(text)} digits")
    return int(text)


def _finite_float(text: str) -> float:
    if len(text) > 40 or not math.isfinite(number := float(text)):
        raise ValueError(f"the number {text[:20]}{'...' * (len(text) > 20)}")
    return number


def _no_constant(text: str) -> float:
    raise ValueError(f"{text}, which is not JSON")


def _too_deep(data: Any) -> bool:
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > _MAX_PLAN_DEPTH:
            return True
        children = value.values() if isinstance(value, dict) else value
        if isinstance(value, dict | list):
            stack.extend((child, depth + 1) for child in children)
    return False


def _control_character(data: Any) -> tuple[str, str] | None:
    """(JSON path, character) of the first control character crmctl never writes into a plan.

    Live values (`before`) are what the CRM holds, whatever that is, and are
    compared with the CRM at apply anyway; everything else came from manifests
    that refuse control characters.
    """
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        value, where = stack.pop()
        if isinstance(value, str):
            found = control_character(value)
            if found:
                return where or "the document", found
        elif isinstance(value, dict):
            for key, child in value.items():
                if key == "before":
                    continue
                found = control_character(key)
                if found:
                    return f"{where}/{key}".lstrip("/"), found
                stack.append((child, f"{where}/{key}".lstrip("/")))
        elif isinstance(value, list):
            stack.extend((child, f"{where}/{i}".lstrip("/")) for i, child in enumerate(value))
    return None


def read_plan(path: Path) -> Plan:
    """Load a saved plan, with a clear error for a missing, unreadable or foreign file."""
    hint = "create it with: crmctl plan --out FILE"
    try:
        raw = read_limited(path, MAX_PLAN_BYTES)
    except FileNotFoundError:
        raise PlanError(f"plan file {path} does not exist") from None
    except FileRefused as exc:
        raise PlanError(f"refusing to read plan file {path}: {exc.reason}", hint=hint) from None
    except OSError as exc:
        raise PlanError(f"cannot read plan file {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PlanError(
            f"plan file {path} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
            hint=hint,
        ) from None
    try:
        data = json.loads(
            text,
            parse_int=_bounded_int,
            parse_float=_finite_float,
            parse_constant=_no_constant,
        )
    except json.JSONDecodeError as exc:
        raise PlanError(
            f"plan file {path} is not valid JSON (line {exc.lineno}: {exc.msg})", hint=hint
        ) from None
    except ValueError as exc:
        raise PlanError(f"plan file {path} holds {exc}: not a crmctl plan", hint=hint) from None
    except RecursionError:
        raise PlanError(
            f"plan file {path} is nested too deeply: not a crmctl plan", hint=hint
        ) from None
    if _too_deep(data):
        raise PlanError(f"plan file {path} is nested too deeply: not a crmctl plan", hint=hint)
    found = _control_character(data)
    if found:
        where, character = found
        raise PlanError(
            f"plan file {path} holds the control character {character} at {where}: "
            "not a plan crmctl wrote",
            hint=hint,
        )
    if not isinstance(data, dict) or data.get("formatVersion") != FORMAT_VERSION:
        raise PlanError(
            f"plan file {path} is not a crmctl plan of format version {FORMAT_VERSION}",
            hint="create it again with this version of crmctl: crmctl plan --out FILE",
        )
    try:
        return plan_from_dict(data)
    except PlanError as exc:
        raise PlanError(f"plan file {path}: {exc.message}", hint=exc.hint or hint) from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        # The schema admits it but a field holds what no crmctl ever wrote.
        raise PlanError(
            f"plan file {path} is not a plan this crmctl wrote ({type(exc).__name__}: {exc})",
            hint=hint,
        ) from None
