"""`crmctl plan` and `crmctl apply`."""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from crmctl.access.widening import access_widening
from crmctl.cli.context import CliContext, cache_option, env_option, format_option
from crmctl.cli.governance_cmd import (
    approval_gate,
    break_glass_flag,
    governed_plan,
    key_option,
    reverify,
)
from crmctl.cli.impact_cmd import check_impact_options, impact_options, measure, wants_impact
from crmctl.errors import ApplyError, CrmctlError, EnvironmentFileError, PlanError
from crmctl.executor import ApplyOutcome, StopRequest
from crmctl.governance.records import BreakGlassRecord
from crmctl.impact import ImpactReport
from crmctl.plan import Plan
from crmctl.plan.encode import plan_to_dict, read_plan, write_plan
from crmctl.providers.base import ChangeFailure
from crmctl.render.apply_view import (
    applied_counts,
    apply_json,
    result_by_kind_lines,
    result_lines,
)
from crmctl.render.plan_view import BIG_PLAN, SHOWN_PER_KIND, plan_markdown, plan_text
from crmctl.render.style import paint, use_colour
from crmctl.workspace import Workspace

_ADDRESS_HELP = "KIND/NAME; glob patterns allowed (PermissionSet/*). Repeatable."


def _check_patterns(patterns: tuple[str, ...], option: str) -> list[str]:
    for pattern in patterns:
        kind, sep, name = pattern.partition("/")
        if not sep or not kind or not name:
            raise click.BadParameter(
                f"{pattern!r} is not KIND/NAME (e.g. PermissionSet/Sales_Rep)", param_hint=option
            )
    return list(patterns)


def selection_options(func: Callable) -> Callable:
    func = click.option(
        "--exclude",
        multiple=True,
        metavar="KIND/NAME",
        help=f"Leave these resources out. {_ADDRESS_HELP}",
    )(func)
    return click.option(
        "--target",
        multiple=True,
        metavar="KIND/NAME",
        help=f"Plan only these resources. {_ADDRESS_HELP}",
    )(func)


def render_plan(
    plan: Plan,
    output_format: str,
    colour: bool,
    detail: str = "auto",
    impact: ImpactReport | None = None,
    classifications: dict[str, str] | None = None,
) -> str:
    if output_format == "html":
        from crmctl.render.plan_html import plan_html

        return plan_html(plan, classifications, impact)
    if output_format == "json":
        data = plan_to_dict(plan)
        if impact is not None:
            data["impact"] = impact.to_dict()
        return json.dumps(data, indent=2, ensure_ascii=False)
    if output_format == "markdown":
        text = plan_markdown(plan)
        if impact is None:
            return text
        from crmctl.render.impact_view import impact_markdown

        return f"{text}\n\n{impact_markdown(impact)}"
    text = plan_text(plan, colour, detail)
    if impact is None:
        return text
    from crmctl.render.impact_view import impact_text

    return f"{text}\n\n{impact_text(impact, colour)}"


detail_option = click.option(
    "--detail",
    type=click.Choice(["auto", "full"]),
    default="auto",
    show_default=True,
    help=f"auto: past {BIG_PLAN} changes, group the text plan by kind and show the first "
    f"{SHOWN_PER_KIND} of each; full: every change.",
)


