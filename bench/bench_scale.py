"""validate, plan and apply at scale: wall time, peak memory and the ratios of issue 15.

    python bench/bench_scale.py [--sizes 10000,100000] [--keep DIR]

For each size a synthetic organisation (bench/gen_org.py) is written and a
sandbox server started in its own process (bench/sandbox_process.py); then,
each as its own `crmctl` process (wall time, and that process's peak RSS):

  - libyaml's C loader (yaml.CSafeLoader) reading every manifest file: the floor;
  - `crmctl validate --no-cache` (cold: every file parsed);
  - `crmctl apply --auto-approve` creating the whole organisation;
  - `crmctl plan` with nothing to change (the parse cache warm, as in CI after a checkout
    whose files did not change) and `crmctl plan --no-cache`;
  - `crmctl validate` with the cache warm.

Printed: a memory table (peak RSS next to the manifests' size on disk) and the
targets: apply(largest)/apply(smallest) scaled to 10x, apply peak memory per
resource, no-change plan / validate <= 1.3, validate / C loader <= 1.5.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_org import generate  # noqa: E402
from measure import Row, Run, crmctl, print_rows, run, tree_bytes  # noqa: E402
from sandbox_process import sandbox_server  # noqa: E402

from crmctl.sandbox.store import SandboxStore  # noqa: E402

C_LOADER = """
import pathlib, sys, yaml
for p in sorted(pathlib.Path(sys.argv[1]).rglob('*.yaml')):
    list(yaml.load_all(p.read_text(encoding='utf-8'), Loader=yaml.CSafeLoader))
