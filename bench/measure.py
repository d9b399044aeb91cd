"""Shared helpers for the benches: run a command, time it, read its peak memory; print tables."""

from __future__ import annotations

import compileall
import functools
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Run", "Row", "run", "crmctl", "print_rows", "tree_bytes"]


@dataclass
class Run:
    """One finished process: wall seconds, peak resident memory (MB), exit code, output."""

    seconds: float
    peak_mb: float
    cpu: float  # user + system seconds: what the process itself used, whatever else runs
    code: int
    out: str
    err: str


@dataclass
class Row:
    """One line of a bench table: a measured figure against its target."""

    name: str
    value: float
    target: float
    unit: str = ""
    note: str = ""

    @property
    def met(self) -> bool:
        return self.value <= self.target


def run(
    command: Sequence[str],
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
) -> Run:
    """Run `command` to its end; its wall time and its own peak RSS (os.wait4, not the max of all children)."""
    with tempfile.TemporaryFile("w+") as out_file, tempfile.TemporaryFile("w+") as err_file:
        started = time.perf_counter()
        proc = subprocess.Popen(
            list(command), cwd=cwd, env=env, stdout=out_file, stderr=err_file, text=True
        )
        _, status, usage = os.wait4(proc.pid, 0)  # its own peak RSS, not the max of all children
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out_file.seek(0)
        err_file.seek(0)
        out, err = out_file.read(), err_file.read()
    result = Run(
        seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, proc.returncode, out, err
    )
    if check and result.code not in (0, 2):
        raise SystemExit(
            f"{' '.join(command)} failed with exit {result.code}:\n{err[-3000:]}\n{out[-2000:]}"
        )
    return result


@functools.cache
def _byte_compile() -> None:
    """Compile crmctl's modules once, as installing a wheel does.

    An editable install compiles a module at its first import and keeps the
    result, unless PYTHONDONTWRITEBYTECODE is set (as on some CI machines):
    then every run would compile every module again, and the benches would
    measure the compiler.
    """
    import crmctl as package

    compileall.compile_dir(Path(package.__file__).parent, quiet=1)


def crmctl(*args: str) -> list[str]:
    """The command line that runs crmctl with this Python (the bench's own venv)."""
    _byte_compile()
    return [sys.executable, "-m", "crmctl", *args]


def tree_bytes(folder: Path) -> int:
    """Bytes of every YAML file below `folder`."""
    return sum(p.stat().st_size for p in folder.rglob("*.y*ml") if p.is_file())


def print_rows(rows: Sequence[Row], title: str = "") -> None:
    """The rows as a table: figure, target, and whether it is met."""
    if title:
        print(f"\n{title}")
    width = max((len(r.name) for r in rows), default=10)
    print(f"  {'measure'.ljust(width)}  {'value':>10}  {'target':>10}  met")
    for r in rows:
        value = f"{r.value:.2f}{r.unit}"
        target = f"<= {r.target:g}{r.unit}"
        line = f"  {r.name.ljust(width)}  {value:>10}  {target:>10}  {'yes' if r.met else 'NO'}"
        print(line + (f"  ({r.note})" if r.note else ""))