@click.command()
@env_option
@format_option("text", "markdown", "json", "html")
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the plan to this file for `crmctl apply FILE`.",
)
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes (0 none, 1 error)."
)
@click.option(
    "--validate",
    is_flag=True,
    help="Also have the CRM check the changes without saving them (Salesforce: a check-only "
    "deploy); exit 1 when it refuses any.",
)
@detail_option
@impact_options
@selection_options
@cache_option
@click.pass_obj
def plan(
    obj: CliContext,
    env_name: str | None,
    output_format: str,
    out_file: Path | None,
    detailed_exitcode: bool,
    validate: bool,
    detail: str,
    target: tuple[str, ...],
    exclude: tuple[str, ...],
    no_cache: bool,
    **impact: Any,
) -> int:
    """Show what apply would change in the CRM, field by field.

    Reads the manifests, reads the live CRM and lists every resource to add
    (+), change (~), destroy (-) or replace (±). Live resources that are not
    in the manifests and that crmctl never managed are listed as unmanaged
    and never deleted.

    Exit status: 0 success, 1 error; with --detailed-exitcode, 2 when there
    are changes.

    \b
    Examples:
      crmctl plan
      crmctl plan -e staging --out plan.json
      crmctl plan --format markdown > plan.md
      crmctl plan -e prod --format html > plan.html
      crmctl plan --target 'PermissionSet/Sales_Rep' --exclude 'User/*'
      crmctl plan -e prod --validate
      crmctl plan --impact                     what the changes do to stored records
      crmctl plan -e prod --impact --impact-db .crmctl/prod-records.db

    With --impact, each change that can touch records says what it does to
    the records already stored (docs/impact.md): the environment's own
    sandbox, a sandbox database loaded from a records export (--impact-db),
    or a bounded read of live records (--impact-from-live). Samples are
    record ids; values only with --show-values.
    """
    env = obj.environment(env_name)
    workspace = Workspace(env, use_cache=not no_cache)
    failures = None
    report = None
    check_impact_options(impact, env)
    try:
        result = workspace.plan(
            _check_patterns(target, "--target"), _check_patterns(exclude, "--exclude")
        )
        if wants_impact(impact):
            report = measure(workspace, result, impact)
        governed_plan(workspace, result)
        provider_warnings(workspace, result)
        access_review_warning(workspace, result)
        desired = workspace.desired().resources
        result.diagnostics.extend(access_widening(desired, result.changes))
        classes = {
            r.name.lower(): r.spec["classification"]
            for r in desired.values()
            if r.kind == "CustomField" and r.spec.get("classification")
        }
        if validate and result.changes and not result.errors:
            failures = validate_changes(workspace, result)
    finally:
        workspace.close()
    colour = use_colour(force=obj.colour)
    click.echo(render_plan(result, output_format, colour, detail, report, classes))
    if failures is not None:
        from crmctl.render.validation_view import validation_text

        click.echo(
            validation_text(failures, len(result.changes), colour), err=output_format != "text"
        )
    if result.errors or failures:
        return 1
    if out_file is not None:
        write_plan(result, out_file)
        click.echo(
            f"Saved the plan to {out_file}. Apply exactly this plan with: crmctl apply {out_file}",
            err=output_format != "text",
        )
    return 2 if detailed_exitcode and result.changes else 0


def access_review_warning(workspace: Workspace, plan: Plan) -> None:
    """Say in the plan when apply will refuse for want of a recent access review."""
    from crmctl.governance.access_review import ReviewPolicy, review_warning

    policy = ReviewPolicy.from_section(workspace.env.approvals)
    if policy is None or not policy.required_before_apply or not plan.changes:
        return
    workspace.sync_history()
    events = workspace.history.events(workspace.env.name)
    found = review_warning(policy, [c.kind for c in plan.changes], events, workspace.env.name)
    if found is not None:
        plan.diagnostics.append(found)


def provider_warnings(workspace: Workspace, plan: Plan) -> None:
    """Add what the provider warned about while reading (API limits, unsupported parts)."""
    plan.diagnostics.extend(getattr(workspace.provider, "warnings", ()))


def validate_changes(workspace: Workspace, plan: Plan) -> list[ChangeFailure]:
    """The CRM's own check of the plan's changes, nothing saved (providers with `validate`)."""
    check = getattr(workspace.provider, "validate", None)
    if check is None:
        raise CrmctlError(
            f"the {workspace.provider.type} provider cannot check changes without applying them",
            hint="run crmctl plan without --validate",
        )
    return check(plan.changes)


def confirm(auto_approve: bool) -> None:
    if auto_approve:
        return
    if not sys.stdin.isatty():
        raise CrmctlError(
            "apply needs a confirmation, but there is no terminal to ask on; nothing was applied",
            hint="pass --auto-approve, or apply a saved plan: crmctl plan --out plan.json && crmctl apply plan.json",
        )
    answer = click.prompt(
        "Do you want to apply these changes? Only 'yes' is accepted", default="", show_default=False
    )
    if answer.strip() != "yes":
        raise CrmctlError("apply cancelled; nothing was applied")


def _apply_summary(outcome: ApplyOutcome) -> str:
    counts = applied_counts(outcome.applied)
    return f"{counts['added']} added, {counts['changed']} changed, {counts['destroyed']} destroyed"


