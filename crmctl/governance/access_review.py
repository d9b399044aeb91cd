"""Periodic access reviews: a snapshot of effective access, signed attestations, completion.

`crmctl access review start` writes the effective access of an environment
(from the live CRM, or the manifests) as a snapshot under
`approvals/<env>/access-reviews/<id>/snapshot.json`, split into subjects:
one per permission set (its grants and its members) or one per user (their
role, permission sets and effective access). The history records the
snapshot's digest, so an edited snapshot is noticed.

Reviewers attest subjects with `AccessAttestation` records in the same folder,
signed exactly as approvals are (`crmctl.governance.sshsig`, the project's
`approvals/allowed_signers`): each names the review, the snapshot's digest and
each subject's digest, so an attestation of another review or of an earlier
snapshot counts for nothing. Nobody reviews access they hold themselves.
A review is complete when every subject has an attestation that counts;
`crmctl access review complete` records it in the history, and a policy can
require a completed review younger than `maxAge` before an apply that changes
access (`approvals.accessReview.requireBeforeApply`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from crmctl.access.effective import OrgAccess
from crmctl.config.yamlsource import read_yaml_file
from crmctl.errors import CrmctlError, Diagnostic, Severity, SourceLocation
from crmctl.governance.policy import Policy
from crmctl.governance.records import canonical_payload

__all__ = [
    "ReviewPolicy",
    "Attestation",
    "SubjectStatus",
    "ReviewStatus",
    "BY",
    "ACCESS_KINDS",
    "reviews_dir",
    "build_snapshot",
    "write_snapshot",
    "read_snapshot",
    "read_attestations",
    "write_attestation",
    "review_status",
    "review_age_problem",
    "review_warning",
    "snapshot_digest",
    "last_completed",
    "STARTED",
    "COMPLETED",
]

API_VERSION = "crmctl/v1"
#: How a review splits the access: one subject per permission set, or per user.
BY = ("permission-set", "user")
#: The kinds whose changes touch access (a review is required before applying them).
ACCESS_KINDS = frozenset({"PermissionSet", "User", "Role"})
DECISIONS = ("keep", "revoke")
STARTED, COMPLETED = "access-review-started", "access-review-completed"


@dataclass(frozen=True)
class ReviewPolicy:
    """`approvals.accessReview` of an environment file."""

    reviewers: tuple[str, ...] = ()
    max_age_days: int = 90
    required_before_apply: bool = False

    @classmethod
    def from_section(cls, approvals: Mapping[str, Any] | None) -> ReviewPolicy | None:
        section = (approvals or {}).get("accessReview")
        if not isinstance(section, dict):
            return None
        days = re.fullmatch(r"P(\d+)D", section.get("maxAge", "P90D"))
        return cls(
            reviewers=tuple(section.get("reviewers") or ()),
            max_age_days=int(days.group(1)) if days else 90,
            required_before_apply=bool(section.get("requireBeforeApply", False)),
        )


def reviews_dir(project_dir: Path, env: str) -> Path:
    return project_dir / "approvals" / env / "access-reviews"


def _digest(data: Any) -> str:
    return hashlib.sha256(canonical_payload(data)).hexdigest()


def _subjects(items: list[dict[str, Any]], by: str) -> dict[str, dict[str, Any]]:
    org = OrgAccess(items)
    users = org.users()
    if by == "permission-set":
        members: dict[str, list[str]] = {key: [] for key in org.sets}
        for user in users:
            for name in dict.fromkeys(s.lower() for s in user.permission_sets):
                if name in members and user.active:
                    members[name].append(user.name)
        out = {}
        for key, (name, _, spec) in sorted(org.sets.items()):
            grants = {k: spec[k] for k in ("objects", "fields", "system") if spec.get(k)}
            out[f"PermissionSet/{name}"] = {"grants": grants, "members": members[key]}
        return out
    report = org.report()
    access: dict[str, dict[str, list[str]]] = {u.name: {} for u in users}
    for grant in report.grants:
        access[grant.user][grant.target.name] = list(grant.permissions)
    return {
        f"User/{u.name}": {
            "active": u.active,
            "role": u.role,
            "permissionSets": list(u.permission_sets),
            "admin": u.admin,
            "access": access[u.name],
        }
        for u in users
    }


def build_snapshot(
    items: list[dict[str, Any]],
    environment: str,
    by: str,
    source: str,
    started_by: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The snapshot a review attests: every subject with the digest of its content."""
    now = now or datetime.now(UTC)
    subjects = _subjects(items, by)
    return {
        "apiVersion": API_VERSION,
        "kind": "AccessSnapshot",
        "environment": environment,
        "review": now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ"),
        "startedAt": now.astimezone(UTC).isoformat(timespec="seconds"),
        "startedBy": started_by,
        "source": source,
        "by": by,
        "subjects": {
            name: {"digest": _digest(content), **content} for name, content in subjects.items()
        },
    }


