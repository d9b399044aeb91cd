"""Virtual tables every environment has: `aaduser`, the Microsoft Entra ID users.

Facts (Microsoft Learn, power-apps/developer/data-platform):
- reference/entities/aaduser ("Microsoft Entra ID (aaduser) table/entity reference"):
  SchemaName and LogicalName `aaduser`, EntitySetName, CollectionSchemaName and
  LogicalCollectionName `aadusers`, DisplayName "Microsoft Entra ID" (collection "Microsoft
  Entra IDs"), PrimaryIdAttribute `aaduserid` (Uniqueidentifier, RequiredLevel SystemRequired,
  IsValidForUpdate false), PrimaryNameAttribute `displayname`, **TableType Virtual**,
  OwnershipType OrganizationOwned; added by the "Metadata Extension Solution".
- webapi/reference/aaduser ("aaduser EntityType"): the columns below and their types;
  `createddatetime` is read-only.
- aaduser-entity ("Azure Active Directory user table"): present in every (online) environment
  with no configuration; "Only read and read-multiple operations are possible"; a lookup to
  it can be added like to any table; its examples filter on `surname`, `companyname`,
  `usertype`.

Here the table is an EntityMetadata document like the others (so it can be the referenced
table of a one-to-many relationship), marked `TableType: Virtual`, not customizable, with
no columns that a stored table gets (createdon, versionnumber …). Its rows are served
read-only: a create, update or delete answers 400 (see `records.handle`). It has no rows
unless a test seeds them through the store.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from crmctl.sandbox.dataverse import model, state

__all__ = ["seed_virtual_tables", "READ_ONLY_MESSAGE"]

READ_ONLY_MESSAGE = (
    "The virtual table {name} supports only Retrieve and RetrieveMultiple "
    "(its rows come from Microsoft Entra ID through Microsoft Graph)."
)

#: (logical name, type, display name, read-only) of aaduser's columns (webapi/reference/aaduser).
_AADUSER_COLUMNS: list[tuple[str, str, str, bool]] = [
    ("accountenabled", "Boolean", "Microsoft Entra ID Account Enabled", False),
    ("businessphones", "String", "Business Phones", False),
    ("city", "String", "City", False),
    ("companyname", "String", "Company Name", False),
    ("createddatetime", "DateTime", "Created Date Time", True),
    ("displayname", "String", "Display Name", False),
    ("givenname", "String", "Given Name", False),
    ("id", "Uniqueidentifier", "A unique identifer for Microsoft Entra ID", False),
    ("surname", "String", "Surname", False),
    ("usertype", "String", "User Type", False),
]


def _column(name: str, kind: str, display: str, read_only: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "@odata.type": "UniqueIdentifierAttributeMetadata"
        if kind == "Uniqueidentifier"
        else f"{kind}AttributeMetadata",
        "SchemaName": name,
        "DisplayName": model.label(display),
        "IsPrimaryName": name == "displayname",
    }
    if kind == "String":
        body["MaxLength"] = 100 if name == "businessphones" else 256
    if kind == "DateTime":
        body["Format"] = "DateAndTime"
    attr = model.build_attribute(body, "aaduser", option_prefix=1, custom=False)
    if read_only:
        attr["IsValidForCreate"] = attr["IsValidForUpdate"] = False
    return attr


def seed_virtual_tables(conn: sqlite3.Connection) -> None:
    """Add aaduser to a new environment (its EntityMetadata; no rows)."""
    from crmctl.sandbox.dataverse import seed

    body = {
        "SchemaName": "aaduser",
        "DisplayName": model.label("Microsoft Entra ID"),
        "DisplayCollectionName": model.label("Microsoft Entra IDs"),
        "Description": model.label("Virtual entity that represents Microsoft Entra ID"),
        "OwnershipType": "OrganizationOwned",
    }
    columns = [_column(*c) for c in _AADUSER_COLUMNS]
    entity = seed.create_table(conn, body, custom=False, option_prefix=1, columns=columns)
    doc = entity.doc
    stored_only = {"createdon", "modifiedon", "createdby", "modifiedby", "versionnumber"}
    doc["Attributes"] = [a for a in doc["Attributes"] if a["LogicalName"] not in stored_only]
    primary = next(a for a in doc["Attributes"] if a["LogicalName"] == "aaduserid")
    primary["RequiredLevel"] = {**primary["RequiredLevel"], "Value": "SystemRequired"}
    primary["IsValidForCreate"] = False
    doc.update(
        CollectionSchemaName="aadusers",
        PrimaryNameAttribute="displayname",
        TableType="Virtual",
        IsManaged=True,
        IsCustomizable={"Value": False, "CanBeChanged": False},
        CanCreateAttributes={"Value": False, "CanBeChanged": False},
        IsAuditEnabled={"Value": False},
        _read_only=True,
    )
    state.save_entity(conn, entity)