@click.command()
@click.argument("plan_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@env_option
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--no-restore",
    is_flag=True,
    help="After a failed change, leave what was applied in place (recorded as 'failed, partial') "
    "instead of restoring the state from before the apply.",
)
@click.option(
    "--break-glass",
    is_flag=True,
    help="Emergency: apply without the missing approvals (break-glass role only, signed with "
    "your SSH key); the history lists the apply until it is reviewed.",
)
@click.option(
    "--reason", metavar="TEXT", help="Why the glass is broken (required with --break-glass)."
)
@key_option
@format_option("text", "json")
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help=f"List every change of the plan and its result, even past {BIG_PLAN} changes.",
)
@selection_options
@cache_option
@click.pass_obj
def apply(
    obj: CliContext,
    plan_file: Path | None,
    env_name: str | None,
    auto_approve: bool,
    no_restore: bool,
    break_glass: bool,
    reason: str | None,
    key_file: Path | None,
    output_format: str,
    verbose: bool,
    target: tuple[str, ...],
    exclude: tuple[str, ...],
    no_cache: bool,
) -> int:
    """Make the CRM match the manifests.

    Without PLAN_FILE: plans, shows the plan and asks for 'yes' (use
    --auto-approve where nobody can answer). With PLAN_FILE (from `crmctl
    plan --out`): applies exactly that plan. The plan is computed again from
    the manifests and the live CRM (a rollback plan: from the version's
    snapshot) and the file is refused unless its changes are identical, or
    when the manifests or any resource it touches changed since it was made.
    Protection, lint and approvals are checked again.

    Either way the plan is shown before anything is changed.

    Changes run in dependency order under the environment's lock. At the
    first failure apply stops and, unless --no-restore, undoes what it had
    already changed and checks the CRM is back as it was. Every apply is
    recorded as a numbered version in the history (.crmctl/history by
    default). Past 200 changes the plan is grouped by kind and the result
    is summed up per kind (-v lists every change).

    With --format json nothing but one JSON document (the plan, the result
    per change, the version) is printed on stdout; it needs --auto-approve
    or PLAN_FILE.

    \b
    Examples:
      crmctl apply
      crmctl apply --auto-approve -e staging
      crmctl plan --out plan.json && crmctl apply plan.json
      crmctl apply plan.json --format json > result.json
    """
    colour = use_colour(force=obj.colour)
    as_json = output_format == "json"
    if plan_file is not None and (target or exclude):
        raise click.UsageError(
            "--target and --exclude belong to the plan; they cannot be used with PLAN_FILE"
        )
    if as_json and plan_file is None and not auto_approve:
        raise click.UsageError(
            "--format json cannot ask for confirmation: add --auto-approve, or apply a saved "
            "plan (crmctl plan --out plan.json && crmctl apply plan.json --format json)"
        )
    detail = "full" if verbose else "auto"

    def show(plan: Plan) -> None:
        if not as_json:
            click.echo(plan_text(plan, colour, detail))

    saved = read_plan(plan_file) if plan_file is not None else None
    with _naming(plan_file):
        env = obj.environment(env_name or (saved.environment if saved else None))
    workspace = Workspace(env, use_cache=not no_cache)
    try:
        with workspace.locked("apply"):
            if saved is not None:
                # Never the file's changes: the plan recomputed now, refused unless identical.
                with _naming(plan_file):
                    bound = workspace.bind_saved(saved)
                if bound.rollback_to is None:
                    governed_plan(workspace, bound)  # lint and approvals, as for a fresh plan
                else:
                    reverify(workspace, bound)  # as `crmctl rollback` does
                if bound.errors:
                    raise PlanError(
                        "the plan has errors and cannot be applied; nothing was applied",
                        diagnostics=bound.errors,
                    )
                show(bound)
                record = approval_gate(workspace, bound, break_glass, reason, key_file)
                with break_glass_flag(workspace, record, reason):
                    return carry_out(
                        workspace,
                        bound,
                        colour,
                        restore=not no_restore,
                        break_glass=record,
                        output_format=output_format,
                        verbose=verbose,
                    )
            fresh = workspace.plan(
                _check_patterns(target, "--target"), _check_patterns(exclude, "--exclude")
            )
            governed_plan(workspace, fresh)
            provider_warnings(workspace, fresh)
            if as_json and (fresh.errors or not fresh.changes and fresh.policy_change is None):
                click.echo(render_plan(fresh, "json", colour))
            elif not as_json:
                click.echo(plan_text(fresh, colour, detail))
            if fresh.errors:
                return 1
            if not fresh.changes and fresh.policy_change is None:
                return 0
            record = approval_gate(workspace, fresh, break_glass, reason, key_file)
            confirm(auto_approve)
            workspace.history_may_have_moved()  # the gate pulls again after a prompt
            with break_glass_flag(workspace, record, reason):
                return carry_out(
                    workspace,
                    fresh,
                    colour,
                    restore=not no_restore,
                    break_glass=record,
                    output_format=output_format,
                    verbose=verbose,
                )
    finally:
        workspace.close()


@contextlib.contextmanager
def _naming(plan_file: Path | None) -> Iterator[None]:
    """Say which plan file a refusal is about (the environment it names, its staleness)."""
    try:
        yield
    except (PlanError, EnvironmentFileError) as exc:
        if plan_file is None:
            raise
        raise type(exc)(
            f"plan file {plan_file}: {exc.message}",
            hint=exc.hint,
            location=exc.location,
            diagnostics=exc.diagnostics,
        ) from None


