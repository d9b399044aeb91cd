"""The sandbox speaks Dataverse: Entra ID client credentials and the Web API v9.2.

**Registering an application user** (what a test or a user does first)::

    from pathlib import Path
    from crmctl.sandbox import SandboxStore, start_server
    from crmctl.sandbox.dataverse import register_application_user
    from crmctl.sandbox.tls import ensure_certificates, server_context, tls_folder

    store = SandboxStore.open("sandbox.db")
    register_application_user(store, "11111111-2222-3333-4444-555555555555", "s3cret",
                              role="System Administrator")      # or "System Customizer"
    files = ensure_certificates(tls_folder(Path("sandbox.db")))
    server = start_server(store, tls=server_context(files))      # https; trust files.ca
    # environment URL = server.url (e.g. https://127.0.0.1:PORT); tenant: any name
    # authority = f"{server.url}/{tenant}"; msal: instance_discovery=False
    # REQUESTS_CA_BUNDLE=str(files.ca) for requests, msal and Microsoft's client

or on the command line: `crmctl sandbox dataverse-app add --client-id ID
--secret-env VAR [--role "System Administrator"]` (`… list` shows them). A token then comes from
`POST {url}/{tenant}/oauth2/v2.0/token` (grant_type=client_credentials,
client_id, client_secret, scope={url}/.default) and is sent as
`Authorization: Bearer …` to `{url}/api/data/v9.2/`. The token is good only
for the environment URL of its scope (its audience), as Dataverse checks.

A new environment holds: the root business unit (`sandbox`, no parent), the roles System
Administrator (roletemplateid 627090ff-40a3-4053-8790-584edc5be201: may do anything) and
System Customizer (119f245c-3cc8-4b62-b31c-d1a046ced15d: may change metadata), the solution
`Default` of the publisher `DefaultPublisher` (prefix `new`, option values 10000xxxx), the
System Administrator field security profile (572329c1-a042-4e22-be47-367c6374ea45), and the
system tables listed below with their privileges (prvReadAccount, prvCreateRole …). Other
roles need table privileges. Asynchronous jobs finish after being read `asyncPolls` times
(default 1): `crmctl.sandbox.dataverse.jobs.configure(store, asyncPolls=N)`.

These routes answer over the same store as the sandbox's own API, in
Dataverse's shapes, documented by Microsoft (reference:
../shared/reference/DATAVERSE_HUBSPOT.md), not in the sandbox's openapi.json:

    GET  /{tenant}/v2.0/.well-known/openid-configuration      (identity)
    POST /{tenant}/oauth2/v2.0/token
    GET  /api/data/v9.2/WhoAmI, RetrieveRolePrivilegesRole(RoleId=…), RetrievePrivilegeSet,
         RetrieveDependenciesForDelete(ObjectId=…,ComponentType=…)
    …    /api/data/v9.2/EntityDefinitions[(…)[/Attributes[(…)][/{cast}]]]        (metadata)
    …    /api/data/v9.2/GlobalOptionSetDefinitions[(…)[/{cast}]]
    …    /api/data/v9.2/RelationshipDefinitions[(…)] (one-to-many, with the lookup column),
         EntityDefinitions(…)/OneToManyRelationships, …/ManyToOneRelationships
    GET  /api/data/v9.2/RetrieveMetadataChanges(Query=@p1[,ClientVersionStamp=@p2,
         DeletedMetadataFilters=@p3])
    POST /api/data/v9.2/CreateEntities, InsertOptionValue, UpdateOptionValue,
         DeleteOptionValue, OrderOption, PublishXml, PublishAllXml
    …    /api/data/v9.2/{entity set}[(id)]   rows of every table: account, contact, custom
         tables, roles, privileges, businessunits, systemusers, fieldsecurityprofiles,
         fieldpermissions, duplicaterules, duplicateruleconditions, asyncoperations,
         bulkdeleteoperations, retentionconfigs, audits, solutions, solutioncomponents,
         publishers (GET, POST, PATCH (upsert), DELETE; paged)
         rows take $select, $filter (date-times compare as instants), $orderby, $top, $count
         and $expand: N:N (systemuserroles_association, systemuserprofiles_association,
         roleprivileges_association, from either side), one-to-many (a custom relationship's
         name, lk_fieldpermission_fieldsecurityprofileid, business_unit_system_users,
         business_unit_roles, business_unit_parent_business_unit), or a lookup column
         (single-valued); an unknown one is a 400, never ignored
    POST /api/data/v9.2/{entity set}/Microsoft.Dynamics.CRM.CreateMultiple
    POST /api/data/v9.2/roles(id)/Microsoft.Dynamics.CRM.AddPrivilegesRole,
         ReplacePrivilegesRole, RemovePrivilegeRole
    GET  /api/data/v9.2/roles(id)/roleprivileges_association, roleprivilegescollection
    …    /api/data/v9.2/systemusers(id)/systemuserroles_association[(roleid)][/$ref],
         systemuserprofiles_association[/$ref]
    POST /api/data/v9.2/duplicaterules(id)/Microsoft.Dynamics.CRM.PublishDuplicateRule,
         UnpublishDuplicateRule; PublishDuplicateRule (unbound, DuplicateRuleId); BulkDelete
    POST /api/data/v9.2/$batch                 multipart/mixed, atomic change sets

Modules: `identity` (Entra), `api` (tokens, faults, dispatch), `odata` (paths,
$filter, errors), `state` (the dv_* tables), `seed` (a new environment),
`model` (metadata documents), `metadata`, `choices` (global choices, options,
publishing), `metadata_changes` (RetrieveMetadataChanges), `relationships`, `security`, `records`,
`expand` ($expand on rows), `jobs`
(duplicate rules, async operations, bulk delete, retention), `batch`.

This package is an independent implementation of Dataverse's documented API:
it never imports `crmctl.providers` (tests/architecture/test_dataverse_emulator.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crmctl.sandbox.server import Route

__all__ = ["routes", "register_application_user", "registered_apps"]


def register_application_user(*args: object, **kwargs: object) -> str:
    """See crmctl.sandbox.dataverse.security.register_application_user."""
    _load()
    from crmctl.sandbox.dataverse.security import register_application_user as register

    return register(*args, **kwargs)  # type: ignore[arg-type]


def registered_apps(store: object) -> list[tuple[str, str, list[str]]]:
    """(client id, systemuserid, role names) of every registered app."""
    _load()
    from crmctl.sandbox.dataverse.security import registered_apps as apps

    return apps(store)  # type: ignore[arg-type]


def _load() -> None:
    from crmctl.sandbox.dataverse import (  # noqa: F401
        batch,
        choices,
        jobs,
        metadata,
        metadata_changes,
        records,
        relationships,
        security,
    )


def routes() -> list[Route]:
    """Every Dataverse-compatible endpoint, for the sandbox server's route table."""
    _load()
    from crmctl.sandbox.dataverse import api, identity

    return [*identity.routes(), *api.routes()]
