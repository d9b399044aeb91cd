"""`crmctl approve`, `crmctl approvals`, `crmctl lint`, and how `plan`/`apply` show approvals.

The approval gate itself is in the core (`crmctl.governance.gate`, called by
`Workspace.apply`); these helpers only resolve options, call it and render.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import click

from crmctl.cli.context import CliContext, env_option, format_option
from crmctl.config.environment import Environment
from crmctl.config.loader import load_desired_state
from crmctl.errors import ApprovalError, ManifestError, Severity
from crmctl.governance.gate import approvable, break_glass_request, review
from crmctl.governance.gitverify import signing_key_from_git
from crmctl.governance.lint import LintSettings, run_lint
from crmctl.governance.policy import Policy
from crmctl.governance.records import (
    ApprovedChange,
    BreakGlassRecord,
    write_approval,
    write_break_glass,
)
from crmctl.governance.sshsig import SIGNERS_FILE, key_problem, sign
from crmctl.governance.verify import Governance, read_signers, require_approvals
from crmctl.history import current_actor
from crmctl.plan import Change, Plan, matches_any
from crmctl.plan.encode import read_plan
from crmctl.render.diagnostics import diagnostic_lines
from crmctl.render.governance_view import (
    approvals_report_json,
    approvals_report_text,
    lint_report_json,
    lint_report_text,
)
from crmctl.render.style import use_colour
from crmctl.workspace import Workspace

__all__ = [
    "approve",
    "approvals",
    "lint",
    "governed_plan",
    "reverify",
    "approval_gate",
    "break_glass_flag",
    "key_option",
]

key_option = click.option(
    "--key",
    "key_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Your SSH private key (or its .pub, with the key in ssh-agent) to sign with. "
    "Default: $CRMCTL_SIGNING_KEY, else git's user.signingkey when gpg.format is ssh.",
)


def _actor(workspace: Workspace) -> str:
    """Who the user says they are: only what their signature proves counts."""
    return current_actor(workspace.env.project_dir).email


def signing_key(project_dir: Path, key_file: Path | None) -> Path | None:
    """--key, else $CRMCTL_SIGNING_KEY, else git's ssh signing key, else None."""
    if key_file is not None:
        return key_file
    if os.environ.get("CRMCTL_SIGNING_KEY"):
        return Path(os.path.expanduser(os.environ["CRMCTL_SIGNING_KEY"]))
    return signing_key_from_git(project_dir)


def _require_key(project_dir: Path, key_file: Path | None, identity: str) -> Path:
    key = signing_key(project_dir, key_file)
    if key is None:
        raise ApprovalError(
            "approvals are signed with your SSH key, and no key was given; nothing was recorded",
            hint="pass --key ~/.ssh/id_ed25519, set $CRMCTL_SIGNING_KEY, or configure git: "
            "git config gpg.format ssh && git config user.signingkey ~/.ssh/id_ed25519",
        )
    problem = key_problem(key, read_signers(project_dir) or "", identity, SIGNERS_FILE)
    if problem:
        raise ApprovalError(
            f"signing as {identity} with {key} would not count: "
            f"{problem.replace('it is signed', 'it would be signed')}; nothing was recorded",
            hint=f"{SIGNERS_FILE} lists each approver's public key (EMAIL ssh-ed25519 AAAA...); "
            "adding yours is a governance change the policy owners approve",
        )
    return key


def governed_plan(workspace: Workspace, plan: Plan) -> Governance:
    """Add the lint findings to a fresh plan and note every change's approvals on it."""
    env = workspace.env
    desired = workspace.desired()
    plan.diagnostics.extend(
        run_lint(desired.resources.values(), LintSettings.from_section(env.data.get("lint")))
    )
    return reverify(workspace, plan)


def reverify(workspace: Workspace, plan: Plan) -> Governance:
    """Note a plan's approvals for display (apply verifies them again itself)."""
    gov = review(
        workspace.env,
        plan,
        workspace.desired().resources,
        workspace.history,
        workspace.governance_impacts(plan),
        workspace.labels_in_effect(),
    )
    known = set(plan.diagnostics)
    plan.diagnostics.extend(d for d in gov.diagnostics if d not in known)
    return gov


