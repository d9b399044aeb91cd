"""Run every performance bench of issues 14 and 15 and print one table of each figure against its target.

    python bench/run_all.py            # the issue's sizes: 10k and 100k resources, the full org
    python bench/run_all.py --quick    # CI-sized: 1k and 10k resources, a tenth of the org

Each bench can also run alone (bench/bench_startup.py, bench/bench_import.py,
bench/bench_scale.py, bench/bench_dataverse.py); see bench/README.md. Exit status 0 whatever the
figures (a bench informs, it does not gate); 1 only when a bench itself fails.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_dataverse  # noqa: E402
import bench_import  # noqa: E402
import bench_scale  # noqa: E402
import bench_startup  # noqa: E402
from measure import Row, print_rows  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for CI")
    parser.add_argument(
        "--sizes",
        help="resource counts for the scale bench (default 10000,100000; quick 1000,10000)",
    )
    args = parser.parse_args(argv)
    sizes = args.sizes or ("1000,10000" if args.quick else "10000,100000")
    started = time.perf_counter()
    rows: list[Row] = []
    print("== startup", flush=True)
    rows += bench_startup.bench(runs=5)
    print("== import --from sfdx", flush=True)
    rows += bench_import.bench(small=args.quick)
    print(f"== validate, plan, apply at {sizes}", flush=True)
    rows += bench_scale.bench([int(s) for s in sizes.split(",")])
    columns = [200, 1000] if args.quick else [1000, 5000]
    print(f"== Dataverse plan at {columns[0]} and {columns[1]} columns", flush=True)
    rows += bench_dataverse.bench(columns, tables=10 if args.quick else 50)
    print_rows(rows, f"Issue 14 and 15 targets ({time.perf_counter() - started:.0f} s of benches)")
    met = sum(r.met for r in rows)
    print(f"\n{met} of {len(rows)} figures within their targets.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
