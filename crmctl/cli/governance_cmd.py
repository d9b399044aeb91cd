"""`crmctl approve`, `crmctl approvals`, `crmctl lint`, and the approval gate of `plan`/`apply`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import click

from crmctl.cli.context import CliContext, env_option, format_option
from crmctl.config.loader import load_desired_state
from crmctl.errors import ApprovalError, ManifestError, Severity
from crmctl.governance.breakglass import check_break_glass
from crmctl.governance.lint import LintSettings, run_lint
from crmctl.governance.policy import Policy
from crmctl.governance.records import (
    ApprovedChange,
    MissingApproval,
    read_break_glass,
    write_approval,
    write_break_glass,
)
from crmctl.governance.verify import Governance, govern, missing_approvals, require_approvals
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
]


def _actor(workspace: Workspace) -> str:
    return current_actor(workspace.env.project_dir).email


def governed_plan(workspace: Workspace, plan: Plan) -> Governance:
    """Add the lint findings to a fresh plan and note every change's approvals on it."""
    env = workspace.env
    desired = workspace.desired()
    plan.diagnostics.extend(
        run_lint(desired.resources.values(), LintSettings.from_section(env.data.get("lint")))
    )
    return reverify(workspace, plan)


def reverify(workspace: Workspace, plan: Plan) -> Governance:
    """Verify a plan's approvals again (a saved plan's are never trusted from the file)."""
    used = workspace.history.approvals_used(workspace.env.name)
    gov = govern(workspace.env, plan, workspace.desired().resources, _actor(workspace), used)
    known = set(plan.diagnostics)
    plan.diagnostics.extend(d for d in gov.diagnostics if d not in known)
    return gov


def approval_gate(
    workspace: Workspace, plan: Plan, break_glass: bool, reason: str | None
) -> list[MissingApproval] | None:
    """Refuse a plan whose approvals are incomplete, unless glass is broken.

    Returns the approvals a break-glass apply goes without (None for a normal apply).
    """
    missing = missing_approvals(plan)
    if not break_glass:
        require_approvals(plan)
        return None
    policy = Policy.from_section(workspace.env.name, workspace.env.approvals)
    check_break_glass(policy, _actor(workspace), reason)
    if not missing:
        click.echo(
            "Every required approval is present; --break-glass is not needed and is ignored."
        )
        return None
    click.echo(
        f"Breaking the glass: applying without {len(missing)} approval{'s' * (len(missing) != 1)}; "
        "the apply will be flagged for review."
    )
    return missing


