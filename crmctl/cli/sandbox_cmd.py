"""`crmctl sandbox`: create and serve the embedded sandbox CRM."""

from __future__ import annotations

import errno
import ipaddress
import logging
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from crmctl.cli.context import CliContext
from crmctl.errors import CrmctlError

DEFAULT_DB = Path(".crmctl/sandbox.db")  # where the `local` environment looks

db_option = click.option(
    "--db",
    "db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"The sandbox database file (relative to the project folder). Default: {DEFAULT_DB}",
)


def _db_path(obj: CliContext, db: Path | None) -> Path:
    path = db or DEFAULT_DB
    return path if path.is_absolute() else obj.project_dir / path


@click.group()
def sandbox() -> None:
    """The sandbox CRM that ships with crmctl: SQLite storage, an HTTP JSON API.

    \b
    Examples:
      crmctl sandbox init                  create .crmctl/sandbox.db, print an admin token
      crmctl sandbox serve --port 8765     serve it at http://127.0.0.1:8765/api/v1
      crmctl sandbox seed --records 10000  fill it with demo records
    """


@sandbox.command()
@db_option
@click.option(
    "--admin",
    "admin",
    default="admin@sandbox.local",
    show_default=True,
    help="Username of the built-in admin.",
)
@click.pass_obj
def init(obj: CliContext, db: Path | None, admin: str) -> int:
    """Create (or upgrade) a sandbox database and print a new admin token.

    The token is printed on standard output, alone, and is shown only once:
    only its hash is stored. Running init again on an existing database keeps
    everything and issues another token.

    \b
    Examples:
      crmctl sandbox init
      export CRM_TOKEN=$(crmctl sandbox init --db /tmp/sandbox.db)
    """
    from crmctl.sandbox.store import SandboxStore

    path = _db_path(obj, db)
    existed = path.exists()
    store = SandboxStore.open(path)
    try:
        token = store.initialise(admin)
    finally:
        store.close()
    verb = "Opened existing" if existed else "Created"
    click.echo(f"{verb} sandbox database {path} (built-in admin: {admin}).", err=True)
    click.echo(
        "Admin token below. It is shown only once; keep it somewhere safe and send it as\n"
        "'Authorization: Bearer <token>'.",
        err=True,
    )
    click.echo(token)
    return 0


def _check_host(host: str, allow_remote: bool) -> None:
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not allow_remote:
        raise CrmctlError(
            f"refusing to listen on {host}: the sandbox is meant for this machine only",
            hint="use --host 127.0.0.1, or add --allow-remote if you really want other machines in",
        )


