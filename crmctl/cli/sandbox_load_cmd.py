"""`crmctl sandbox load`: put a records snapshot (CSV or JSON per object) into a sandbox database."""

from __future__ import annotations

from pathlib import Path

import click

from crmctl.cli.context import CliContext
from crmctl.cli.sandbox_cmd import _db_path, db_option
from crmctl.errors import CrmctlError


@click.command("load")
@db_option
@click.option(
    "--from",
    "source",
    required=True,
    type=click.Path(path_type=Path),
    help="A .csv or .json file of one object's records (named after the object, e.g. "
    "Contact.csv), or a folder of them.",
)
@click.option("--object", "object_name", help="The object of a single file not named after it.")
@click.option(
    "-e",
    "--env",
    "env_name",
    default=None,
    help="Type the values by this environment's live configuration (read-only) instead of the "
    "database's own; for exports of a CRM whose configuration the database does not hold.",
)
@click.option(
    "--replace", is_flag=True, help="Replace the stored records of the objects being loaded."
)
@click.pass_obj
def load(
    obj: CliContext,
    db: Path | None,
    source: Path,
    object_name: str | None,
    env_name: str | None,
    replace: bool,
) -> int:
    """Load a records snapshot into a sandbox database, for `crmctl plan --impact`.

    Each file holds one object's records: CSV with a header row of field API
    names (as `sf data export bulk` writes it), or JSON (a list of records,
    or `sf data query --json` output). Every record keeps its CRM Id, so the
    sample ids an impact report shows can be looked up in the CRM. Values are
    typed (numbers, checkboxes, dates); nothing else is checked, so records
    today's rules would refuse load too. Any problem is reported with its
    file and line and nothing is loaded. The database is created if missing.

    \b
    Examples:
      crmctl sandbox load --from export/
      crmctl sandbox load --db .crmctl/prod-records.db -e prod --from export/Contact.csv
      crmctl plan -e prod --impact --impact-db .crmctl/prod-records.db
    """
    from crmctl.impact.load import read_snapshot, store_snapshot
    from crmctl.sandbox.records import OrgModel
    from crmctl.sandbox.records_api import org_model
    from crmctl.sandbox.store import SandboxStore
    from crmctl.workspace import Workspace

    model = None
    if env_name is not None:
        workspace = Workspace(obj.environment(env_name))
        try:
            live = workspace.read_live()
        finally:
            workspace.close()
        model = OrgModel.from_config(
            {"kind": r.kind, "name": r.name, "spec": r.spec} for r in live.values()
        )
    path = _db_path(obj, db)
    existed = path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    store: SandboxStore | None = SandboxStore.open(path)
    assert store is not None
    try:
        if not existed:
            store.initialise()
        if model is None:
            if not store.list_all_config():
                raise CrmctlError(
                    f"{path} holds no configuration to type the records by",
                    hint="name the environment the export comes from: -e ENV (its live "
                    "configuration is read, read-only)",
                )
            with store.transaction() as conn:
                model = org_model(store, conn)
        snapshot = read_snapshot(source, model, object_name)
        with store.transaction() as conn:
            counts = store_snapshot(conn, snapshot, replace)
    except CrmctlError:
        if not existed:  # nothing loaded: leave no empty database behind
            store.close()
            store = None
            for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                leftover.unlink(missing_ok=True)
        raise
    finally:
        if store is not None:
            store.close()
    if not existed:
        click.echo(f"Created sandbox database {path}.", err=True)
    total = sum(counts.values())
    click.echo(f"Loaded {total} records into {path} from {snapshot.files} file(s):")
    for name, count in counts.items():
        click.echo(f"  {name:<16}{count:>7}")
    return 0
