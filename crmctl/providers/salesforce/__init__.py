"""The Salesforce provider: Metadata API for configuration, REST for users.

    auth           OAuth JWT bearer and client-credentials login
    connection     one logged-in connection: refresh, limits, backoff
    metadata_xml   Salesforce metadata XML <-> crmctl specs (shared with the importer)
    merge          an update as a change of the org's own XML of a component
    package        retrieve/deploy zips <-> crmctl resources
    metadata_api   listMetadata, retrieve, deploy (polled)
    rest           SOQL queries and sObject Collections
    users          users and permission-set assignments
    provider       the provider itself

`metadata_xml` and `package` need no HTTP library: the importer uses them,
so this package imports the provider only when asked. The sandbox's
Salesforce API never imports this package: it is the provider's
independent check.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SalesforceProvider", "SUPPORTED_KINDS"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from crmctl.providers.salesforce import provider

        return getattr(provider, name)
    raise AttributeError(name)
