"""The sandbox speaks Salesforce: OAuth, REST (SOQL, sObjects) and the Metadata API.

These routes answer under `/services` over the same store as the sandbox's
own API (`/api/v1`), so both see one configuration. They are a separate API
with Salesforce's shapes and errors, documented by Salesforce, not in the
sandbox's openapi.json:

    POST /services/oauth2/token                  JWT bearer and client-credentials flows
    GET  /services/data/vNN.0/query?q=SOQL        users, roles, permission sets, assignments
    ...  /services/data/vNN.0/sobjects/...        User, PermissionSetAssignment
    ...  /services/data/vNN.0/composite/sobjects  collections of up to 200
    POST /services/Soap/m/NN.0                    listMetadata, retrieve, deploy (+ status)

Modules: `oauth` (token endpoint), `api` (sessions, limits, error shapes),
`soql` and `sobjects` (queries, reads), `writes` (sObject and collection
writes), `metadata` (the SOAP operations), `deploy` (a deploy against the
org), `components` and `mdxml` (Metadata API files), `catalog` (each
component's XML as deployed) and `specs` (what the store enforces of it).
Set-up (connected apps, the API limit, session lifetime) is in `state`, and
on the command line: `crmctl sandbox connected-app add`,
`crmctl sandbox api-limit`.

This package is an independent implementation of Salesforce's documented
API: it never imports `crmctl.providers`, so that the Salesforce provider
and this org check each other (tests/sandbox/salesforce/test_independence.py).
"""

from __future__ import annotations

from crmctl.sandbox.server import Route

__all__ = ["routes"]


def routes() -> list[Route]:
    """Every Salesforce-compatible endpoint, for the sandbox server's route table."""
    from crmctl.sandbox.salesforce import cli_compat, metadata, oauth, sobjects

    # cli_compat first: it answers a few of sobjects' paths before them (see its docstring).
    return [*cli_compat.routes(), *oauth.routes(), *sobjects.routes(), *metadata.routes()]
