"""`crmctl access review`: periodic effective-access reviews with signed attestations."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from crmctl.access.query import live_items, manifest_items
from crmctl.cli.context import CliContext, env_option, format_option
from crmctl.cli.governance_cmd import _require_key, key_option
from crmctl.config.environment import Environment
from crmctl.errors import CrmctlError
from crmctl.governance.access_review import (
    BY,
    COMPLETED,
    DECISIONS,
    STARTED,
    ReviewPolicy,
    ReviewStatus,
    build_snapshot,
    last_completed,
    read_attestations,
    read_snapshot,
    review_status,
    reviews_dir,
    snapshot_digest,
    write_attestation,
    write_snapshot,
)
from crmctl.governance.policy import Policy
from crmctl.governance.sshsig import SIGNERS_FILE, sign, signature_problem
from crmctl.governance.verify import read_signers
from crmctl.history import current_actor
from crmctl.workspace import Workspace

__all__ = ["review"]


def _policy(env: Environment) -> ReviewPolicy:
    policy = ReviewPolicy.from_section(env.approvals)
    if policy is None:
        raise CrmctlError(
            f"{env.name} has no access review policy",
            hint="name the roles that attest access in the environment file: "
            "approvals: {accessReview: {reviewers: [security-officer], maxAge: P90D}}",
        )
    return policy


def _events(workspace: Workspace) -> list[dict[str, Any]]:
    workspace.sync_history()
    return workspace.history.events(workspace.env.name)


def _open_review(workspace: Workspace, wanted: str | None) -> tuple[str, str | None]:
    """(review id, digest the history recorded when it started); the latest open by default."""
    events = _events(workspace)
    started = {e["review"]: e.get("snapshot") for e in events if e.get("event") == STARTED}
    done = {e["review"] for e in events if e.get("event") == COMPLETED}
    env = workspace.env.name
    if wanted is not None:
        if (
            wanted not in started
            and not (reviews_dir(workspace.env.project_dir, env) / wanted).is_dir()
        ):
            raise CrmctlError(f"no access review {wanted} in {env}")
        return wanted, started.get(wanted)
    open_reviews = sorted(r for r in started if r not in done)
    if not open_reviews:
        raise CrmctlError(
            f"{env} has no access review in progress",
            hint=f"start one: crmctl access review start -e {env}",
        )
    return open_reviews[-1], started[open_reviews[-1]]


def _status(workspace: Workspace, review_id: str | None) -> tuple[dict[str, Any], ReviewStatus]:
    env = workspace.env
    review_id, recorded = _open_review(workspace, review_id)
    snapshot = read_snapshot(env.project_dir, env.name, review_id)
    attestations, _ = read_attestations(env.project_dir, env.name, review_id)
    status = review_status(
        snapshot,
        recorded,
        attestations,
        Policy.from_section(env.name, env.approvals),
        _policy(env),
        read_signers(env.project_dir) or "",
        signature_problem,
        SIGNERS_FILE,
    )
    return snapshot, status


@click.group()
def review() -> None:
    """Periodic access reviews: snapshot, signed attestations, completion in the history.

    \b
    Examples:
      crmctl access review start -e prod
      crmctl access review attest -e prod --role security-officer --all
      crmctl access review status -e prod
      crmctl access review complete -e prod
    """


@review.command()
@env_option
@click.option(
    "--by",
    type=click.Choice(BY),
    default="permission-set",
    show_default=True,
    help="Attest per permission set (its grants and members) or per user (their access).",
)
@click.option(
    "--from-manifests",
    is_flag=True,
    help="Snapshot the manifests' access instead of the live CRM's.",
)
@click.pass_obj
def start(obj: CliContext, env_name: str | None, by: str, from_manifests: bool) -> int:
    """Snapshot the current effective access for reviewers to attest.

    Reads the live CRM (or the manifests with --from-manifests), writes
    approvals/ENV/access-reviews/ID/snapshot.json and records its digest in
    the history, so an edited snapshot is noticed.

    \b
    Examples:
      crmctl access review start -e prod
      crmctl access review start -e prod --by user
    """
    env = obj.environment(env_name)
    _policy(env)
    workspace = Workspace(env)
    try:
        workspace.sync_history()
        if from_manifests:
            items, source = manifest_items(env), "manifests"
        else:
            items = live_items(workspace.read_live().values())
            source = f"the live CRM ({workspace.provider.describe()})"
        actor = current_actor(env.project_dir)
        snapshot = build_snapshot(items, env.name, by, source, actor.email)
        path = write_snapshot(env.project_dir, snapshot)
        digest = snapshot_digest(snapshot)
        workspace.history.record_event(
            env.name,
            {"event": STARTED, "review": snapshot["review"], "snapshot": digest, "by": by},
            actor,
            f"access review {snapshot['review']} started",
        )
    finally:
        workspace.close()
    rel = path.relative_to(env.project_dir).as_posix()
    n = len(snapshot["subjects"])
    click.echo(
        f"Started access review {snapshot['review']} of {env.name}: {n} "
        f"{'permission sets' if by == 'permission-set' else 'users'} to attest, from {source}.\n"
        f"Snapshot: {rel} (sha256 {digest[:12]}, recorded in the history).\n"
        f"Commit it, then each reviewer attests: crmctl access review attest -e {env.name} "
        "--role ROLE --all"
    )
    return 0


@review.command()
@env_option
@click.argument("subjects", nargs=-1, metavar="[SUBJECT]...")
@click.option("--role", required=True, help="The reviewer role you attest in.")
@click.option("--all", "everything", is_flag=True, help="Every subject you may attest.")
@click.option("--review", "review_id", metavar="ID", help="The review (default: the one open).")
@click.option("--decision", type=click.Choice(DECISIONS), default="keep", show_default=True)
@click.option("--comment", metavar="TEXT")
@key_option
@click.pass_obj
def attest(
    obj: CliContext,
    env_name: str | None,
    subjects: tuple[str, ...],
    role: str,
    everything: bool,
    review_id: str | None,
    decision: str,
    comment: str | None,
    key_file: Path | None,
) -> int:
    """Attest subjects of the open review (PermissionSet/NAME or User/EMAIL), signed with your key.

    The record is signed like an approval (your SSH key, listed in
    approvals/allowed_signers) and names the snapshot's digest: it counts for
    this review only. Nobody attests access they hold themselves.

    \b
    Examples:
      crmctl access review attest -e prod --role security-officer --all
      crmctl access review attest -e prod --role security-officer PermissionSet/Sales_Rep
      crmctl access review attest -e prod --role security-officer --decision revoke \\
          --comment "nobody uses it" PermissionSet/Legacy_Export
    """
    env = obj.environment(env_name)
    reviewers = _policy(env).reviewers
    policy = Policy.from_section(env.name, env.approvals)
    actor = current_actor(env.project_dir).email
    if role not in reviewers:
        raise CrmctlError(
            f"{role} is not a reviewer role in {env.name}; nothing was recorded",
            hint=f"reviewer roles: {', '.join(reviewers)}",
        )
    if not policy.holds(actor, role):
        raise CrmctlError(
            f"{actor} does not hold the role {role} in {env.name}; nothing was recorded"
        )
    workspace = Workspace(env)
    try:
        review_id, _ = _open_review(workspace, review_id)
    finally:
        workspace.close()
    snapshot = read_snapshot(env.project_dir, env.name, review_id)
    known = snapshot["subjects"]
    if everything == bool(subjects):
        raise click.UsageError("name the subjects to attest, or pass --all")
    chosen = list(known) if everything else list(subjects)
    for subject in chosen:
        if subject not in known:
            raise CrmctlError(
                f"{subject} is not a subject of review {review_id}; nothing was recorded"
            )
    mine = [s for s in chosen if _own(actor, s, known[s])]
    if mine and not everything:
        raise CrmctlError(
            f"{actor} holds the access of {', '.join(mine)}: someone else reviews it; nothing was recorded"
        )
    chosen = [s for s in chosen if s not in mine]
    key = _require_key(env.project_dir, key_file, actor)
    path = write_attestation(
        env.project_dir, snapshot, actor, role, chosen, decision, comment,
        lambda payload: sign(payload, key),
    )  # fmt: skip
    rel = path.relative_to(env.project_dir).as_posix()
    n = len(chosen)
    click.echo(
        f"Recorded {actor}'s attestation ({decision}) of {n} subject{'s' * (n != 1)} "
        f"of review {review_id} in {rel}."
    )
    if mine:
        click.echo(f"Left to another reviewer (your own access): {', '.join(mine)}")
    click.echo(f'Commit it: git add {rel} && git commit -m "Access review {review_id}"')
    return 0


def _own(actor: str, subject: str, content: dict[str, Any]) -> bool:
    if subject.startswith("User/"):
        return subject[5:].lower() == actor.lower()
    return actor.lower() in {m.lower() for m in content.get("members") or ()}


def _age(workspace: Workspace) -> str:
    last = last_completed(workspace.history.events(workspace.env.name))
    if last is None:
        return "No access review of this environment was completed yet."
    when = datetime.fromisoformat(last["completedAt"]).astimezone(UTC)
    days = (datetime.now(UTC) - when).days
    return f"Last completed review: {last['review']}, {days} day{'s' * (days != 1)} ago ({last['completedAt']})."


@review.command()
@env_option
@click.option("--review", "review_id", metavar="ID", help="The review (default: the one open).")
@format_option("text", "json")
@click.pass_obj
def status(obj: CliContext, env_name: str | None, review_id: str | None, output_format: str) -> int:
    """Show what is attested and what is left in the open review.

    \b
    Examples:
      crmctl access review status -e prod
      crmctl access review status -e prod --format json
    """
    env = obj.environment(env_name)
    workspace = Workspace(env)
    try:
        events = _events(workspace)
        started = {e.get("review") for e in events if e.get("event") == STARTED}
        done = {e.get("review") for e in events if e.get("event") == COMPLETED}
        age = _age(workspace)
        if review_id is None and not started - done:
            if output_format == "json":
                last = last_completed(events)
                click.echo(json.dumps({"review": None, "lastCompleted": last}, indent=2))
            else:
                click.echo(
                    f"No access review of {env.name} is in progress (start one: crmctl access "
                    f"review start -e {env.name}).\n{age}"
                )
            return 0
        snapshot, state = _status(workspace, review_id)
    finally:
        workspace.close()
    if output_format == "json":
        click.echo(json.dumps(
            {
                "review": state.review,
                "environment": state.environment,
                "snapshot": state.digest,
                "complete": state.complete,
                "problems": state.problems,
                "subjects": [
                    {"subject": s.subject, "attestedBy": [{"reviewer": r, "decision": d} for r, d in s.attested_by], "notCounted": s.not_counted}
                    for s in state.subjects
                ],
            },
            indent=2,
            ensure_ascii=False,
        ))  # fmt: skip
        return 0
    total, left = len(state.subjects), len(state.left)
    lines = [
        f"Access review {state.review} of {env.name} (started {snapshot['startedAt']} by {snapshot['startedBy']}, from {snapshot['source']}):",
        "",
    ]
    lines += [f"  problem: {p}" for p in state.problems]
    for s in state.subjects:
        if s.done:
            who = ", ".join(f"{r} ({d})" for r, d in s.attested_by)
            lines.append(f"  [x] {s.subject}: {who}")
        else:
            lines.append(f"  [ ] {s.subject}")
        lines += [f"        {text}" for text in s.not_counted]
    revoke = [s.subject for s in state.subjects if s.revoke]
    lines.append("")
    if revoke:
        lines.append(f"To revoke (a reviewer said so): {', '.join(revoke)}")
    lines.append(
        f"{total - left} of {total} attested, {left} left."
        + (f" Complete it: crmctl access review complete -e {env.name}" if state.complete else "")
    )
    lines.append(age)
    click.echo("\n".join(lines))
    return 0


@review.command()
@env_option
@click.option("--review", "review_id", metavar="ID", help="The review (default: the one open).")
@click.pass_obj
def complete(obj: CliContext, env_name: str | None, review_id: str | None) -> int:
    """Record the open review as completed in the history, once every subject is attested.

    Refuses (exit 1) while a subject has no attestation that counts. A policy
    with accessReview.requireBeforeApply makes apply refuse changes of access
    when the last completed review is older than accessReview.maxAge.

    \b
    Examples:
      crmctl access review complete -e prod
    """
    env = obj.environment(env_name)
    workspace = Workspace(env)
    try:
        snapshot, state = _status(workspace, review_id)
        if not state.complete:
            reasons = [*state.problems, *(f"{s.subject}: not attested" for s in state.left)]
            raise CrmctlError(
                f"access review {state.review} is not complete; nothing was recorded:\n"
                + "\n".join(f"  - {r}" for r in reasons),
                hint=f"crmctl access review status -e {env.name} shows why each does not count",
            )
        actor = current_actor(env.project_dir)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        revoke = [s.subject for s in state.subjects if s.revoke]
        workspace.history.record_event(
            env.name,
            {
                "event": COMPLETED,
                "review": state.review,
                "snapshot": state.digest,
                "startedAt": snapshot["startedAt"],
                "completedAt": now,
                "subjects": len(state.subjects),
                "attestations": state.used,
                "revoke": revoke,
            },
            actor,
            f"access review {state.review} completed",
        )
    finally:
        workspace.close()
    click.echo(
        f"Access review {state.review} of {env.name} completed: {len(state.subjects)} subjects "
        f"attested by {len(state.used)} signed attestations. Recorded in the history."
    )
    if revoke:
        click.echo(f"To revoke (change the manifests and apply): {', '.join(revoke)}")
    return 0