def approval_gate(
    workspace: Workspace,
    plan: Plan,
    break_glass: bool,
    reason: str | None,
    key_file: Path | None = None,
) -> BreakGlassRecord | None:
    """Refuse early (before asking for confirmation) a plan whose approvals are incomplete;
    with --break-glass, sign the break-glass record the apply will be checked against."""
    if not break_glass:
        require_approvals(plan)
        return None
    env = workspace.env
    actor = _actor(workspace)
    record = break_glass_request(env, plan, actor, reason)
    if record is None:
        click.echo(
            "Every required approval is present; --break-glass is not needed and is ignored."
        )
        return None
    key = _require_key(env.project_dir, key_file, actor)
    signed = replace(record, signature=sign(record.payload, key))
    n = len(record.missing)
    click.echo(
        f"Breaking the glass: applying without {n} approval{'s' * (n != 1)}; "
        "the apply will be recorded for review."
    )
    return signed


@contextlib.contextmanager
def break_glass_flag(
    workspace: Workspace, record: BreakGlassRecord | None, reason: str | None
) -> Iterator[None]:
    """After a break-glass apply, leave a copy of its record in the project for the pull request."""
    if record is None:
        yield
        return
    env = workspace.env
    before = workspace.history.latest_version(env.name)
    status = "failed"
    try:
        yield
        status = "applied"
    finally:
        after = workspace.history.latest_version(env.name)
        if after > before:
            path = write_break_glass(env.project_dir, record, after, status)
            rel = path.relative_to(env.project_dir).as_posix()
            days = Policy.from_section(env.name, env.approvals).break_glass.review_within_days
            click.echo(
                f"Break-glass apply v{after} is recorded in the history and listed by crmctl "
                f"approvals until it is reviewed (due within {days} days). A copy is in {rel}:\n"
                f'  git add {rel} && git commit -m "Break glass in {env.name}: {reason}"'
            )


def _selected(plan: Plan, role: str, patterns: tuple[str, ...]) -> list[Change]:
    candidates = [*plan.changes, *([plan.policy_change] if plan.policy_change else [])]
    if not patterns:
        return [c for c in candidates if c.approvals and role in c.approvals.required]
    chosen = []
    for pattern in patterns:
        found = [c for c in candidates if matches_any(c.address, [pattern])]
        if not found:
            raise ApprovalError(
                f"{pattern} is not in the plan of {plan.environment}; nothing was recorded",
                hint=f"crmctl approvals -e {plan.environment} lists the changes that need approvals",
            )
        for change in found:
            if not change.approvals or role not in change.approvals.required:
                raise ApprovalError(
                    f"{change.address} does not need a {role} approval; nothing was recorded",
                    hint=f"it needs: {', '.join(change.approvals.required) if change.approvals else 'no approval'}",
                )
            if change not in chosen:
                chosen.append(change)
    return chosen


def _signer(env_dir: Path, policy: Policy, key_file: Path | None, actor: str):
    """payload -> signature with the approver's key; None where unsigned records are allowed
    and no key is configured."""
    if policy.allow_unsigned_approvals and signing_key(env_dir, key_file) is None:
        return None
    key = _require_key(env_dir, key_file, actor)
    return lambda payload: sign(payload, key)


def _how_it_counts(rel: str, signed: bool, what: str) -> str:
    if signed:
        return (
            f"It is signed with your key and counts wherever it is read; commit it to the "
            f'pull request:\n  git add {rel} && git commit -m "{what}"'
        )
    return f'It is not signed: it counts once you commit it yourself:\n  git add {rel} && git commit -m "{what}"'


def _known_role(env: Environment, role: str) -> None:
    """Refuse a role the environment's policy does not name, before planning anything."""
    hint = Policy.from_section(env.name, env.approvals).unknown_role(role)
    if hint is not None:
        raise ApprovalError(
            f"{role!r} is not a role in {env.name}'s policy; nothing was recorded", hint=hint
        )