def _fault_settings(**options: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    if options["latency_ms"]:
        settings["latencyMs"] = options["latency_ms"]
    if options["fail_nth_write"]:
        settings["failNthWrite"] = {
            "n": options["fail_nth_write"],
            "status": options["fail_status"],
            "repeat": options["fail_repeat"],
            "when": options["fail_when"],
        }
    retry = options["retry_after"]
    if options["rate_limit"]:
        settings["rateLimit"] = {"count": options["rate_limit"], "retryAfter": retry}
    if options["unavailable"]:
        settings["unavailable"] = {"count": options["unavailable"], "retryAfter": retry}
    if options["drop_connection"]:
        settings["dropConnection"] = {"count": options["drop_connection"]}
    return settings


@contextmanager
def _sigterm_stops() -> Iterator[None]:
    """SIGTERM stops the server as Ctrl-C does (a clean shutdown, exit status 0)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@sandbox.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535))
@click.option("--allow-remote", is_flag=True, help="Allow a --host that is not loopback.")
@click.option("--quiet", is_flag=True, help="Do not log every request to standard error.")
@click.option(
    "--tls",
    is_flag=True,
    help="Serve https with a certificate from a local CA made for it (its path is printed).",
)
@click.option(
    "--max-body-mb",
    type=click.IntRange(1, 1024),
    default=16,
    show_default=True,
    help="Refuse request bodies larger than this many MiB (413, unread).",
)
@click.option(
    "--latency-ms", type=click.IntRange(0, 60_000), default=0, help="Delay every request."
)
@click.option("--fail-nth-write", type=click.IntRange(1), default=None, help="Fail the Nth write.")
@click.option("--fail-status", type=click.IntRange(400, 599), default=500, show_default=True)
@click.option("--fail-repeat", is_flag=True, help="Fail every Nth write, not only the first.")
@click.option(
    "--fail-when",
    type=click.Choice(["before", "after"]),
    default="before",
    show_default=True,
    help="Fail the write before doing it, or after committing it.",
)
@click.option("--rate-limit", type=click.IntRange(0), default=0, help="Answer 429 to K requests.")
@click.option("--unavailable", type=click.IntRange(0), default=0, help="Answer 503 to K requests.")
@click.option("--retry-after", type=click.IntRange(0, 3600), default=1, show_default=True)
@click.option("--drop-connection", type=click.IntRange(0), default=0, help="Cut K responses.")
@click.pass_obj
def serve(
    obj: CliContext,
    db: Path | None,
    host: str,
    port: int,
    allow_remote: bool,
    quiet: bool,
    tls: bool,
    max_body_mb: int,
    **fault_options: Any,
) -> int:
    """Serve a sandbox database over HTTP (JSON API under /api/v1) until Ctrl-C.

    The database must exist (crmctl sandbox init). The fault options make
    the server misbehave deterministically, for resilience tests; they can
    also be changed at run time through POST /api/v1/admin/faults.

    --tls serves https (for https-only clients such as simple-salesforce):
    a local certificate authority and a server certificate it signs are made
    once, in DB.tls/ beside the database, and reused. Clients trust the CA
    file the command prints (REQUESTS_CA_BUNDLE, NODE_EXTRA_CA_CERTS).

    \b
    Examples:
      crmctl sandbox serve
      crmctl sandbox serve --db /tmp/sandbox.db --port 9000
      crmctl sandbox serve --rate-limit 3 --retry-after 0 --fail-nth-write 2
      crmctl sandbox serve --tls
    """
    from crmctl.sandbox.server import serve_forever
    from crmctl.sandbox.store import SandboxStore

    _check_host(host, allow_remote)
    settings = _fault_settings(**fault_options)
    if not quiet:
        logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")
    store = SandboxStore.open(_db_path(obj, db), create=False)
    context = None
    if tls:
        from crmctl.sandbox.tls import ensure_certificates, server_context, tls_folder

        try:
            files = ensure_certificates(tls_folder(Path(store.path)), host)
            context = server_context(files)
        except (OSError, ValueError) as exc:
            store.close()
            raise CrmctlError(f"cannot set up TLS: {exc}") from exc

    def ready(url: str) -> None:
        click.echo(f"Serving {store.path} at {url}/api/v1 (Ctrl-C to stop)", err=True)
        if context is not None:
            click.echo(f"TLS: clients trust the CA certificate {files.ca}", err=True)
            click.echo(
                f"  e.g. REQUESTS_CA_BUNDLE={files.ca} NODE_EXTRA_CA_CERTS={files.ca}", err=True
            )
        if settings:
            click.echo(f"Fault injection: {settings}", err=True)

    try:
        with _sigterm_stops():
            serve_forever(
                store,
                host,
                port,
                faults=settings,
                ready=ready,
                max_body=max_body_mb * 1024 * 1024,
                tls=context,
            )
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise CrmctlError(
                f"port {port} on {host} is already in use",
                hint="choose another with --port, or stop the server using it",
            ) from exc
        if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
            raise CrmctlError(f"cannot listen on {host}: {exc.strerror or exc}") from exc
        raise
    finally:
        store.close()
    return 0


@sandbox.command("seed")
@db_option
@click.option(
    "--records",
    type=click.IntRange(0, 1_000_000),
    default=1000,
    show_default=True,
    help="How many records to create, split across the objects.",
)
@click.option(
    "--seed", "seed_value", type=int, default=42, show_default=True, help="The random seed."
)
@click.pass_obj
def seed_command(obj: CliContext, db: Path | None, records: int, seed_value: int) -> int:
    """Fill a sandbox database with realistic, deterministic demo records.

    Accounts, contacts, leads, opportunities and cases, plus records of every
    custom object in the database's configuration (apply your manifests
    first). Every record passes the checks an API write would (field types,
    required and unique fields, lookups, validation rules); the same seed on
    the same day gives the same records. Prints the count per object.

    \b
    Examples:
      crmctl sandbox seed
      crmctl sandbox seed --db /tmp/sandbox.db --records 10000 --seed 7
    """
    from crmctl.sandbox.records_api import org_model
    from crmctl.sandbox.seed import seed_records
    from crmctl.sandbox.store import SandboxStore

    path = _db_path(obj, db)
    store = SandboxStore.open(path, create=False)
    try:
        with store.transaction() as conn:
            model = org_model(store, conn)
        result = seed_records(store.transaction, model, records=records, seed=seed_value)
    finally:
        store.close()
    click.echo(f"Seeded {sum(result.created.values())} records into {path} (seed {seed_value}):")
    for name, count in result.created.items():
        click.echo(f"  {name:<16}{count:>6}")
    for name, count in result.skipped.items():
        click.echo(
            f"warning: {name}: {count} generated record(s) failed its rules; skipped", err=True
        )
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    return 0
