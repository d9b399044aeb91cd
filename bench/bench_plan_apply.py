"""Benchmark plan and apply against a sandbox server over HTTP.

    python bench/bench_plan_apply.py [--resources 10000]

Generates a synthetic organisation (bench/gen_org.py), starts `crmctl sandbox
serve` in its own process, applies the organisation, then measures:
  - plan with nothing to change: wall time and HTTP requests (targets: < 3 s, <= 20)
  - apply of 1,000 creates (target: < 10 s)
  - peak memory (max RSS) of a `crmctl plan` process
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_org import generate  # noqa: E402
from sandbox_process import sandbox_server  # noqa: E402

from crmctl.config.environment import load_environment  # noqa: E402
from crmctl.sandbox.store import SandboxStore  # noqa: E402
from crmctl.workspace import Workspace  # noqa: E402


def extra_fields(root: Path, count: int) -> None:
    """`count` new Text fields spread over the generated custom objects."""
    objects = []
    for path in sorted((root / "manifests").rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc["kind"] == "CustomObject":
                objects.append(doc["metadata"]["name"])
    docs = [
        {
            "apiVersion": "crmctl/v1",
            "kind": "CustomField",
            "metadata": {
                "name": f"{objects[i % len(objects)]}.Bench_Extra_{i}__c",
                "owner": "bench",
            },
            "spec": {"type": "Text", "label": f"Extra {i}", "length": 80},
        }
        for i in range(count)
    ]
    (root / "manifests" / "bench-extra.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))


def timed(label: str, func):
    started = time.perf_counter()
    value = func()
    seconds = time.perf_counter() - started
    print(f"{label}: {seconds:.2f} s")
    return value, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root, args.resources, seed=1)
        db = root / "server.db"
        store = SandboxStore.open(db)
        token = store.initialise()
        store.close()
        with sandbox_server(db) as url:
            env_file = root / "environments" / "bench.yaml"
            env_file.write_text(
                f"provider: {{type: sandbox, url: '{url}', tokenEnv: CRMCTL_BENCH_TOKEN}}\nmanifests: [manifests]\n"
                # The synthetic org is not governance-clean; lint still runs, as warnings.
                "lint: {rules: {pii-description: warning, pii-retention: warning}}\n"
            )
            os.environ["CRMCTL_BENCH_TOKEN"] = token
            os.environ["CRMCTL_ACTOR"] = "bench@example.com"
            os.chdir(root)

            def workspace() -> Workspace:
                return Workspace(load_environment("bench", root))

            ws = workspace()
            plan, _ = timed(f"plan of {args.resources} creates", ws.plan)
            outcome, _ = timed(f"apply of {len(plan.changes)} creates", lambda: ws.apply(plan))
            assert outcome.ok, outcome.error
            ws.close()

            ws = workspace()
            empty, seconds = timed("plan with nothing to change", ws.plan)
            requests_made = ws.provider.client.requests_made
            print(f"  changes: {len(empty.changes)}, HTTP requests: {requests_made}")
            assert not empty.changes
            ws.close()

            extra_fields(root, 1000)
            ws = workspace()
            plan = ws.plan()
            assert len(plan.changes) == 1000, len(plan.changes)
            before = ws.provider.client.requests_made
            outcome, apply_seconds = timed(
                "apply of 1,000 creates (after planning)", lambda: ws.apply(plan)
            )
            assert outcome.ok, outcome.error
            print(f"  HTTP requests during apply: {ws.provider.client.requests_made - before}")
            ws.close()

            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "crmctl", "plan", "-e", "bench"],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            print(
                f"`crmctl plan` (CLI, with lint and approvals), nothing to change: {time.perf_counter() - started:.2f} s"
            )
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            print(f"peak memory of a `crmctl plan` process: {peak:.0f} MB")
            print()
            print(
                f"targets: plan < 3 s and <= 20 requests -> {seconds:.2f} s, {requests_made} requests; "
                f"apply 1,000 creates < 10 s -> {apply_seconds:.2f} s"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