def snapshot_digest(snapshot: Mapping[str, Any]) -> str:
    return _digest(dict(snapshot))


def write_snapshot(project_dir: Path, snapshot: dict[str, Any]) -> Path:
    folder = reviews_dir(project_dir, snapshot["environment"]) / snapshot["review"]
    if folder.exists():
        raise CrmctlError(
            f"access review {snapshot['review']} exists already in {folder}",
            hint="wait a second and start again",
        )
    folder.mkdir(parents=True)
    path = folder / "snapshot.json"
    path.write_text(
        json.dumps(snapshot, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return path


def read_snapshot(project_dir: Path, env: str, review: str) -> dict[str, Any]:
    path = reviews_dir(project_dir, env) / review / "snapshot.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CrmctlError(
            f"access review {review} of {env} has no snapshot ({path} does not exist)",
            hint=f"start one: crmctl access review start -e {env}",
        ) from None
    except (OSError, ValueError) as exc:
        raise CrmctlError(f"{path}: not a snapshot: {exc}") from None
    if not isinstance(data, dict) or data.get("kind") != "AccessSnapshot":
        raise CrmctlError(f"{path}: not an access snapshot")
    return data


@dataclass(frozen=True)
class Attestation:
    """One reviewer's signed word on some subjects of one review's snapshot."""

    path: str
    environment: str
    review: str
    snapshot: str  # digest of the snapshot attested
    reviewer: str
    role: str
    at: str
    subjects: tuple[tuple[str, str, str], ...]  # (subject, its digest, keep | revoke)
    comment: str | None = None
    signature: str | None = None

    def content(self) -> dict[str, Any]:
        return {
            "apiVersion": API_VERSION,
            "kind": "AccessAttestation",
            "environment": self.environment,
            "review": self.review,
            "snapshot": self.snapshot,
            "reviewer": self.reviewer,
            "role": self.role,
            "at": self.at,
            "comment": self.comment,
            "subjects": [
                {"subject": s, "digest": d, "decision": decision}
                for s, d, decision in self.subjects
            ],
        }

    @property
    def payload(self) -> bytes:
        return canonical_payload(self.content())

    @property
    def id(self) -> str:
        return hashlib.sha256(self.payload).hexdigest()


def _attestation(rel: str, data: Mapping[str, Any]) -> Attestation | None:
    try:
        subjects = tuple(
            (str(s["subject"]), str(s["digest"]), str(s["decision"])) for s in data["subjects"]
        )
        return Attestation(
            rel,
            str(data["environment"]),
            str(data["review"]),
            str(data["snapshot"]),
            str(data["reviewer"]),
            str(data["role"]),
            str(data["at"]),
            subjects,
            data.get("comment"),
            data.get("signature"),
        )
    except (KeyError, TypeError):
        return None


def read_attestations(
    project_dir: Path, env: str, review: str
) -> tuple[list[Attestation], list[Diagnostic]]:
    """Every attestation file in the review's folder (an unreadable one is a warning)."""
    folder = reviews_dir(project_dir, env) / review
    found, problems = [], []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        rel = path.relative_to(project_dir).as_posix()
        docs, diagnostics = read_yaml_file(path, rel)
        record = None
        if (
            not diagnostics
            and len(docs) == 1
            and isinstance(docs[0].data, dict)
            and docs[0].data.get("kind") == "AccessAttestation"
        ):
            record = _attestation(rel, docs[0].data)
        if record is None:
            problems.append(
                Diagnostic(
                    "ignored: not an access attestation record",
                    SourceLocation(rel, 1),
                    severity=Severity.WARNING,
                    code="access-review",
                )
            )
            continue
        found.append(record)
    return found, problems


def write_attestation(
    project_dir: Path,
    snapshot: Mapping[str, Any],
    reviewer: str,
    role: str,
    subjects: Iterable[str],
    decision: str,
    comment: str | None,
    sign: Callable[[bytes], str],
    now: datetime | None = None,
) -> Path:
    """Write a signed attestation of `subjects` of the review's snapshot."""
    now = now or datetime.now(UTC)
    env, review = snapshot["environment"], snapshot["review"]
    folder = reviews_dir(project_dir, env) / review
    stem = f"{now.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}-{reviewer.split('@')[0]}"
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem)
    path, n = folder / f"{stem}.yaml", 1
    while path.exists():
        n += 1
        path = folder / f"{stem}-{n}.yaml"
    record = Attestation(
        path.relative_to(project_dir).as_posix(),
        env,
        review,
        snapshot_digest(snapshot),
        reviewer,
        role,
        now.astimezone(UTC).isoformat(timespec="seconds"),
        tuple((s, snapshot["subjects"][s]["digest"], decision) for s in subjects),
        comment,
    )
    data = record.content()
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    text += "signature: |\n" + "".join(f"  {line}\n" for line in sign(record.payload).splitlines())
    header = (
        "# Written by `crmctl access review attest` and signed with the reviewer's SSH key;\n"
        "# any edit voids it.\n"
    )
    path.write_text(header + text, encoding="utf-8")
    return path


