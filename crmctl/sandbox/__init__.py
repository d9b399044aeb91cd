"""The sandbox CRM that ships with crmctl: configuration in SQLite, in-process or over HTTP.

    store = SandboxStore.open(".crmctl/sandbox.db")
    token = store.initialise()                      # the built-in admin's token
    store.put_config("CustomObject", "Invoice__c", {"label": "Invoice"}, actor="me")
    server = start_server(store)                    # http://127.0.0.1:<port>/api/v1
    server.stop()

Exception tree::

    CrmctlError (crmctl.errors)
     └── SandboxError      a refused request: HTTP status, stable code, details
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crmctl.sandbox.auth import Principal
    from crmctl.sandbox.db import SCHEMA_VERSION, SandboxError
    from crmctl.sandbox.faults import FaultInjector
    from crmctl.sandbox.rules import conversion_allowed
    from crmctl.sandbox.server import (
        Request,
        Route,
        RunningServer,
        default_routes,
        serve_forever,
        start_server,
    )
    from crmctl.sandbox.store import SandboxStore

#: Where each public name lives. The package imports them on first use, so that a
#: command needing one small part (e.g. crmctl.sandbox.permissions for the access
#: report) does not load the HTTP server, the store and their dependencies.
_HOMES = {
    "Principal": "crmctl.sandbox.auth",
    "SCHEMA_VERSION": "crmctl.sandbox.db",
    "SandboxError": "crmctl.sandbox.db",
    "FaultInjector": "crmctl.sandbox.faults",
    "conversion_allowed": "crmctl.sandbox.rules",
    "Request": "crmctl.sandbox.server",
    "Route": "crmctl.sandbox.server",
    "RunningServer": "crmctl.sandbox.server",
    "default_routes": "crmctl.sandbox.server",
    "serve_forever": "crmctl.sandbox.server",
    "start_server": "crmctl.sandbox.server",
    "SandboxStore": "crmctl.sandbox.store",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value


__all__ = [
    "SandboxStore",
    "SandboxError",
    "Principal",
    "FaultInjector",
    "Request",
    "RunningServer",
    "Route",
    "default_routes",
    "start_server",
    "serve_forever",
    "conversion_allowed",
    "SCHEMA_VERSION",
]
