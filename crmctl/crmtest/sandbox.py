"""A throwaway sandbox CRM holding an environment's desired configuration.

Built in a temporary folder from the manifests (overrides applied) with the
same dependency order `apply` uses; thrown away after the run. Each case runs
in a transaction that is rolled back, so cases never see each other's records.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from email.message import Message
from pathlib import Path
from typing import Any

from crmctl.errors import CrmctlError
from crmctl.model import DesiredState
from crmctl.plan.action import Action
from crmctl.plan.model import Change
from crmctl.plan.ordering import order_changes
from crmctl.plan.planner import canonical
from crmctl.sandbox import auth, records_api
from crmctl.sandbox.db import SandboxError
from crmctl.sandbox.faults import FaultInjector
from crmctl.sandbox.records import OrgModel
from crmctl.sandbox.server import Request
from crmctl.sandbox.store import SandboxStore

__all__ = ["ADMIN", "TestSandbox", "build_sandbox", "configuration_items"]

#: The built-in admin of a test sandbox: who writes `given` records and cases without a user.
ADMIN = "admin@sandbox.local"
_ACTOR = "crmctl test"


class _Rollback(Exception):
    """Ends a case's transaction without keeping anything."""


def configuration_items(state: DesiredState) -> list[dict[str, Any]]:
    """The desired resources as canonical configuration items, in apply order."""
    changes = [
        Change(r.kind, r.name, Action.CREATE, None, canonical(r.kind, r.spec, r.name), [], None, "")
        for r in state.resources.values()
    ]
    return [{"kind": c.kind, "name": c.name, "spec": c.after} for c in order_changes(changes)]


class TestSandbox:
    """A sandbox store with the configuration under test, and calls into its record API."""

    __test__ = False

    def __init__(self, store: SandboxStore) -> None:
        self.store = store
        self._faults = FaultInjector()

    @contextmanager
    def case(self) -> Iterator[Any]:
        """A transaction for one case: everything it writes is rolled back at the end."""
        try:
            with self.store.transaction() as conn:
                yield conn
                raise _Rollback
        except _Rollback:
            pass

    def model(self, conn: Any) -> OrgModel:
        return records_api.org_model(self.store, conn)

    def principal(self, conn: Any, username: str) -> auth.Principal | None:
        return auth.principal_of(conn, username)

    def call(
        self,
        principal: auth.Principal,
        method: str,
        handler: Any,
        params: dict[str, str],
        body: Any = None,
    ) -> tuple[int, Any]:
        """Call a record endpoint as `principal`, exactly as the HTTP server would."""
        request = Request(
            method=method,
            path="",
            params=params,
            query={},
            headers=Message(),
            body=body,
            principal=principal,
            store=self.store,
            faults=self._faults,
        )
        try:
            auth.require_active(principal)
            status, answer, _ = handler(request)
        except SandboxError as err:
            return err.status, err.to_body()
        return status, answer

    def close(self) -> None:
        self.store.close()


def build_sandbox(state: DesiredState, folder: Path, now: datetime) -> TestSandbox:
    """A sandbox in `folder` holding `state`, its clock stopped at `now`."""
    store = SandboxStore.open(folder / "sandbox.db", clock=lambda: now)
    store.initialise(ADMIN)
    try:
        store.batch(
            [{"op": "put", **item} for item in configuration_items(state)],
            _ACTOR,
        )
    except SandboxError as err:
        store.close()
        raise CrmctlError(
            f"the manifests cannot be loaded into a test sandbox: {err.message}",
            hint="run crmctl validate",
        ) from None
    return TestSandbox(store)
