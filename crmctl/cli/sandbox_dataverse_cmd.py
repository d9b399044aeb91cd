"""`crmctl sandbox dataverse-app`: application users of the sandbox's Dataverse API."""

from __future__ import annotations

import os
from pathlib import Path

import click

from crmctl.cli.context import CliContext
from crmctl.cli.sandbox_cmd import _db_path, db_option
from crmctl.errors import CrmctlError

__all__ = ["dataverse_app"]


@click.group("dataverse-app")
def dataverse_app() -> None:
    """Application users of the sandbox's Dataverse API (Entra client credentials).

    \b
    Examples:
      crmctl sandbox dataverse-app add --client-id 11111111-2222-3333-4444-555555555555 --secret-env DV_SECRET
      crmctl sandbox dataverse-app list
    """


@dataverse_app.command("add")
@db_option
@click.option("--client-id", required=True, help="The app registration's client (application) id.")
@click.option(
    "--secret-env", required=True, metavar="VAR", help="Environment variable holding its secret."
)
@click.option(
    "--role",
    default="System Administrator",
    show_default=True,
    help="Security role of the root business unit the application user holds.",
)
@click.pass_obj
def add(obj: CliContext, db: Path | None, client_id: str, secret_env: str, role: str) -> int:
    """Register an app and its application user (or replace the app's secret).

    The secret is read from the variable, never from the command line, and
    only its hash is stored. Tokens come from POST {url}/{tenant}/oauth2/v2.0/token
    with scope {url}/.default (any tenant name).

    \b
    Examples:
      crmctl sandbox dataverse-app add --client-id 11111111-2222-3333-4444-555555555555 --secret-env DV_SECRET
      crmctl sandbox dataverse-app add --client-id CI_APP --secret-env CI_SECRET --role "System Customizer"
    """
    from crmctl.sandbox.dataverse import register_application_user
    from crmctl.sandbox.store import SandboxStore

    secret = os.environ.get(secret_env)
    if not secret:
        raise CrmctlError(f"environment variable {secret_env} is not set")
    store = SandboxStore.open(_db_path(obj, db), create=False)
    try:
        user = register_application_user(store, client_id, secret, role=role)
    except ValueError as exc:
        raise CrmctlError(str(exc)) from None
    finally:
        store.close()
    click.echo(f"Application user {user} for app {client_id.lower()} holds the role {role}.")
    return 0


@dataverse_app.command("list")
@db_option
@click.pass_obj
def list_apps(obj: CliContext, db: Path | None) -> int:
    """List the registered apps and their application users (never their secrets).

    \b
    Examples:
      crmctl sandbox dataverse-app list
    """
    from crmctl.sandbox.dataverse import registered_apps
    from crmctl.sandbox.store import SandboxStore

    store = SandboxStore.open(_db_path(obj, db), create=False)
    try:
        apps = registered_apps(store)
    finally:
        store.close()
    if not apps:
        click.echo("No Dataverse apps. Add one with: crmctl sandbox dataverse-app add")
    for client_id, user, roles in apps:
        click.echo(f"{client_id}  user {user}  roles: {', '.join(roles) or '(none)'}")
    return 0
