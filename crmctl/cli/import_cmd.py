"""`crmctl import`: write manifests from the live CRM."""

from __future__ import annotations

from pathlib import Path

import click

from crmctl.cli.context import CliContext, env_option
from crmctl.importer.adopt import import_all, import_resources
from crmctl.render.import_view import import_text
from crmctl.render.style import use_colour
from crmctl.workspace import Workspace


@click.command(name="import")
@env_option
@click.argument("addresses", nargs=-1, metavar="[KIND/NAME]...")
@click.option(
    "--all",
    "whole_org",
    is_flag=True,
    help="Import the whole live configuration (bootstrapping crmctl on an existing org).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="With --all: the folder to write (default: the environment's first manifests folder).",
)
@click.option("--force", is_flag=True, help="With --all: overwrite files of the same names.")
@click.option(
    "--from",
    "source",
    type=(
        click.Choice(["sfdx", "dataverse-solution"]),
        click.Path(file_okay=False, path_type=Path),
    ),
    default=None,
    metavar="[sfdx|dataverse-solution] DIR",
    help="Convert a Salesforce DX project (source format) or an unpacked Dataverse solution "
    "instead of reading the CRM; prints what it could not convert.",
)
@click.option(
    "--owner",
    metavar="TEAM",
    help="metadata.owner of imported resources that have none "
    "(default: a TODO comment where the owner goes).",
)
@click.pass_obj
def import_(
    obj: CliContext,
    env_name: str | None,
    addresses: tuple[str, ...],
    whole_org: bool,
    out_dir: Path | None,
    force: bool,
    owner: str | None,
    source: tuple[str, Path] | None,
) -> int:
    """Write manifests from the live CRM.

    With KIND/NAME (glob patterns allowed): adopt what the CRM holds now.
    A declared resource's document is rewritten in place in the file that
    declares it (the file's other documents are left as they were; comments
    inside the rewritten document are lost); a resource not declared yet is
    added beside its object's or its kind's other resources (or in a new
    file); a declared resource the CRM no longer has is removed from the
    manifests.

    With --all: write the whole configuration into an empty folder, one file
    per custom object (objects/<Object>.yaml, with its fields and rules),
    standard/<Object>.yaml, access/roles.yaml, access/users.yaml,
    access/permission-sets/<Name>.yaml and retention/policies.yaml. Spec keys
    come in schema order and values equal to their default are left out.

    Every written file is validated; crmctl plan afterwards shows no changes
    for the imported resources.

    With --from dataverse-solution DIR: convert an unpacked Dataverse solution
    (`pac solution unpack`: tables, columns, choices, security roles, field
    security profiles) into manifests with Dataverse logical names, for an
    environment whose provider is dataverse; the same report of what was
    left out.

    With --from sfdx DIR: convert a Salesforce DX project instead (objects,
    fields, validation rules, permission sets, profiles' object and field
    permissions, roles, duplicate rules, global value sets) into --out, and
    list every file or part that could not be converted, with the reason.

    Exit status: 0 imported, 1 error (or the written files have problems).

    \b
    Examples:
      crmctl import -e prod CustomField/Account.Region__c PermissionSet/Hand_Made
      crmctl import -e prod 'ValidationRule/Invoice__c.*'
      crmctl import -e prod --all --out manifests --owner crm-admins
      crmctl import --from sfdx path/to/force-app --out manifests/
      crmctl import --from dataverse-solution path/to/src --out manifests/
    """
    if source is not None:
        if whole_org or addresses:
            raise click.UsageError("--from imports a project: give no KIND/NAME and no --all")
        target = out_dir if out_dir is not None else obj.environment(env_name).manifest_paths[0]
        if source[0] == "dataverse-solution":
            from crmctl.cli.dataverse_cmd import import_from_dataverse_solution

            return import_from_dataverse_solution(
                source[1], target, force, owner, use_colour(force=obj.colour)
            )
        from crmctl.cli.sfdx_cmd import import_from_sfdx

        return import_from_sfdx(source[1], target, force, owner, use_colour(force=obj.colour))
    if whole_org and addresses:
        raise click.UsageError("give KIND/NAME addresses or --all, not both")
    if not whole_org and not addresses:
        raise click.UsageError("give the KIND/NAME of resources to import, or --all")
    if not whole_org and (out_dir is not None or force):
        raise click.UsageError("--out and --force go with --all")
    for address in addresses:
        kind, sep, name = address.partition("/")
        if not sep or not kind or not name:
            raise click.BadParameter(
                f"{address!r} is not KIND/NAME (e.g. PermissionSet/Sales_Rep)",
                param_hint="KIND/NAME",
            )
    env = obj.environment(env_name)
    workspace = Workspace(env)
    try:
        if whole_org:
            target = out_dir if out_dir is not None else env.manifest_paths[0]
            result = import_all(workspace, target, force, owner)
        else:
            result = import_resources(workspace, addresses, owner)
    finally:
        workspace.close()
    click.echo(import_text(result, whole_org, use_colour(force=obj.colour)))
    return 1 if any(d.severity.value == "error" for d in result.diagnostics) else 0
