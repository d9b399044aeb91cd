"""`crmctl apply` asks for 'yes' on a terminal: driven through a real pseudo-terminal."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_on_terminal(project: Path, answer: str) -> tuple[int, str]:
    master, slave = pty.openpty()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "NO_COLOR": "1",
        "CRMCTL_ACTOR": "tester@example.com",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "crmctl", "apply", "--target", "Role/*"],
        cwd=project,
        env=env,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        close_fds=True,
    )
    os.close(slave)
    output = b""
    answered = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
        if not answered and b"Only 'yes' is accepted" in output:
            os.write(master, answer.encode() + b"\n")
            answered = True
        if proc.poll() is not None and not ready:
            break
    code = proc.wait(30)
    os.close(master)
    return code, output.decode().replace("\r\n", "\n")


def test_yes_applies(project):
    code, output = run_on_terminal(project, "yes")
    assert code == 0, output
    assert (
        "Plan: 9 to add, 0 to change, 0 to destroy.\nDo you want to apply these changes? Only 'yes' is accepted: yes\n"
        in output
    )
    assert output.rstrip().endswith(
        "Apply complete: 9 added, 0 changed, 0 destroyed. Recorded as v1 of local."
    )


def test_anything_else_cancels_and_changes_nothing(project):
    code, output = run_on_terminal(project, "y")
    assert code == 1, output
    assert output.rstrip().endswith("Error: apply cancelled; nothing was applied")
    assert not (project / ".crmctl" / "history" / "local" / "versions").exists()
