"""`crmctl sandbox connected-app` and `crmctl sandbox api-limit`: the sandbox's Salesforce API."""

from __future__ import annotations

import os
from pathlib import Path

import click

from crmctl.cli.context import CliContext
from crmctl.cli.sandbox_cmd import _db_path, db_option
from crmctl.errors import CrmctlError

__all__ = ["connected_app", "api_limit"]


def _open(obj: CliContext, db: Path | None):
    from crmctl.sandbox.store import SandboxStore

    return SandboxStore.open(_db_path(obj, db), create=False)


@click.group("connected-app")
def connected_app() -> None:
    """Connected apps of the sandbox's Salesforce API (OAuth logins).

    \b
    Examples:
      crmctl sandbox connected-app add --name crmctl --client-id MY_KEY --cert server.crt
      crmctl sandbox connected-app list
    """


@connected_app.command("add")
@db_option
@click.option("--name", required=True, help="The app's name.")
@click.option("--client-id", required=True, help="Its consumer key (the JWT's iss, client_id).")
@click.option(
    "--cert",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="PEM certificate or public key that verifies JWT bearer assertions.",
)
@click.option(
    "--secret-env",
    metavar="VAR",
    help="Environment variable holding the consumer secret (client-credentials flow).",
)
@click.option("--run-as", metavar="USERNAME", help="The user the client-credentials flow runs as.")
@click.pass_obj
def add(
    obj: CliContext,
    db: Path | None,
    name: str,
    client_id: str,
    cert: Path | None,
    secret_env: str | None,
    run_as: str | None,
) -> int:
    """Register a connected app (or replace the one of the same name).

    With --cert the JWT bearer flow is accepted for any active sandbox user;
    with --secret-env and --run-as the client-credentials flow is accepted and
    runs as that user. The secret is read from the variable, never from the
    command line, and only its hash is stored.

    \b
    Examples:
      crmctl sandbox connected-app add --name crmctl --client-id MY_KEY --cert server.crt
      crmctl sandbox connected-app add --name ci --client-id CI_KEY --secret-env CI_SECRET --run-as admin@sandbox.local
    """
    from crmctl.sandbox.salesforce import state

    secret = None
    if secret_env:
        secret = os.environ.get(secret_env)
        if not secret:
            raise CrmctlError(f"environment variable {secret_env} is not set")
    store = _open(obj, db)
    try:
        app = state.add_connected_app(
            store,
            name,
            client_id,
            certificate=cert.read_text(encoding="utf-8") if cert else None,
            client_secret=secret,
            run_as=run_as,
        )
    finally:
        store.close()
    flows = [
        f for f, on in (("jwt", app.certificate), ("client_credentials", app.secret_hash)) if on
    ]
    click.echo(f"Connected app {name} ({client_id}) accepts: {', '.join(flows)}.")
    return 0


@connected_app.command("list")
@db_option
@click.pass_obj
def list_apps(obj: CliContext, db: Path | None) -> int:
    """List the connected apps (never their secrets).

    \b
    Examples:
      crmctl sandbox connected-app list
    """
    from crmctl.sandbox.salesforce import state

    store = _open(obj, db)
    try:
        apps = state.connected_apps(store)
    finally:
        store.close()
    if not apps:
        click.echo("No connected apps. Add one with: crmctl sandbox connected-app add")
    for app in apps:
        flows = [
            f for f, on in (("jwt", app.certificate), ("client_credentials", app.secret_hash)) if on
        ]
        run_as = f", runs as {app.run_as}" if app.run_as else ""
        click.echo(f"{app.name}  {app.client_id}  {', '.join(flows)}{run_as}")
    return 0


@click.command("api-limit")
@db_option
@click.option("--max", "daily", type=click.IntRange(0), help="API calls allowed per day.")
@click.option("--used", type=click.IntRange(0), help="Set today's usage counter.")
@click.option("--session-seconds", type=click.IntRange(0), help="How long an access token lives.")
@click.pass_obj
def api_limit(
    obj: CliContext,
    db: Path | None,
    daily: int | None,
    used: int | None,
    session_seconds: int | None,
) -> int:
    """Show or set the Salesforce API's daily limit and usage (Sforce-Limit-Info).

    Calls past the limit are answered 403 REQUEST_LIMIT_EXCEEDED, as
    Salesforce does; crmctl warns once usage passes 80 %.

    \b
    Examples:
      crmctl sandbox api-limit
      crmctl sandbox api-limit --max 1000 --used 850
    """
    from crmctl.sandbox.salesforce import state

    store = _open(obj, db)
    try:
        changes = {
            k: v
            for k, v in (("dailyApiLimit", daily), ("sessionSeconds", session_seconds))
            if v is not None
        }
        settings = state.configure(store, **changes) if changes else state.settings(store)
        if used is not None:
            state.set_usage(store, used)
        with store.transaction() as conn:
            today = state.usage_today(conn, store.now())
    finally:
        store.close()
    click.echo(
        f"api-usage={today}/{settings['dailyApiLimit']}; "
        f"sessions last {settings['sessionSeconds']} s"
    )
    return 0
