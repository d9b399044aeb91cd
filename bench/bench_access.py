"""How long `crmctl access` takes for 1,000 users x 5,000 fields (target: under 5 s).

    python bench/bench_access.py [--users 1000] [--resources 6400] [--format csv]

Generates an organisation with bench/gen_org.py (about 5,000 custom fields
for the default 6,400 resources and 50 permission sets holding thousands of
field permissions), then adds users until there are `--users`: each holds
one to three of the permission sets, ten are admins (ModifyAllData) and
twenty are auditors (ViewAllData). Runs `crmctl access` on it in-process,
output to /dev/null, and prints the wall and CPU time of the whole command
and the wall time of its parts (reading the manifests, computing the grants,
rendering). On a busy shared machine the CPU time is the fairer number.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import yaml  # noqa: E402

from bench.gen_org import generate  # noqa: E402
from crmctl.access.query import AccessQuery, effective_access, manifest_items  # noqa: E402
from crmctl.cli import main as crmctl  # noqa: E402
from crmctl.config.environment import load_environment  # noqa: E402
from crmctl.render.access_view import access_csv, access_json, access_text  # noqa: E402


def _extra_users(outdir: Path, wanted: int, seed: int) -> tuple[int, int]:
    """Add users (and an admin and an auditor permission set) until there are `wanted`."""
    access = outdir / "manifests" / "access"
    docs = [d for p in access.glob("users-*.yaml") for d in yaml.safe_load_all(p.read_text())]
    roles = [d["metadata"]["name"] for d in yaml.safe_load_all((access / "roles.yaml").read_text())]
    sets = [
        d["metadata"]["name"]
        for p in sorted((access / "permission-sets").glob("*.yaml"))
        for d in yaml.safe_load_all(p.read_text())
    ]
    rng = random.Random(seed)
    extra = [
        {"apiVersion": "crmctl/v1", "kind": "PermissionSet", "metadata": {"name": "Bench_Admin", "owner": "security"},
         "spec": {"label": "Bench admin", "system": ["ModifyAllData"]}},
        {"apiVersion": "crmctl/v1", "kind": "PermissionSet", "metadata": {"name": "Bench_Auditor", "owner": "security"},
         "spec": {"label": "Bench auditor", "system": ["ViewAllData"]}},
    ]  # fmt: skip
    for i in range(wanted - len(docs)):
        chosen = sorted(rng.sample(sets, k=rng.randint(1, 3)))
        if i < 10:
            chosen.append("Bench_Admin")
        elif i < 30:
            chosen.append("Bench_Auditor")
        email = f"bench.user.{i}@example.com"
        spec = {
            "email": email,
            "lastName": f"User {i}",
            "role": rng.choice(roles),
            "permissionSets": chosen,
        }
        extra.append(
            {
                "apiVersion": "crmctl/v1",
                "kind": "User",
                "metadata": {"name": email, "owner": "hr"},
                "spec": spec,
            }
        )
    (access / "bench-extra.yaml").write_text(yaml.safe_dump_all(extra, sort_keys=False))
    return len(docs) + len(extra) - 2, len(sets) + 2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--resources", type=int, default=6400, help="gen_org size (fields ~ 80%%)")
    parser.add_argument("--format", default="csv", choices=("text", "csv", "json"))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        outdir = Path(tmp)
        counts = generate(outdir, args.resources, args.seed)
        users, sets = _extra_users(outdir, args.users, args.seed)
        print(
            f"organisation: {users} users, {counts['CustomField']} custom fields, "
            f"{counts['CustomObject']} custom objects, {sets} permission sets"
        )
        started, cpu = time.perf_counter(), time.process_time()
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
            code = crmctl(["-C", str(outdir), "access", "--format", args.format])
        total, cpu = time.perf_counter() - started, time.process_time() - cpu
        assert code == 0, f"crmctl access exited {code}"

        env = load_environment("local", outdir)
        t0 = time.perf_counter()
        items = manifest_items(env)
        t1 = time.perf_counter()
        report = effective_access(items, AccessQuery())
        t2 = time.perf_counter()
        if args.format == "csv":
            access_csv(report)
        elif args.format == "json":
            access_json(report, "local", "manifests")
        else:
            access_text(report, "")
        t3 = time.perf_counter()
    print(f"grants: {len(report.grants)}")
    print(
        f"crmctl access --format {args.format}: {total:.2f} s wall, {cpu:.2f} s CPU "
        f"(read manifests {t1 - t0:.2f} s, grants {t2 - t1:.2f} s, render {t3 - t2:.2f} s); "
        f"target < 5 s: {'met' if total < 5 else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
