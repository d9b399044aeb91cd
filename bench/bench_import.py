"""`crmctl import --from sfdx` of a large synthetic org (targets: < 8 s and < 300 MB).

    python bench/bench_import.py [--runs 1] [--small]

bench/gen_sfdx.py writes the project (90 objects, 3,600 fields, 100
validation rules, 100 roles, 70 profiles and 70 permission sets with 3,000
field permissions each; `--small` a tenth of it, for a quick run); the
import runs as its own process. Wall time, CPU time and that process's peak
RSS are reported, with the bytes of YAML it wrote (about 7.8 MB, 7.2 MB of
them permission sets: the cost issue 15 is about). The import leaves
profiles to the org, so the permission sets carry that volume; the bench
stops with an error if the import did not write one manifest per generated
permission set (it would be measuring less than the issue asks).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_sfdx import generate  # noqa: E402
from measure import Row, crmctl, print_rows, run, tree_bytes  # noqa: E402

#: --small: a tenth of the org.
SMALL: dict[str, int] = {"objects": 9, "fields": 360, "rules": 10, "roles": 10, "profiles": 7,
         "permission_sets": 7, "field_permissions": 300}  # fmt: skip


def bench(runs: int = 1, small: bool = False) -> list[Row]:
    sizes = SMALL if small else {}
    runs = max(runs, 1)
    with tempfile.TemporaryDirectory(prefix="crmctl-sfdx-") as tmp:
        source = Path(tmp) / "org"
        files = generate(source, **sizes)
        sets = len(list(source.rglob("*.permissionset-meta.xml")))
        results = []
        for i in range(runs):
            out = Path(tmp) / f"out{i}"
            results.append(run(crmctl("import", "--from", "sfdx", str(source), "--out", str(out))))
            written = len(list((out / "permission-sets").glob("*.yaml")))
            if written != sets:
                raise SystemExit(
                    f"import wrote {written} permission-set manifest(s) for {sets} permission "
                    "set(s): the bench would measure less YAML than issue 15 asks"
                )
        yaml_mb = tree_bytes(out) / 1e6
        sets_mb = tree_bytes(out / "permission-sets") / 1e6
    wall = statistics.median(r.seconds for r in results)
    cpu = statistics.median(r.cpu for r in results)
    peak = max(r.peak_mb for r in results)
    size = "small" if small else "full"
    return [
        Row(
            f"import --from sfdx ({size}, wall)",
            wall,
            8.0,
            " s",
            f"{files} metadata files; wrote {yaml_mb:.1f} MB of YAML, "
            f"{sets_mb:.1f} MB of it permission sets",
        ),
        Row(f"import --from sfdx ({size}, CPU)", cpu, 8.0, " s", "user+sys"),
        Row(f"import --from sfdx ({size}, peak RSS)", peak, 300.0, " MB"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--small", action="store_true", help="a tenth of the org, for CI")
    args = parser.parse_args(argv)
    print_rows(bench(args.runs, args.small), "Large-org import")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
