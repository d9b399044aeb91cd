"""The Dataverse (Dynamics 365) provider: configuration through the Dataverse Web API.

    auth      OAuth client credentials through msal (token cache and refresh)
    webapi    OData requests, paging by @odata.nextLink, $batch and change sets
    columns   table and column metadata <-> CustomObject and CustomField specs
    security  security roles, business units and users <-> crmctl specs
    reads     the live configuration in a constant number of requests
    writes    one change through the Web API (PUT with MergeLabels, option actions,
              privilege actions, role assignment), dependencies checked before deletes
    audit     the audit history, for drift attribution
    provider  the provider itself

The sandbox's Dataverse emulator never imports this package: it is the
provider's independent check.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DataverseProvider", "SUPPORTED_KINDS"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from crmctl.providers.dataverse import provider

        return getattr(provider, name)
    raise AttributeError(name)