@contextlib.contextmanager
def break_glass_flag(
    workspace: Workspace, plan: Plan, missing: list[MissingApproval] | None, reason: str | None
) -> Iterator[None]:
    """Around an apply: when glass was broken, write its flag afterwards, whatever happened."""
    if not missing:
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
        policy = Policy.from_section(env.name, env.approvals)
        path = write_break_glass(
            env.project_dir,
            env.name,
            _actor(workspace),
            policy.break_glass.role or "",
            reason or "",
            policy.break_glass.review_within_days,
            [ApprovedChange.of(c) for c in plan.changes],
            missing,
            after if after > before else None,
            status,
        )
        rel = path.relative_to(env.project_dir).as_posix()
        click.echo(
            f"Break-glass apply flagged for review in {rel}; it is due within "
            f"{policy.break_glass.review_within_days} days. Commit it now:\n"
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


def _review(
    obj: CliContext, env_name: str | None, role: str, review_id: str, ticket, comment
) -> int:
    env = obj.environment(env_name)
    actor = current_actor(env.project_dir).email
    policy = Policy.from_section(env.name, env.approvals)
    flags, _ = read_break_glass(env.project_dir, env.name)
    flag = next((f for f in flags if f.id == review_id), None)
    if flag is None:
        raise ApprovalError(
            f"no break-glass apply {review_id} in {env.name}",
            hint=f"crmctl approvals -e {env.name} lists those awaiting review",
        )
    if role not in flag.missing_roles:
        raise ApprovalError(
            f"{review_id} did not go without a {role} approval; it needs: {', '.join(flag.missing_roles)}"
        )
    if not policy.holds(actor, role):
        raise ApprovalError(f"{actor} does not hold the role {role} in {env.name}'s policy")
    path = write_approval(
        env.project_dir, env.name, actor, role, [], ticket, comment, reviews=review_id
    )
    rel = path.relative_to(env.project_dir).as_posix()
    click.echo(f"Recorded {actor}'s review of {review_id} as {role} in {rel}.")
    click.echo(
        f'It counts once you commit it yourself:\n  git add {rel} && git commit -m "Review {review_id} as {role}"'
    )
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
    addresses: tuple[str, ...],
) -> int:
    """Approve planned changes in a governance role: writes a record for you to commit.

    Plans against the live CRM, then writes one YAML record under
    approvals/<env>/ naming you ($CRMCTL_ACTOR, else your git identity), the
    role, the ticket and, for each change, the digests of its desired and
    live spec. Without KIND/NAME it approves every change that needs ROLE.
    The approval counts once you commit the record yourself; any later edit
    of an approved resource makes it stale.

    \b
    Examples:
      crmctl approve -e prod --role security-officer --ticket CHG-1234
      crmctl approve -e prod --role data-steward 'CustomField/Contact.*'
      git add approvals/ && git commit -m "Approve CHG-1234"
      crmctl approve -e prod --role security-officer --review 20250314T101500Z-priya.shah
      crmctl approve -e prod --role crm-admin --plan rollback.json
    """
    if review_id:
        if addresses:
            raise click.UsageError("--review approves a break-glass apply; it takes no KIND/NAME")
        return _review(obj, env_name, role, review_id, ticket, comment)
    saved = read_plan(plan_file) if plan_file is not None else None
    env = obj.environment(env_name or (saved.environment if saved else None))
    workspace = Workspace(env)
    try:
        if saved is not None:
            plan = workspace.bind_saved(saved)  # approve what would be applied, not the file
            reverify(workspace, plan)
        else:
            plan = workspace.plan()
            governed_plan(workspace, plan)
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
    mine = [
        c
        for c in chosen
        if policy.separation_of_duties and (c.approvals.author or "").lower() == actor.lower()
    ]
    for change in mine:
        click.echo(
            f"Skipped {change.address}: you authored it, and {env.name} separates duties.", err=True
        )
    chosen = [c for c in chosen if c not in mine]
    if not chosen:
        raise ApprovalError(f"nothing left to approve: you authored every change that needs {role}")
    path = write_approval(
        env.project_dir,
        env.name,
        actor,
        role,
        [ApprovedChange.of(c) for c in chosen],
        ticket,
        comment,
    )
    rel = path.relative_to(env.project_dir).as_posix()
    n = len(chosen)
    click.echo(f"Recorded {actor}'s approval as {role} of {n} change{'s' * (n != 1)} in {rel}:")
    for change in chosen:
        click.echo(f"  {change.action.value} {change.address}")
    what = f"Approve {ticket} as {role}" if ticket else f"Approve as {role}"
    click.echo(f'It counts once you commit it yourself:\n  git add {rel} && git commit -m "{what}"')
    return 0


def _owner_holders(change: Change, role: str) -> list[str]:
    """Holders of `role` in the policy before a policy change (its before section)."""
    return list(((change.before or {}).get("roles") or {}).get(role, []))


@click.command()
@env_option
@format_option("text", "json")
@click.pass_obj
def approvals(obj: CliContext, env_name: str | None, output_format: str) -> int:
    """Who approved what, what is still missing, and break-glass applies awaiting review.

    Plans against the live CRM and verifies every approval record under
    approvals/<env>/ against git, exactly as apply will.

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