def _review(
    obj: CliContext,
    env_name: str | None,
    role: str,
    review_id: str,
    ticket: str | None,
    comment: str | None,
    key_file: Path | None,
) -> int:
    env = obj.environment(env_name)
    _known_role(env, role)
    workspace = Workspace(env)
    try:
        workspace.sync_history()
        flags = {d.get("id"): d for d, _, _ in workspace.history.break_glass_applies(env.name)}
    finally:
        workspace.close()
    actor = current_actor(env.project_dir).email
    policy = Policy.from_section(env.name, env.approvals)
    flag = flags.get(review_id)
    if flag is None:
        raise ApprovalError(
            f"no break-glass apply {review_id} in the history of {env.name}",
            hint=f"crmctl approvals -e {env.name} lists those awaiting review",
        )
    roles = list(dict.fromkeys(m["role"] for m in flag.get("missing") or []))
    if role not in roles:
        raise ApprovalError(
            f"{review_id} did not go without a {role} approval; it needs: {', '.join(roles)}"
        )
    if not policy.holds(actor, role):
        raise ApprovalError(f"{actor} does not hold the role {role} in {env.name}'s policy")
    signer = _signer(env.project_dir, policy, key_file, actor)
    path = write_approval(
        env.project_dir, env.name, actor, role, [], ticket, comment, reviews=review_id, sign=signer
    )
    rel = path.relative_to(env.project_dir).as_posix()
    click.echo(f"Recorded {actor}'s review of {review_id} as {role} in {rel}.")
    click.echo(_how_it_counts(rel, signer is not None, f"Review {review_id} as {role}"))
    return 0


@click.command()
@env_option
@click.option("--role", required=True, metavar="ROLE", help="The governance role you approve as.")
@click.option("--ticket", metavar="ID", help="The change ticket this approval belongs to.")
@click.option("--comment", metavar="TEXT", help="A note for the record.")
@click.option(
    "--review", "review_id", metavar="ID", help="Review a break-glass apply (its id) instead."
)
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Approve the changes of this saved plan (e.g. a rollback plan) instead of a fresh plan.",
)
@key_option
@click.argument("addresses", nargs=-1, metavar="[KIND/NAME]...")
@click.pass_obj
def approve(
    obj: CliContext,
    env_name: str | None,
    role: str,
    ticket: str | None,
    comment: str | None,
    review_id: str | None,
    plan_file: Path | None,
    key_file: Path | None,
    addresses: tuple[str, ...],
) -> int:
    """Approve planned changes in a governance role: writes a record signed with your SSH key.

    Plans against the live CRM, then writes one YAML record under
    approvals/<env>/ naming you ($CRMCTL_ACTOR, else your git email), the
    role, the ticket and, for each change, the digests of its desired and
    live spec, and signs it with your SSH key (ssh-keygen -Y sign, namespace
    crmctl-approval). It counts when approvals/allowed_signers lists that key
    for you and you hold ROLE; a squash merge, rebase or cherry-pick changes
    nothing, and any edit of the record or of an approved resource voids it.
    Without KIND/NAME it approves every change that needs ROLE and that you
    did not ask for yourself.

    \b
    Examples:
      crmctl approve -e prod --role security-officer --ticket CHG-1234 --key ~/.ssh/id_ed25519
      crmctl approve -e prod --role data-steward 'CustomField/Contact.*'
      git add approvals/ && git commit -m "Approve CHG-1234"
      crmctl approve -e prod --role security-officer --review 20250314T101500Z-priya.shah
      crmctl approve -e prod --role crm-admin --plan rollback.json
    """
    if review_id:
        if addresses:
            raise click.UsageError("--review approves a break-glass apply; it takes no KIND/NAME")
        return _review(obj, env_name, role, review_id, ticket, comment, key_file)
    saved = read_plan(plan_file) if plan_file is not None else None
    env = obj.environment(env_name or (saved.environment if saved else None))
    workspace = Workspace(env)
    try:
        if saved is None or saved.rollback_to is None:
            workspace.desired()  # the manifests' own problems come first
        _known_role(env, role)  # then a mistyped role, before the CRM is read
        if saved is not None:
            plan = workspace.bind_saved(saved)  # approve what would be applied, not the file
            gov = reverify(workspace, plan)
        else:
            plan = workspace.plan()
            gov = governed_plan(workspace, plan)
    finally:
        workspace.close()
    actor = _actor(workspace)
    policy = Policy.from_section(env.name, env.approvals)
    chosen = _selected(plan, role, addresses)
    if not chosen:
        raise ApprovalError(
            f"no planned change in {env.name} needs a {role} approval; nothing was recorded"
        )
    holds = policy.holds(actor, role) or any(
        c is plan.policy_change and actor.lower() in map(str.lower, _owner_holders(c, role))
        for c in chosen
    )
    if not holds:
        raise ApprovalError(
            f"{actor} does not hold the role {role} in {env.name}'s policy; nothing was recorded",
            hint=f"holders of {role}: {', '.join(policy.holders(role)) or 'none'}",
        )
    chosen, skipped = approvable(gov, plan, chosen, actor)
    for change, why in skipped:
        click.echo(f"Skipped {change.address}: {why}.", err=True)
    if not chosen:
        raise ApprovalError(
            f"nothing left to approve: separation of duties keeps you from every change that needs {role}"
        )
    signer = _signer(env.project_dir, policy, key_file, actor)
    path = write_approval(
        env.project_dir,
        env.name,
        actor,
        role,
        [ApprovedChange.of(c) for c in chosen],
        ticket,
        comment,
        sign=signer,
    )
    rel = path.relative_to(env.project_dir).as_posix()
    n = len(chosen)
    click.echo(f"Recorded {actor}'s approval as {role} of {n} change{'s' * (n != 1)} in {rel}:")
    for change in chosen:
        click.echo(f"  {change.action.value} {change.address}")
    what = f"Approve {ticket} as {role}" if ticket else f"Approve as {role}"
    click.echo(_how_it_counts(rel, signer is not None, what))
    return 0


