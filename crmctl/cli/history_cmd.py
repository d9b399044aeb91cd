"""`crmctl history`, `show`, `diff`, `rollback`, `lock`, `unlock`, `recover`."""

from __future__ import annotations

from pathlib import Path

import click

from crmctl.cli.context import CliContext, env_option, format_option
from crmctl.cli.governance_cmd import approval_gate, reverify
from crmctl.cli.plan_cmd import carry_out, confirm, detail_option, render_plan, report
from crmctl.errors import CrmctlError
from crmctl.executor import resources_from_snapshot
from crmctl.history import HistoryStore, current_actor
from crmctl.history.lock import EnvironmentLock
from crmctl.plan import PlanInputs, make_plan
from crmctl.plan.encode import read_plan, write_plan
from crmctl.render.apply_view import result_lines, snapshot_diff_json, version_json
from crmctl.render.history_view import (
    history_json,
    history_text,
    lock_text,
    snapshot_diff_text,
    version_text,
)
from crmctl.render.plan_view import plan_text
from crmctl.render.style import use_colour
from crmctl.workspace import Workspace, parse_version


def _store(obj: CliContext, env_name: str | None) -> tuple[str, HistoryStore]:
    env = obj.environment(env_name)
    store = HistoryStore(env.history_path, env.history_remote)
    if store.remote is not None:
        store.remote.pull()
    return env.name, store


@click.command()
@env_option
@format_option("text", "json")
@click.pass_obj
def history(obj: CliContext, env_name: str | None, output_format: str) -> None:
    """List the versions of an environment: when, who, status, changes.

    Every apply, rollback and recovery is a version; the oldest is listed
    first.

    \b
    Examples:
      crmctl history -e prod
      crmctl history -e prod --format json
    """
    name, store = _store(obj, env_name)
    versions = store.versions(name)
    if output_format == "json":
        click.echo(history_json(name, versions))
    else:
        click.echo(history_text(name, versions, use_colour(force=obj.colour)))


def _is_plan_file(text: str) -> bool:
    """`show` takes a version (v12) or a saved plan file: a version never names a file."""
    bare = text[1:] if text[:1] in "vV" else text
    return not bare.isdigit() and (Path(text).is_file() or text.endswith(".json"))


@click.command()
@env_option
@format_option("text", "json")
@detail_option
@click.argument("version", metavar="VERSION|PLANFILE")
@click.pass_obj
def show(
    obj: CliContext, env_name: str | None, output_format: str, detail: str, version: str
) -> None:
    """Show one version (its plan, result, approvals and snapshot), or a saved plan file.

    A plan file (from `crmctl plan --out`) is shown as it was saved: `crmctl
    apply PLANFILE` checks it against the manifests and the CRM again.

    \b
    Examples:
      crmctl show -e prod v12
      crmctl show plan.json
      crmctl show -e prod v12 --format json
    """
    colour = use_colour(force=obj.colour)
    if _is_plan_file(version):
        saved = read_plan(Path(version))
        if output_format == "json":
            click.echo(render_plan(saved, "json", colour))
            return
        made = f"made {saved.created_at}" if saved.created_at else "made"
        click.echo(
            f"Saved plan {version} ({made} by crmctl {saved.crmctl_version or 'unknown'}); "
            f"crmctl apply {version} checks it against the CRM again before applying."
        )
        click.echo("")
        click.echo(plan_text(saved, colour, detail))
        return
    number = _version_number(version)
    name, store = _store(obj, env_name)
    record = store.version(name, number)
    if output_format == "json":
        click.echo(version_json(record))
    else:
        click.echo(version_text(record, colour))


def _version_number(text: str) -> int:
    try:
        return parse_version(text)
    except CrmctlError as exc:
        raise CrmctlError(
            exc.message,
            hint="crmctl history lists them; a saved plan is shown with: crmctl show FILE.json",
        ) from None


@click.command()
@env_option
@format_option("text", "json")
@click.argument("old")
@click.argument("new")
@click.pass_obj
def diff(obj: CliContext, env_name: str | None, output_format: str, old: str, new: str) -> None:
    """Show what changed in the CRM's configuration between two versions.

    Compares the live snapshots recorded after each version, field by field.

    \b
    Examples:
      crmctl diff -e prod v10 v12
      crmctl diff -e prod v10 v12 --format json
    """
    from crmctl.dialect import dialect_of

    name, store = _store(obj, env_name)
    dialect = dialect_of(str(obj.environment(env_name).provider.get("type", "")))
    before = resources_from_snapshot(store.version(name, parse_version(old)).after)
    after = resources_from_snapshot(store.version(name, parse_version(new)).after)
    changes = make_plan(
        PlanInputs(name, after, before, managed=set(before), dialect=dialect)
    ).changes
    labels = f"v{parse_version(old)}", f"v{parse_version(new)}"
    if output_format == "json":
        click.echo(snapshot_diff_json(name, *labels, changes))
        return
    click.echo(snapshot_diff_text(name, *labels, changes, use_colour(force=obj.colour)))


