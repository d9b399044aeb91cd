"""Benchmark planning a 5,000-column organisation through the sandbox's Dataverse emulator.

    python bench/bench_dataverse.py [--sizes 1000,5000] [--tables 50]

One sandbox server (`crmctl sandbox serve --tls`, in its own process) serves
both sides. The same organisation (`--tables` custom tables sharing the
columns of each size, of ten column types) is applied twice:

  - in Dataverse names (`nw_t01.nw_c0001`) through the Dataverse provider and
    the emulator (/api/data/v9.2/, signing in at {sandbox}/{tenant}/oauth2/v2.0/token);
  - in Salesforce names (`T01__c.C0001__c`) into the sandbox's own store, planned
    through the sandbox provider over the same https server.

Then, per size, a no-change `plan` on each side is measured in this process:
its requests (the providers' own counters; sign-in not counted) and its wall
time. Sizes grow the same org (1,000 columns, then 4,000 more), so the
request counts show whether requests grow with resources. Targets (issue 14):

  - Dataverse plan requests constant as the org grows (largest - smallest = 0);
  - Dataverse plan time / sandbox plan time <= 1.5 at the largest size.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import Row, print_rows  # noqa: E402

from crmctl.config.environment import load_environment  # noqa: E402
from crmctl.providers.dataverse import DataverseProvider  # noqa: E402
from crmctl.providers.http import HttpClient  # noqa: E402
from crmctl.providers.sandbox import SandboxProvider  # noqa: E402
from crmctl.sandbox.store import SandboxStore  # noqa: E402
from crmctl.sandbox.tls import tls_folder  # noqa: E402
from crmctl.workspace import Workspace  # noqa: E402

__all__ = ["bench", "org_documents"]

TENANT = "northwind.onmicrosoft.com"
CLIENT_ID = "00000000-0000-0000-0000-00000000b3c4"
#: Column types in turn: (crmctl spec, Salesforce extras). Both sides get the same columns.
_TYPES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"type": "Text", "length": 100}, {}),
    ({"type": "Number", "scale": 0}, {"precision": 9}),
    ({"type": "Number", "scale": 2}, {"precision": 12}),
    ({"type": "Currency", "scale": 2}, {"precision": 16}),
    ({"type": "Date"}, {}),
    ({"type": "DateTime"}, {}),
    ({"type": "Checkbox"}, {}),
    ({"type": "Picklist", "values": ["Red", "Amber", "Green"]}, {}),
    ({"type": "Email"}, {}),
    ({"type": "LongTextArea", "length": 2000}, {}),
]
#: Variables the bench sets for the workspaces it plans.
_VARIABLES = (
    "CRMCTL_BENCH_DV_CLIENT_ID",
    "CRMCTL_BENCH_DV_CLIENT_SECRET",
    "CRMCTL_BENCH_SB_TOKEN",
    "REQUESTS_CA_BUNDLE",
)
LINT_OFF = {"rules": {"owner-required": "off", "pii-retention": "off"}}


def _names(dataverse: bool, table: int, column: int | None = None) -> str:
    obj = f"nw_t{table:02d}" if dataverse else f"T{table:02d}__c"
    if column is None:
        return obj
    return f"{obj}.nw_c{column:05d}" if dataverse else f"{obj}.C{column:05d}__c"


def org_documents(
    columns: range, tables: int, dataverse: bool, with_tables: bool = True
) -> list[dict[str, Any]]:
    """The manifests of the org's tables and of the columns numbered `columns`."""
    docs: list[dict[str, Any]] = []
    envelope = {"apiVersion": "crmctl/v1"}
    if with_tables:
        for t in range(1, tables + 1):
            spec: dict[str, Any] = {"label": f"Table {t}", "pluralLabel": f"Tables {t}"}
            if dataverse:
                spec.update(recordName={"label": "Name"}, primaryColumn="nw_name")
            docs.append(
                {
                    **envelope,
                    "kind": "CustomObject",
                    "metadata": {"name": _names(dataverse, t)},
                    "spec": spec,
                }  # fmt: skip
            )
    for c in columns:
        base, salesforce = _TYPES[c % len(_TYPES)]
        spec = {**base, "label": f"Column {c}", **({} if dataverse else salesforce)}
        name = _names(dataverse, c % tables + 1, c)
        docs.append({**envelope, "kind": "CustomField", "metadata": {"name": name}, "spec": spec})
    return docs


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_cpu(pid: int) -> float:
    """CPU seconds (user + system) the server process has used so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


_SERVER_PID: list[int] = []  # the running server's process id (for its CPU time)


@contextlib.contextmanager
def https_sandbox(db: Path) -> Iterator[tuple[str, Path]]:
    """`crmctl sandbox serve --tls` on a free port: (its https URL, the CA file to trust)."""
    port = _free_port()
    url = f"https://127.0.0.1:{port}"
    command = [sys.executable, "-m", "crmctl", "sandbox", "serve", "--db", str(db)]
    command += ["--port", str(port), "--tls", "--quiet"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ca = tls_folder(db) / "ca.pem"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{url}/api/v1/health", timeout=1, verify=str(ca))
                break
            except (requests.RequestException, OSError):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit(f"the sandbox server did not start: {server.stderr}") from None
                time.sleep(0.2)
        _SERVER_PID[:] = [server.pid]
        yield url, ca
    finally:
        _SERVER_PID.clear()
        server.terminate()
        server.wait(10)


def _write(root: Path, folder: str, name: str, docs: list[dict[str, Any]]) -> None:
    (root / folder).mkdir(parents=True, exist_ok=True)
    (root / folder / name).write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")


def _environments(root: Path, url: str, token: str) -> None:
    (root / "environments").mkdir(exist_ok=True)
    (root / "environments" / "dv.yaml").write_text(
        yaml.safe_dump(
            {
                "provider": {
                    "type": "dataverse",
                    "url": url,
                    "authority": url,
                    "tenantId": TENANT,
                    "clientIdEnv": "CRMCTL_BENCH_DV_CLIENT_ID",
                    "clientSecretEnv": "CRMCTL_BENCH_DV_CLIENT_SECRET",
                },
                "manifests": ["dv"],
                "history": {"path": ".crmctl/history-dv"},
                "lint": LINT_OFF,
            }  # fmt: skip
        )
    )
    (root / "environments" / "sb.yaml").write_text(
        yaml.safe_dump(
            {
                "provider": {"type": "sandbox", "url": url, "tokenEnv": "CRMCTL_BENCH_SB_TOKEN"},
                "manifests": ["sb"],
                "history": {"path": ".crmctl/history-sb"},
                "lint": LINT_OFF,
            }  # fmt: skip
        )
    )
    os.environ["CRMCTL_BENCH_SB_TOKEN"] = token


def _apply(root: Path, env: str) -> tuple[int, float]:
    """(changes, seconds) of applying env's manifests (no approvals needed)."""
    workspace = Workspace(load_environment(env, root))
    try:
        started = time.perf_counter()
        plan = workspace.plan()
        if plan.errors:
            raise SystemExit("\n".join(d.render() for d in plan.errors[:20]))
        with workspace.locked("apply"):
            outcome = workspace.apply(plan)
        if not outcome.ok:
            raise SystemExit(f"apply to {env} failed: {outcome.error}")
        return len(plan.changes), time.perf_counter() - started
    finally:
        workspace.close()