def _owner_holders(change: Change, role: str) -> list[str]:
    """Holders of `role` in the policy as last applied (the governance change's before)."""
    approvals = (change.before or {}).get("approvals") or (change.after or {}).get("approvals")
    return list(((approvals or {}).get("roles") or {}).get(role, []))


@click.command()
@env_option
@format_option("text", "json")
@click.pass_obj
def approvals(obj: CliContext, env_name: str | None, output_format: str) -> int:
    """Who approved what, what is still missing, and break-glass applies awaiting review.

    Plans against the live CRM and verifies every approval record under
    approvals/<env>/ (its signature, the role, who asked for each change)
    exactly as apply will. Break-glass applies come from the history: each is
    listed until every role it went without has reviewed it.

    \b
    Examples:
      crmctl approvals -e prod
      crmctl approvals -e prod --format json
    """
    env = obj.environment(env_name)
    workspace = Workspace(env)
    try:
        plan = workspace.plan()
        gov = reverify(workspace, plan)
    finally:
        workspace.close()
    colour = use_colour(force=obj.colour)
    if output_format == "json":
        click.echo(approvals_report_json(plan, gov.break_glass()))
        return 0
    for diagnostic in gov.diagnostics:
        for line in diagnostic_lines(diagnostic, colour):
            click.echo(line, err=True)
    click.echo(approvals_report_text(plan, gov.break_glass(), colour))
    return 0


@click.command()
@env_option
@format_option("text", "json")
@click.pass_obj
def lint(obj: CliContext, env_name: str | None, output_format: str) -> int:
    """Check the manifests against the governance rules.

    Every resource has an owner; PII and Sensitive fields have a description
    and a retention policy on their object; permission sets granting a
    powerful system permission (ModifyAllData, ViewAllData,
    CustomizeApplication, ManageUsers, AuthorApex...) or modifyAll say why;
    validation rules have a real error message; active users have a role and
    at most lint.maxPermissionSetsPerUser permission sets; external
    permission sets read no PII. The environment's `lint:` section sets each rule's severity
    (error by default, or warning, or off). Plans run the same rules.

    Exit status: 0 when no finding is an error, 1 otherwise.

    \b
    Examples:
      crmctl lint -e prod
      crmctl lint --format json
    """
    env = obj.environment(env_name)
    state = load_desired_state(env)
    if state.errors:
        n = len(state.errors)
        raise ManifestError(
            f"the manifests have {n} problem{'s' * (n != 1)}; nothing was linted",
            diagnostics=state.errors,
            hint="fix them and run again (crmctl validate shows the same list)",
        )
    findings = run_lint(state.resources.values(), LintSettings.from_section(env.data.get("lint")))
    if output_format == "json":
        click.echo(lint_report_json(findings, len(state.resources), env.name))
    else:
        click.echo(lint_report_text(findings, len(state.resources), use_colour(force=obj.colour)))
    return 1 if any(d.severity is Severity.ERROR for d in findings) else 0