@dataclass
class SubjectStatus:
    subject: str
    attested_by: list[tuple[str, str]] = field(default_factory=list)  # (reviewer, decision)
    not_counted: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return bool(self.attested_by)

    @property
    def revoke(self) -> bool:
        return any(decision == "revoke" for _, decision in self.attested_by)


@dataclass
class ReviewStatus:
    review: str
    environment: str
    digest: str
    subjects: list[SubjectStatus]
    problems: list[str] = field(default_factory=list)  # about the whole review
    used: list[str] = field(default_factory=list)  # ids of the attestations that count

    @property
    def left(self) -> list[SubjectStatus]:
        return [s for s in self.subjects if not s.done]

    @property
    def complete(self) -> bool:
        return not self.problems and not self.left


def _holds_subject(reviewer: str, subject: str, content: Mapping[str, Any]) -> bool:
    who = reviewer.lower()
    if subject.startswith("User/"):
        return subject[5:].lower() == who
    return who in {m.lower() for m in content.get("members") or ()}


def review_status(
    snapshot: Mapping[str, Any],
    recorded_digest: str | None,
    attestations: Iterable[Attestation],
    policy: Policy,
    review_policy: ReviewPolicy,
    signers: str,
    verify: Callable[[bytes, str, str, str, str], str | None],
    signers_name: str,
) -> ReviewStatus:
    """Which subjects have an attestation that counts, and why the others do not.

    `recorded_digest`: the snapshot digest the history recorded when the review started.
    `verify`: `sshsig.signature_problem`.
    """
    digest = snapshot_digest(snapshot)
    review = snapshot["review"]
    subjects = snapshot.get("subjects") or {}
    by_name = {name: SubjectStatus(name) for name in subjects}
    status = ReviewStatus(review, snapshot["environment"], digest, list(by_name.values()))
    if recorded_digest is None:
        status.problems.append(
            f"the history has no record of review {review} being started, so its snapshot "
            "cannot be trusted"
        )
    elif recorded_digest != digest:
        status.problems.append(
            f"the snapshot of review {review} was changed after it was started (the history "
            f"recorded {recorded_digest[:12]}, the file is {digest[:12]})"
        )
    for record in attestations:
        problem = None
        if record.review != review or record.snapshot != digest:
            problem = (
                f"it attests review {record.review} (snapshot {record.snapshot[:12]}), "
                f"not this review's snapshot {digest[:12]}"
            )
        elif record.signature is None:
            problem = "it is not signed"
        elif record.role not in review_policy.reviewers:
            problem = f"{record.role} is not a reviewer role ({', '.join(review_policy.reviewers)})"
        elif not policy.holds(record.reviewer, record.role):
            problem = f"{record.reviewer} does not hold the role {record.role}"
        else:
            problem = verify(
                record.payload, record.signature, signers, record.reviewer, signers_name
            )
        for subject, subject_digest, decision in record.subjects:
            target = by_name.get(subject)
            if target is None:
                continue
            who = f"{record.reviewer} [{record.path}]"
            if problem is not None:
                target.not_counted.append(f"{who} does not count: {problem}")
            elif subject_digest != subjects[subject].get("digest"):
                target.not_counted.append(f"{who} does not count: it attests another {subject}")
            elif _holds_subject(record.reviewer, subject, subjects[subject]):
                target.not_counted.append(
                    f"{who} does not count: {record.reviewer} holds this access, and nobody "
                    "reviews their own"
                )
            else:
                target.attested_by.append((record.reviewer, decision))
                if record.id not in status.used:
                    status.used.append(record.id)
    return status


