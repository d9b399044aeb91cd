"""`crmctl import --from sfdx` of a large synthetic org (targets: < 8 s and < 300 MB).

    python bench/bench_import.py [--runs 1] [--small]

bench/gen_sfdx.py writes the project (90 objects, 3,600 fields, 100
validation rules, 100 roles, 70 profiles with 3,000 field permissions each;
`--small` a tenth of it, for a quick run); the import runs as its own
process. Wall time, CPU time and that process's peak RSS are reported.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_sfdx import generate  # noqa: E402
from measure import Row, crmctl, print_rows, run  # noqa: E402


def bench(runs: int = 1, small: bool = False) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="crmctl-sfdx-") as tmp:
        source = Path(tmp) / "org"
        files = generate(source, 9, 360, 10, 10, 7, 300) if small else generate(source)
        results = []
        for i in range(runs):
            results.append(
                run(crmctl("import", "--from", "sfdx", str(source), "--out", f"{tmp}/out{i}"))
            )
    wall = statistics.median(r.seconds for r in results)
    cpu = statistics.median(r.cpu for r in results)
    peak = max(r.peak_mb for r in results)
    size = "small" if small else "full"
    return [
        Row(f"import --from sfdx ({size}, wall)", wall, 8.0, " s", f"{files} metadata files"),
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
