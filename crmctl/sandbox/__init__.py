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