@click.command()
@env_option
@click.option(
    "--to", "to_version", required=True, metavar="VERSION", help="The version to return to (v10)."
)
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the plan instead of applying it.",
)
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--no-restore", is_flag=True, help="After a failed change, leave what was applied in place."
)
@click.pass_obj
def rollback(
    obj: CliContext,
    env_name: str | None,
    to_version: str,
    out_file: Path | None,
    auto_approve: bool,
    no_restore: bool,
) -> int:
    """Return the CRM to the configuration a version left.

    Plans towards that version's recorded snapshot (not today's manifests),
    shows the plan like any plan and, once confirmed, applies it. The result
    is recorded as a new version marked "rollback to vN". It needs the same
    approvals as any apply (approve a saved one with `crmctl approve --plan
    FILE`). With --out the plan is saved for `crmctl apply FILE` instead.
    Resources crmctl never managed are left alone.

    \b
    Examples:
      crmctl rollback -e prod --to v10
      crmctl rollback -e prod --to v10 --out rollback.json
    """
    number = parse_version(to_version)
    colour = use_colour(force=obj.colour)
    workspace = Workspace(obj.environment(env_name))
    try:
        with workspace.locked("rollback"):
            plan = workspace.rollback_plan(number)
            reverify(workspace, plan)  # a rollback needs the same approvals as any apply
            click.echo(
                plan_text(plan, colour)
                if plan.changes or plan.diagnostics
                else f"No changes: the CRM already matches v{number}."
            )
            if plan.errors:
                return 1
            if out_file is not None:
                write_plan(plan, out_file)
                click.echo(
                    f"Saved the rollback plan to {out_file}. Apply it with: crmctl apply {out_file}"
                )
                return 0
            if not plan.changes:
                return 0
            approval_gate(workspace, plan, break_glass=False, reason=None)  # refuse before asking
            confirm(auto_approve)
            workspace.history_may_have_moved()  # the gate pulls again after a prompt
            return carry_out(workspace, plan, colour, restore=not no_restore)
    finally:
        workspace.close()


@click.command()
@env_option
@click.option(
    "--finish", is_flag=True, help="Complete the interrupted apply instead of undoing it."
)
@click.option(
    "--from-snapshot",
    is_flag=True,
    help="When the journal is damaged: restore what crmctl manages to the journal's snapshot "
    "from before the apply, or else to the snapshot of the last version.",
)
@click.pass_obj
def recover(obj: CliContext, env_name: str | None, finish: bool, from_snapshot: bool) -> int:
    """Recover from an apply that was interrupted (killed, crashed, lost power).

    First settles the writes the interrupted apply left in flight, so that
    none of them can land later. Then, by default, restores the state from
    before the interrupted apply (as recorded in its journal); with --finish,
    completes its remaining changes instead. If the apply was only recording
    its version when it stopped, recover finishes the recording. Either way
    the result is recorded as a version. When no apply was interrupted it
    says so and exits 0.

    \b
    Examples:
      crmctl recover -e prod
      crmctl recover -e prod --finish
      crmctl recover -e prod --from-snapshot    # the journal cannot be read
    """
    if finish and from_snapshot:
        raise click.UsageError("--finish and --from-snapshot cannot be used together")
    colour = use_colour(force=obj.colour)
    workspace = Workspace(obj.environment(env_name))
    try:
        with workspace.locked("recover"):
            outcome = workspace.recover(finish=finish, from_snapshot=from_snapshot)
            if outcome is None:
                click.echo(f"Nothing to recover: no apply of {workspace.env.name} was interrupted.")
                return 0
            if outcome.recorded_only:
                click.echo(
                    f"The interrupted apply had finished its changes; recorded it as "
                    f"v{outcome.version} of {workspace.env.name} ({outcome.note})."
                )
                return 0
            if outcome.plan.changes:
                click.echo("Result:")
                for line in result_lines(outcome, colour):
                    click.echo(line)
            return report(outcome, colour)
    finally:
        workspace.close()


@click.group()
def lock() -> None:
    """Inspect the apply lock of an environment.

    Only one apply, rollback or recover runs per environment at a time.

    \b
    Example:
      crmctl lock status -e prod
    """


@lock.command("status")
@env_option
@click.pass_obj
def lock_status(obj: CliContext, env_name: str | None) -> None:
    """Show who holds the lock of an environment, if anyone.

    \b
    Example:
      crmctl lock status -e prod
    """
    env = obj.environment(env_name)
    store = HistoryStore(env.history_path, env.history_remote)
    local = EnvironmentLock(store.state_dir / "locks", env.name, "", "").read()
    remote = store.remote.holder(env.name) if store.remote is not None else None
    click.echo(lock_text(env.name, local, remote))


@click.command()
@env_option
@click.option(
    "--force", is_flag=True, help="Required: confirms you checked that the holder is gone."
)
@click.pass_obj
def unlock(obj: CliContext, env_name: str | None, force: bool) -> None:
    """Remove an environment's lock after checking that its holder is gone.

    The forced unlock is recorded in the history.

    \b
    Example:
      crmctl unlock -e prod --force
    """
    if not force:
        raise CrmctlError(
            "unlock removes someone else's lock: check that the holder is gone, then add --force",
            hint="crmctl lock status shows the holder",
        )
    env = obj.environment(env_name)
    store = HistoryStore(env.history_path, env.history_remote)
    held = EnvironmentLock(store.state_dir / "locks", env.name, "", "").force_release()
    remote_held = None
    if store.remote is not None:
        remote_held = store.remote.holder(env.name)
        store.remote.unlock(env.name, force=True)
    holders = [h for h in (held, remote_held) if h is not None]
    if not holders:
        click.echo(f"{env.name} was not locked.")
        return
    actor = current_actor(env.project_dir)
    store.record_event(
        env.name,
        {"event": "forced-unlock", "held-by": [h.__dict__ for h in holders]},
        actor,
        f"lock forced open by {actor.email} (held by {holders[0].describe()})",
    )
    click.echo(
        f"Removed the lock of {env.name} held by {holders[0].describe()}. Recorded in the history."
    )