def _plan(root: Path, env: str, runs: int) -> tuple[int, float, int, float, float]:
    """(requests, best seconds of `runs`, changes, client CPU, server CPU) of a plan.

    Each run is a fresh workspace; the CPU seconds are those of the best run: this
    process's (the provider, planning) and the sandbox server's (answering it)."""
    best, requests_made, changes, cpu, server_cpu = float("inf"), 0, 0, 0.0, 0.0
    pid = _SERVER_PID[0] if _SERVER_PID else 0
    for _ in range(runs):
        workspace = Workspace(load_environment(env, root))
        try:
            counter = _counter(workspace.provider)
            before = counter.requests_made
            server_before, cpu_before = _server_cpu(pid), time.process_time()
            started = time.perf_counter()
            plan = workspace.plan()
            seconds = time.perf_counter() - started
            if seconds < best:
                best = seconds
                cpu = time.process_time() - cpu_before
                server_cpu = _server_cpu(pid) - server_before
            requests_made, changes = counter.requests_made - before, len(plan.changes)
        finally:
            workspace.close()
    return requests_made, best, changes, cpu, server_cpu


def _counter(provider: object) -> HttpClient:
    """The HTTP client whose requests a plan makes (signed in first for Dataverse: the
    plan is measured, not the sign-in)."""
    if isinstance(provider, DataverseProvider):
        if provider.tokens is not None:
            provider.tokens.token()
        return provider.api.http
    if isinstance(provider, SandboxProvider) and provider.client is not None:
        return provider.client
    raise SystemExit(f"the bench measures the dataverse and sandbox providers, not {provider!r}")


