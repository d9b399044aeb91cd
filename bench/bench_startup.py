"""How long `crmctl --version` and `crmctl --help` take (target: < 0.15 s each).

    python bench/bench_startup.py [--runs 7]

Each is run as its own process `--runs` times; the median wall time and the
median CPU time (user + system: on a machine others keep busy, wall time
mostly measures waiting) are reported next to those of a bare `python -c
pass`, the floor no import can go below.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import Row, crmctl, print_rows, run  # noqa: E402

TARGET_SECONDS = 0.15


def median_seconds(command: list[str], runs: int) -> tuple[float, float]:
    """Median wall and CPU seconds."""
    results = [run(command) for _ in range(runs)]
    return (
        statistics.median(r.seconds for r in results),
        statistics.median(r.cpu for r in results),
    )


def bench(runs: int = 7) -> list[Row]:
    floor, floor_cpu = median_seconds([sys.executable, "-c", "pass"], runs)
    rows = []
    for args in (["--version"], ["--help"]):
        seconds, cpu = median_seconds(crmctl(*args), runs)
        rows.append(
            Row(
                f"crmctl {args[0]} (wall)",
                seconds,
                TARGET_SECONDS,
                " s",
                f"median of {runs}; python -c pass: {floor:.3f} s",
            )
        )
        rows.append(
            Row(
                f"crmctl {args[0]} (CPU)",
                cpu,
                TARGET_SECONDS,
                " s",
                f"user+sys, less sensitive to a busy machine; python -c pass: {floor_cpu:.3f} s",
            )
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    print_rows(bench(args.runs), "Startup")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
