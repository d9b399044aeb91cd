"""Benchmark planning a real-sized org through the sandbox's Salesforce API.

    python bench/bench_salesforce.py [--extra 2000]

Imports the shared navikt Salesforce DX project (../shared/data/sfdx), starts
`crmctl sandbox serve` in its own process with a connected app, applies the
imported manifests through the Salesforce provider (one Metadata API deploy),
then measures `plan` (manifests + Metadata API read + REST users + diff):
  - wall time (target: < 5 s)
  - Metadata API calls, by operation: the same for the org and for the org
    with --extra more fields (target: constant, not one call per component)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from crmctl.config.environment import load_environment
from crmctl.importer.sfdx import import_sfdx, write_manifests
from crmctl.sandbox.salesforce import state
from crmctl.sandbox.store import SandboxStore
from crmctl.workspace import Workspace

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sandbox_process import sandbox_server  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
NAVIKT = REPO.parent / "shared" / "data" / "sfdx" / "navikt-crm-arbeidsgiver-base"
LINT_OFF = ", ".join(
    f"{rule}: off"
    for rule in ("owner-required", "pii-description", "pii-retention", "powerful-access-justified",
                 "validation-message", "user-role", "user-permission-sets", "external-pii-access")
)  # fmt: skip


def soap_calls(workspace: Workspace) -> dict[str, int]:
    calls = workspace.provider.connection.calls
    return {k.removeprefix("soap:"): v for k, v in sorted(calls.items()) if k.startswith("soap:")}


def plan(root: Path) -> tuple[float, dict[str, int], int, int]:
    """(seconds, Metadata API calls, REST calls, live components) of one `plan`."""
    workspace = Workspace(load_environment("sf", root))
    try:
        started = time.perf_counter()
        result = workspace.plan()
        seconds = time.perf_counter() - started
        assert not result.errors, [d.render() for d in result.errors]
        calls, rest = soap_calls(workspace), workspace.provider.connection.calls.get("rest", 0)
        return seconds, calls, rest, len(workspace.read_live())
    finally:
        workspace.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra", type=int, default=2000, help="fields added for the second plan")
    args = parser.parse_args()
    if not NAVIKT.is_dir():
        raise SystemExit(f"{NAVIKT} is not present")
    root = Path(tempfile.mkdtemp(prefix="crmctl-bench-sf-"))
    imported = import_sfdx(NAVIKT)
    write_manifests(imported, root / "manifests")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (root / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )  # fmt: skip
    )
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    db = root / "sandbox.db"
    store = SandboxStore.open(db)
    store.initialise()
    state.add_connected_app(store, "bench", "BENCH_KEY", certificate=public)
    state.configure(store, asyncPolls=0)
    store.close()
    with sandbox_server(db) as url:
        (root / "environments").mkdir()
        (root / "environments" / "sf.yaml").write_text(
            f"provider:\n  type: salesforce\n  instanceUrl: {url}\n  loginUrl: {url}\n  auth:\n"
            "    method: jwt\n    clientIdEnv: CRMCTL_BENCH_CLIENT_ID\n    username: admin@sandbox.local\n"
            f"    keyFileEnv: CRMCTL_BENCH_KEY_FILE\nmanifests: [manifests]\nlint:\n  rules: {{{LINT_OFF}}}\n"
        )
        os.environ.update(
            CRMCTL_BENCH_CLIENT_ID="BENCH_KEY", CRMCTL_BENCH_KEY_FILE=str(root / "key.pem")
        )
        print(f"org: navikt-crm-arbeidsgiver-base, {len(imported.resources)} components imported")
        workspace = Workspace(load_environment("sf", root))
        try:
            started = time.perf_counter()
            fresh = workspace.plan()
            with workspace.locked("apply"):
                outcome = workspace.apply(fresh)
            assert outcome.ok, outcome.error
            print(f"plan + apply of {len(fresh.changes)} creates (a deploy per 200 changes): "
                  f"{time.perf_counter() - started:.2f} s, "
                  f"Metadata API calls {soap_calls(workspace)}")  # fmt: skip
        finally:
            workspace.close()
        seconds, calls, rest, live = plan(root)
        print(
            f"plan, no changes, {live} live components: {seconds:.2f} s; Metadata API calls {calls}; REST calls {rest}"
        )
        store = SandboxStore.open(db)
        objects = [r.name for r in imported.resources.values() if r.kind == "CustomObject"]
        store.batch(
            [{"op": "put", "kind": "CustomField", "name": f"{objects[i % len(objects)]}.Bench_{i}__c",
              "spec": {"type": "Text", "label": f"Bench {i}", "length": 80}} for i in range(args.extra)],
            "bench",
        )  # fmt: skip
        store.close()
        seconds2, calls2, rest2, live2 = plan(root)
        print(f"plan, {live2} live components (+{args.extra} unmanaged fields): {seconds2:.2f} s; "
              f"Metadata API calls {calls2}; REST calls {rest2}")  # fmt: skip
        verdict = "PASS" if seconds < 5 and calls == calls2 else "FAIL"
        print(f"{verdict}: plan < 5 s ({seconds:.2f} s) and Metadata API calls constant ({sum(calls.values())} "
              f"for {live} and {sum(calls2.values())} for {live2} components)")  # fmt: skip


if __name__ == "__main__":
    main()