def carry_out(
    workspace: Workspace,
    plan: Plan,
    colour: bool,
    restore: bool = True,
    break_glass: BreakGlassRecord | None = None,
    output_format: str = "text",
    verbose: bool = False,
) -> int:
    """Apply a plan with a progress bar, print the result (per change, or per kind past
    BIG_PLAN changes unless `verbose`), raise on failure."""
    as_json = output_format == "json"
    if not plan.changes:
        outcome = workspace.apply(plan, break_glass=break_glass)
        if as_json:
            click.echo(apply_json(outcome, plan.environment))
        elif outcome.version:
            click.echo(
                f"Governance settings applied: the policy owners' approval is verified. "
                f"Recorded as v{outcome.version} of {plan.environment}."
            )
        else:
            click.echo("No changes. The CRM matches the manifests.")
        return 0
    show_bar = sys.stderr.isatty() and len(plan.changes) > 50
    with (
        click.progressbar(length=len(plan.changes), label="Applying", file=sys.stderr)
        if show_bar
        else _Null() as bar,
        interrupts(workspace.env.name) as stop,
    ):
        outcome = workspace.apply(
            plan,
            progress=lambda done, total: bar.update(done - bar.pos) if show_bar else None,
            restore_on_failure=restore,
            stop=stop,
            break_glass=break_glass,
        )
    if as_json:
        click.echo(apply_json(outcome, plan.environment))
        return 0 if outcome.ok else report(outcome, colour)
    click.echo("")
    if verbose or len(plan.changes) <= BIG_PLAN:
        click.echo("Result:")
        click.echo("\n".join(result_lines(outcome, colour)))
    else:
        click.echo(f"Result, by kind ({len(plan.changes)} changes; -v lists each):")
        click.echo("\n".join(result_by_kind_lines(outcome, colour)))
    return report(outcome, colour)


@contextlib.contextmanager
def interrupts(env: str) -> Iterator[StopRequest]:
    """Ctrl-C during an apply: the first stops it after the chunk in flight (then it restores and
    reports as after any failure); a second stops at once and leaves the journal for recover."""
    stop = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def on_interrupt(signum: int, frame: object) -> None:
        if stop.requested:
            # Not a CrmctlError: nothing on the way up may treat it as a failed request.
            raise KeyboardInterrupt(
                "Error: apply stopped at once by a second Ctrl-C; the journal is kept and the "
                "CRM may be half-changed\n"
                f"hint: run crmctl recover -e {env} to restore the state from before it "
                "(or --finish to complete it)"
            )
        stop.set()
        click.echo(
            "\nInterrupted: finishing the changes in flight, then undoing the apply "
            "(press Ctrl-C again to stop at once)...",
            err=True,
        )

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def report(outcome: ApplyOutcome, colour: bool) -> int:
    """The closing line of an apply (or rollback, or recover); raises ApplyError after a failure."""
    plan = outcome.plan
    version = f"v{outcome.version}" if outcome.version else "no version"
    what = f"rollback to {plan.rollback_to}" if plan.rollback_to else "apply"
    if outcome.ok:
        click.echo(
            paint(
                f"{what.capitalize()} complete: {_apply_summary(outcome)}. Recorded as {version} of {plan.environment}"
                + (f" ({outcome.note})." if outcome.note else "."),
                "green",
                colour,
                bold=True,
            )
        )
        return 0
    if outcome.failed is not None:
        head = f"{what} stopped at {outcome.failed.address}: {outcome.error}\n"
    else:
        head = f"{what} interrupted (Ctrl-C) before {len(outcome.not_applied)} change(s)\n"
    not_applied = len(outcome.not_applied) + (outcome.failed is not None)
    applied = f"{len(outcome.applied)} change(s) applied ({_apply_summary(outcome)}), {not_applied} not applied."
    status = outcome.status
    restored = outcome.restore
    if restored is None:
        raise ApplyError(
            f"{head}{applied} Recorded as {version} of {plan.environment} ({status}).",
            hint="fix the cause and run crmctl plan again: it shows what is left to do",
        )
    if restored.complete:
        raise ApplyError(
            f"{head}{applied} They were undone ({len(restored.changes)} change(s)); the CRM is back as it was "
            f"before the {what} (checked). Recorded as {version} of {plan.environment} ({status}).",
            hint="fix the cause and apply again",
        )
    detail = f"restoring failed: {restored.error}. " if restored.error else ""
    if restored.mismatched:
        detail += f"Still different from before the {what}: {', '.join(restored.mismatched)}. "
    raise ApplyError(
        f"{head}{applied} {detail}Recorded as {version} of {plan.environment} ({status}).",
        hint="inspect with crmctl plan; crmctl rollback --to an earlier version returns to a recorded state",
    )


class _Null:
    pos = 0

    def __enter__(self) -> _Null:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int) -> None:
        self.pos += n
