"""Fault trials: does crmctl's report of a faulted apply match the live CRM?

    python bench/bench_faults.py [--rounds 3] [--kills 20] [--hog]

Runs the fault matrix of tests/faults (each fault class x first/middle/last
chunk x restore on/off) `--rounds` times, and `--kills` kill -9 trials (an
apply in its own process is killed with its next write in flight at the
server, then `crmctl recover` runs while that write may still land). With
`--hog`, a busy process competes for the CPU the whole time. Prints one line
per fault class: trials, how many ended at the old or the new snapshot or in
between, and how many reports disagreed with the live CRM. The target is 0
mismatches.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.faults.matrix import all_trials, run_kill_trial, run_trial  # noqa: E402


def _hog(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="times to run the whole matrix")
    parser.add_argument("--kills", type=int, default=20, help="kill -9 then recover trials")
    parser.add_argument("--hog", action="store_true", help="keep a CPU busy meanwhile")
    args = parser.parse_args()

    hog = None
    if args.hog:
        hog = multiprocessing.Process(target=_hog, args=(3600,), daemon=True)
        hog.start()
    rows: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    failures = []
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            count = 0
            for _ in range(args.rounds):
                for trial in all_trials():
                    count += 1
                    result = run_trial(trial, Path(tmp) / f"t{count}")
                    _tally(rows, trial.fault, result, failures)
            for i in range(args.kills):
                count += 1
                result = run_kill_trial(Path(tmp) / f"t{count}", applied_before_kill=i % 12)
                _tally(rows, "kill-9+recover", result, failures)
    finally:
        if hog is not None:
            hog.terminate()

    print(
        f"{'fault class':<16} {'trials':>6} {'old':>5} {'new':>5} {'partial':>8} {'mismatched':>11}"
    )
    total = defaultdict(int)
    for fault, row in rows.items():
        print(
            f"{fault:<16} {row['trials']:>6} {row['old']:>5} {row['new']:>5} "
            f"{row['partial']:>8} {row['mismatched']:>11}"
        )
        for key, value in row.items():
            total[key] += value
    print(
        f"{'total':<16} {total['trials']:>6} {total['old']:>5} {total['new']:>5} "
        f"{total['partial']:>8} {total['mismatched']:>11}"
    )
    print(f"({time.monotonic() - started:.0f} s{', CPU hog running' if args.hog else ''})")
    for name, problems in failures:
        print(f"MISMATCH {name}: {'; '.join(problems)}")
    return 1 if total["mismatched"] else 0


def _tally(rows, fault: str, result, failures: list) -> None:
    row = rows[fault]
    row["trials"] += 1
    row[result.ended] += 1
    if result.mismatches:
        row["mismatched"] += 1
        failures.append((result.trial.name, result.mismatches))


if __name__ == "__main__":
    raise SystemExit(main())
