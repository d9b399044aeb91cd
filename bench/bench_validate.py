"""How long `crmctl validate` takes on a large organisation.

    python bench/bench_validate.py [PROJECT] [--resources 10000] [--runs 3]

Without PROJECT, a synthetic organisation is generated (bench/gen_org.py)
into a temporary folder. `crmctl validate` then runs in this process
`--runs` times; the first run is reported separately because it also pays
for building the schema validators. The target is under 2 seconds (median)
for 10,000 resources.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_org import generate  # noqa: E402

from crmctl.cli import main as crmctl  # noqa: E402

TARGET_SECONDS = 2.0


def validate_once(project: Path) -> tuple[float, int, str]:
    """(seconds, exit code, last line printed) of one in-process `crmctl validate`."""
    out = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = crmctl(["--no-color", "-C", str(project), "validate"])
    elapsed = time.perf_counter() - started
    lines = out.getvalue().strip().splitlines()
    return elapsed, code, lines[-1] if lines else ""


def bench(project: Path, runs: int) -> int:
    times = []
    summary = ""
    for i in range(runs):
        elapsed, code, summary = validate_once(project)
        if code != 0:
            print(f"validate failed (exit {code}): {summary}", file=sys.stderr)
            return 1
        times.append(elapsed)
        print(f"run {i + 1}: {elapsed:.2f} s")
    found = re.search(r"(\d+) resources in (\d+) files", summary)
    resources, files = found.groups() if found else ("?", "?")
    median = statistics.median(times)
    verdict = "within" if median < TARGET_SECONDS else "OVER"
    print(
        f"validate: {resources} resources in {files} files: median {median:.2f} s of {runs} "
        f"(first run {times[0]:.2f} s); {verdict} the {TARGET_SECONDS:.0f} s target"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "project", nargs="?", type=Path, help="a project folder (default: generate)"
    )
    parser.add_argument("--resources", type=int, default=10_000, help="when generating")
    parser.add_argument("--seed", type=int, default=1, help="when generating")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    if args.project is not None:
        return bench(args.project.resolve(), args.runs)
    with tempfile.TemporaryDirectory(prefix="crmctl-bench-") as tmp:
        started = time.perf_counter()
        generate(Path(tmp), args.resources, args.seed)
        print(f"generated {args.resources} resources in {time.perf_counter() - started:.1f} s")
        return bench(Path(tmp), args.runs)


if __name__ == "__main__":
    raise SystemExit(main())
