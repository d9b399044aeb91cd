"""`crmctl access`: who can read or edit each object and field, and through what."""

from __future__ import annotations

import click

from crmctl.access.query import AccessQuery, effective_access, live_items, manifest_items
from crmctl.cli.context import CliContext, env_option, format_option
from crmctl.kinds import KINDS
from crmctl.render.access_view import access_csv, access_json, access_text
from crmctl.render.style import use_colour


def _split(values: tuple[str, ...]) -> list[str] | None:
    found = [v.strip() for value in values for v in value.split(",") if v.strip()]
    return found or None


@click.group(invoke_without_command=True)
@env_option
@click.option(
    "--live",
    is_flag=True,
    help="Read the configuration from the live CRM instead of the manifests.",
)
@click.option(
    "--classification",
    "classifications",
    multiple=True,
    metavar="LIST",
    help="Only custom fields of these classifications (comma-separated: PII,Sensitive).",
)
@click.option(
    "--user",
    "users",
    multiple=True,
    metavar="USER",
    help="Only these users (repeatable or comma-separated).",
)
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="FIELD",
    help="Only these fields or objects: Contact.National_Id__c, Contact, or a glob like Contact.*.",
)
@format_option("text", "csv", "json", "html")
@click.pass_obj
def access(
    obj: CliContext,
    env_name: str | None,
    live: bool,
    classifications: tuple[str, ...],
    users: tuple[str, ...],
    fields: tuple[str, ...],
    output_format: str,
) -> int:
    """Show who can read or edit each object and custom field, and through what.

    Access comes from permission sets (object and field permissions) and from
    system permissions: ViewAllData grants read on every object, ModifyAllData
    (or CustomizeApplication) makes a user an admin who bypasses every check.
    A custom field needs both the object permission and the field permission;
    standard fields follow their object. Inactive users have no access.
    Computed from the manifests (with the environment's overrides) by
    default, from the live CRM's configuration with --live.

    \b
    Examples:
      crmctl access --classification PII,Sensitive
      crmctl access --user tomas.berg@northwind.example
      crmctl access -e prod --live --field 'Contact.*' --format csv
      crmctl access --classification PII,Sensitive --format html > access.html
      crmctl access review start -e prod      (quarterly review: crmctl access review --help)
    """
    if click.get_current_context().invoked_subcommand is not None:
        return 0
    env = obj.environment(env_name)
    if live:
        from crmctl.providers import create_provider

        provider = create_provider(env)
        try:
            items = live_items(provider.read(KINDS))
        finally:
            provider.close()
    else:
        items = manifest_items(env)
    query = AccessQuery(
        users=_split(users), fields=_split(fields), classifications=_split(classifications)
    )
    report = effective_access(items, query)
    source = "live" if live else "manifests"
    if output_format == "csv":
        click.echo(access_csv(report))
    elif output_format == "json":
        click.echo(access_json(report, env.name, source))
    elif output_format == "html":
        from crmctl.render.access_html import access_html

        where = "the live CRM" if live else "the manifests"
        click.echo(access_html(report, env.name, where))
    else:
        where = f"the live CRM, {provider.describe()}" if live else "the manifests"
        heading = f"Effective access in environment '{env.name}', from {where}:"
        click.echo(
            access_text(report, heading, use_colour(force=obj.colour), skip_empty=bool(query.users))
        )
    return 0


def _add_review() -> None:
    from crmctl.cli.access_review_cmd import review

    access.add_command(review)


_add_review()