"""


def _supports_no_cache() -> bool:
    return "--no-cache" in run(crmctl("validate", "--help")).out


def measure_size(size: int, keep: Path | None) -> dict[str, Run | int]:
    """Every figure for one organisation size."""
    tmp = Path(tempfile.mkdtemp(prefix=f"crmctl-scale-{size}-"))
    try:
        started = time.perf_counter()
        generate(tmp, size, seed=1)
        print(f"[{size}] generated in {time.perf_counter() - started:.1f} s", flush=True)
        db = tmp / "server.db"
        store = SandboxStore.open(db)
        token = store.initialise()
        store.close()
        env = {**os.environ, "CRMCTL_BENCH_TOKEN": token, "CRMCTL_ACTOR": "bench@example.com"}
        no_cache = ["--no-cache"] if _supports_no_cache() else []
        figures: dict[str, Run | int] = {"bytes": tree_bytes(tmp / "manifests")}

        def step(name: str, command: list[str]) -> None:
            result = run(command, cwd=tmp, env=env)
            figures[name] = result
            print(
                f"[{size}] {name}: {result.seconds:.2f} s (CPU {result.cpu:.2f} s), "
                f"peak {result.peak_mb:.0f} MB",
                flush=True,
            )

        with sandbox_server(db) as url:
            (tmp / "environments" / "bench.yaml").write_text(
                f"provider: {{type: sandbox, url: '{url}', tokenEnv: CRMCTL_BENCH_TOKEN}}\n"
                "manifests: [manifests]\n"
                # The synthetic org is not governance-clean; lint still runs, as warnings.
                "lint: {rules: {pii-description: warning, pii-retention: warning}}\n"
            )
            step("C loader", [sys.executable, "-c", C_LOADER, "manifests"])
            step("validate", crmctl("validate", "-e", "bench", *no_cache))
            step("apply", crmctl("apply", "-e", "bench", "--auto-approve"))
            step("plan", crmctl("plan", "-e", "bench", "--detailed-exitcode"))
            if figures["plan"].code != 0:  # type: ignore[union-attr]
                raise SystemExit(f"the plan after apply is not empty:\n{figures['plan'].out}")  # type: ignore[union-attr]
            if no_cache:
                step("plan --no-cache", crmctl("plan", "-e", "bench", *no_cache))
                step("validate (cached)", crmctl("validate", "-e", "bench"))
        if keep is not None:
            shutil.copytree(tmp, keep / str(size), dirs_exist_ok=True)
        return figures
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _ratio_row(
    figures: dict[str, Any],
    top: str,
    bottom: str,
    title: str,
    target: float,
    lead: str | None = None,
) -> Row:
    """Row of `top`'s wall time over `bottom`'s, with the CPU ratio beside it.

    The note is "<top> s / <bottom> s; CPU <ratio>x", or `lead` then the CPU ratio.
    """
    a, b = figures[top], figures[bottom]
    cpu = f"CPU {a.cpu / b.cpu:.2f}x"
    note = f"{a.seconds:.2f} s / {b.seconds:.2f} s; {cpu}" if lead is None else f"{lead}{cpu}"
    return Row(title, a.seconds / b.seconds, target, "x", note)


def rows_for(results: dict[int, dict[str, Run | int]]) -> list[Row]:
    """The targets of issue 15 as measured."""
    rows: list[Row] = []
    sizes = sorted(results)
    for size in sizes:
        f = results[size]
        label = f"{size / 1000:g}k"
        rows.append(_ratio_row(f, "plan", "validate", f"no-change plan / validate ({label})", 1.3))
        if "plan --no-cache" in f:
            rows.append(
                _ratio_row(
                    f,
                    "plan --no-cache",
                    "validate",
                    f"no-change plan --no-cache / validate ({label})",
                    1.3,
                    lead="informative: cache cold; ",
                )
            )
        rows.append(_ratio_row(f, "validate", "C loader", f"validate / C loader ({label})", 1.5))
        if "validate (cached)" in f:
            rows.append(
                _ratio_row(
                    f,
                    "validate (cached)",
                    "C loader",
                    f"validate, cache warm / C loader ({label})",
                    1.5,
                    lead="",
                )
            )
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        factor = large / small
        ratio = results[large]["apply"].seconds / results[small]["apply"].seconds  # type: ignore[union-attr]
        rows.append(
            Row(
                f"apply({large // 1000}k) / apply({small // 1000}k)",
                ratio,
                1.1 * factor,
                "x",
                f"{results[large]['apply'].seconds:.1f} s / {results[small]['apply'].seconds:.1f} s; "  # type: ignore[union-attr]
                f"client CPU {results[large]['apply'].cpu / results[small]['apply'].cpu:.2f}x",  # type: ignore[union-attr]
            )
        )
        slope = (
            (results[large]["apply"].peak_mb - results[small]["apply"].peak_mb)  # type: ignore[union-attr]
            * 1024
            / (large - small)
        )
        rows.append(Row("apply memory per resource", slope, 5.0, " KB", "peak RSS slope"))
    large = sizes[-1]
    cap = 100 + 5 * large / 1024  # a 100 MB baseline, then 5 KB a resource: 588 MB at 100k
    rows.append(
        Row(
            f"apply peak memory ({large // 1000}k)",
            results[large]["apply"].peak_mb,  # type: ignore[union-attr]
            cap,
            " MB",
        )
    )
    return rows


def print_memory(results: dict[int, dict[str, Run | int]]) -> None:
    print("\nPeak memory (RSS of each crmctl process) next to the manifests on disk")
    print(f"  {'resources':>9}  {'manifests':>10}  {'validate':>9}  {'plan':>9}  {'apply':>9}")
    for size in sorted(results):
        f = results[size]
        mb = f["bytes"] / 1e6  # type: ignore[operator]
        print(
            f"  {size:>9}  {mb:>7.1f} MB  {f['validate'].peak_mb:>6.0f} MB  "  # type: ignore[union-attr]
            f"{f['plan'].peak_mb:>6.0f} MB  {f['apply'].peak_mb:>6.0f} MB"  # type: ignore[union-attr]
        )


def bench(sizes: list[int], keep: Path | None = None) -> list[Row]:
    results = {size: measure_size(size, keep) for size in sizes}
    print_memory(results)
    return rows_for(results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated resource counts")
    parser.add_argument("--keep", type=Path, help="copy each generated project here")
    args = parser.parse_args(argv)
    rows = bench([int(s) for s in args.sizes.split(",")], args.keep)
    print_rows(rows, "Targets (issue 15)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