def _parse(stamp: str) -> datetime | None:
    try:
        return datetime.fromisoformat(stamp).astimezone(UTC)
    except (TypeError, ValueError):
        return None


def last_completed(events: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    done = [e for e in events if e.get("event") == COMPLETED and _parse(e.get("completedAt", ""))]
    return max(done, key=lambda e: _parse(e["completedAt"]), default=None)  # type: ignore[arg-type, return-value]


def review_age_problem(
    review_policy: ReviewPolicy | None,
    kinds: Iterable[str],
    events: Iterable[Mapping[str, Any]],
    env: str,
    now: datetime | None = None,
) -> str | None:
    """Why an apply changing resources of `kinds` may not go ahead without a newer review."""
    if review_policy is None or not review_policy.required_before_apply:
        return None
    touched = sorted(set(kinds) & ACCESS_KINDS)
    if not touched:
        return None
    now = now or datetime.now(UTC)
    last = last_completed(events)
    limit = review_policy.max_age_days
    what = f"it changes access ({', '.join(touched)}), and {env} requires an access review completed in the last {limit} days"
    if last is None:
        return f"{what}; none was completed"
    age = (now - _parse(last["completedAt"])).days  # type: ignore[operator]
    if age > limit:
        return f"{what}; the last, {last['review']}, was completed {age} days ago"
    return None


def review_warning(
    review_policy: ReviewPolicy | None,
    kinds: Iterable[str],
    events: Iterable[Mapping[str, Any]],
    env: str,
) -> Diagnostic | None:
    """The plan's warning that apply will refuse for want of a recent access review."""
    problem = review_age_problem(review_policy, kinds, events, env)
    if problem is None:
        return None
    return Diagnostic(
        f"apply will refuse: {problem}",
        hint=f"crmctl access review start -e {env}, the reviewers attest, then "
        f"crmctl access review complete -e {env}",
        severity=Severity.WARNING,
        code="access-review",
    )