def _register_client(db: Path) -> str:
    """The emulator's application user for the bench; its client secret."""
    from crmctl.sandbox.dataverse import register_application_user

    secret = "bench-" + os.urandom(12).hex()
    store = SandboxStore.open(db)
    try:
        register_application_user(store, CLIENT_ID, secret)
    finally:
        store.close()
    return secret


def bench(sizes: list[int], tables: int = 50, runs: int = 3, keep: Path | None = None) -> list[Row]:
    """Rows of the Dataverse plan bench (printing each size's figures as it goes)."""
    sizes = sorted(sizes)
    if keep is not None:
        return _bench(sizes, tables, runs, keep)
    saved = {name: os.environ.get(name) for name in _VARIABLES}
    with tempfile.TemporaryDirectory(prefix="crmctl-bench-dv-") as folder:
        try:
            return _bench(sizes, tables, runs, Path(folder))
        finally:
            for name, value in saved.items():  # nothing may point into the removed folder
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def _bench(sizes: list[int], tables: int, runs: int, root: Path) -> list[Row]:
    db = root / "sandbox.db"
    store = SandboxStore.open(db)
    token = store.initialise()
    store.close()
    os.environ["CRMCTL_BENCH_DV_CLIENT_ID"] = CLIENT_ID
    os.environ["CRMCTL_BENCH_DV_CLIENT_SECRET"] = _register_client(db)
    figures: dict[int, dict[str, tuple[int, float, int, float, float]]] = {}
    with https_sandbox(db) as (url, ca):
        os.environ["REQUESTS_CA_BUNDLE"] = str(ca)
        _environments(root, url, token)
        done = 0
        for size in sizes:
            new = range(done, size)
            first = done == 0
            for folder, dataverse in (("dv", True), ("sb", False)):
                docs = org_documents(new, tables, dataverse, with_tables=first)
                _write(root, folder, f"columns-{size}.yaml", docs)
            applied = {env: _apply(root, env) for env in ("dv", "sb")}
            done = size
            figures[size] = {env: _plan(root, env, runs) for env in ("dv", "sb")}
            print(f"{size} columns in {tables} tables:")
            for env, title in (("dv", "dataverse (emulator)"), ("sb", "sandbox provider")):
                reqs, seconds, changes, cpu, server_cpu = figures[size][env]
                print(f"  {title:22} apply {applied[env][0]:5} changes {applied[env][1]:7.1f} s; "
                      f"plan: {reqs:4} requests, {seconds:6.2f} s (best of {runs}; CPU: "
                      f"client {cpu:.2f} s, server {server_cpu:.2f} s), "
                      f"{changes} changes left")  # fmt: skip
    small, large = figures[sizes[0]], figures[sizes[-1]]
    return [
        Row(
            f"dataverse plan requests, {sizes[-1]} - {sizes[0]} columns",
            large["dv"][0] - small["dv"][0],
            0,
            "",
            f"{small['dv'][0]} -> {large['dv'][0]} requests (sandbox provider "
            f"{small['sb'][0]} -> {large['sb'][0]})",
        ),
        Row(
            f"dataverse plan / sandbox plan, {sizes[-1]} columns",
            large["dv"][1] / large["sb"][1],
            1.5,
            "x",
            f"{large['dv'][1]:.2f} s vs {large['sb'][1]:.2f} s",
        ),
        Row(
            f"dataverse / sandbox plan CPU (client + server), {sizes[-1]} columns",
            (large["dv"][3] + large["dv"][4]) / (large["sb"][3] + large["sb"][4]),
            1.5,
            "x",
            f"{large['dv'][3]:.2f} + {large['dv'][4]:.2f} s vs "
            f"{large['sb'][3]:.2f} + {large['sb'][4]:.2f} s",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000", help="column counts (default 1000,5000)")
    parser.add_argument("--tables", type=int, default=50, help="custom tables sharing the columns")
    parser.add_argument("--runs", type=int, default=3, help="plans per figure (the best is kept)")
    parser.add_argument("--keep", type=Path, help="build the project in this (empty) folder")
    args = parser.parse_args(argv)
    rows = bench([int(s) for s in args.sizes.split(",")], args.tables, args.runs, args.keep)
    print_rows(rows, "Dataverse plan (issue 14 targets)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
