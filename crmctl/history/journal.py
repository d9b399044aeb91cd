"""The apply journal: what an apply is doing, written before each step.

If the process dies (kill -9, power loss) the journal stays behind; every
later command on that environment sees it and refuses to plan or apply
until `crmctl recover` restores the state from before the apply (default)
or finishes the remaining changes. Each entry is written to a temporary
file, fsynced and renamed, so the journal is never half-written.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crmctl.errors import CrmctlError

__all__ = ["Journal", "JournalState", "UnfinishedApplyError"]


class UnfinishedApplyError(CrmctlError):
    """An earlier apply to this environment was interrupted."""


@dataclass
class JournalState:
    """What an interrupted apply left: its plan, the snapshot before it and its progress."""

    environment: str
    actor: str
    pid: int
    host: str
    started: str
    plan: dict[str, Any]
    before: dict[str, Any]
    sent: list[str]  # addresses whose batch was sent (its outcome may be unknown)
    applied: list[str]  # addresses the CRM confirmed

    def describe(self) -> str:
        return (
            f"an apply by {self.actor} started {self.started} (process {self.pid} on {self.host})"
        )


def _write_atomically(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        json.dump(data, out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


class Journal:
    """The journal of one environment: `<env>.json` (progress) and `<env>.data.json` (plan, snapshot)."""

    def __init__(self, folder: Path, env: str) -> None:
        self.path = folder / f"{env}.json"
        self.data_path = folder / f"{env}.data.json"

    def exists(self) -> bool:
        return self.path.exists()

    def read(self) -> JournalState | None:
        try:
            progress = json.loads(self.path.read_text(encoding="utf-8"))
            data = json.loads(self.data_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            if self.path.exists():
                raise UnfinishedApplyError(
                    f"the apply journal {self.path} has lost its data file; an earlier apply may not have finished",
                    hint="inspect the CRM with crmctl plan, then remove the journal files",
                ) from None
            return None
        except (OSError, ValueError) as exc:
            raise UnfinishedApplyError(
                f"the apply journal {self.path} is damaged ({exc}); an earlier apply may not have finished",
                hint="inspect the CRM with crmctl plan, then remove the journal files",
            ) from None
        return JournalState(plan=data["plan"], before=data["before"], **progress)

    def start(self, state: JournalState) -> None:
        """Record an apply about to begin (data first: the progress file is what marks it unfinished)."""
        _write_atomically(self.data_path, {"plan": state.plan, "before": state.before})
        self.progress(state)

    def progress(self, state: JournalState) -> None:
        """Record how far the apply got; called before each batch is sent and after it returns."""
        fields = {k: v for k, v in state.__dict__.items() if k not in ("plan", "before")}
        _write_atomically(self.path, fields)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
        self.data_path.unlink(missing_ok=True)
