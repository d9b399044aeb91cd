"""Reading a Dataverse environment's configuration in a constant number of requests.

    tables and columns   1 GET of RetrieveMetadataChanges: every table with its
                         columns, each column as its derived type with the properties
                         crmctl needs (length, precision, format, options, targets);
                         metadata is not paged
    security roles       1 paged GET of the root unit's roles, 1 $batch (per 1,000)
                         of RetrieveRolePrivilegesRole for their depths
    business units       1 paged GET
    users                1 paged GET with their roles and field security
                         profiles expanded (the profiles themselves: fieldsecurity)

So the number of requests grows with the kinds read and with pages of 5,000
rows (or batches of 1,000), never with the number of resources.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from crmctl.dialect import DATAVERSE, is_custom_field, is_custom_object, microsoft_prefix
from crmctl.errors import ProviderError
from crmctl.model import Resource
from crmctl.providers.dataverse import columns, rules, security, userprofiles
from crmctl.providers.dataverse.webapi import BatchPart, WebApi, odata_error

__all__ = ["Snapshot", "read_metadata", "read_roles", "read_units", "read_users", "read_rules"]

_TABLE_SELECT = (
    "MetadataId,LogicalName,SchemaName,DisplayName,DisplayCollectionName,Description,"
    "IsCustomEntity,PrimaryNameAttribute,ObjectTypeCode"
)
_COLUMN_SELECT = (
    "MetadataId,LogicalName,SchemaName,AttributeType,DisplayName,Description,RequiredLevel,"
    "IsCustomAttribute,IsPrimaryName,AttributeOf"
)
_DETAIL_SELECT = {
    "StringAttributeMetadata": "LogicalName,MaxLength,FormatName,AutoNumberFormat",
    "MemoAttributeMetadata": "LogicalName,MaxLength",
    "DecimalAttributeMetadata": "LogicalName,Precision",
    "DoubleAttributeMetadata": "LogicalName,Precision",
    "MoneyAttributeMetadata": "LogicalName,Precision",
    "DateTimeAttributeMetadata": "LogicalName,Format",
    "BooleanAttributeMetadata": "LogicalName,DefaultValue",
    "PicklistAttributeMetadata": "LogicalName,DefaultFormValue",
    "MultiSelectPicklistAttributeMetadata": "LogicalName,DefaultFormValue",
    "LookupAttributeMetadata": "LogicalName,Targets",
}


@dataclass
class Snapshot:
    """What the last read saw, by name: ids and raw rows the writes need."""

    tables: dict[str, dict[str, Any]] = field(default_factory=dict)  # logical name -> row
    columns: dict[str, dict[str, Any]] = field(default_factory=dict)  # table.column -> row
    roles: dict[str, dict[str, Any]] = field(default_factory=dict)  # PermissionSet name -> row
    units: dict[str, dict[str, Any]] = field(default_factory=dict)  # Role name -> row
    root_unit: str | None = None
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # username -> row
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)  # table.Rule -> row
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)  # field security profiles
    retention: dict[str, dict[str, Any]] = field(default_factory=dict)  # RetentionPolicy -> row
    #: (root role id, business unit id) -> the id of the role's copy in that unit
    role_copies: dict[tuple[str, str], str] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)  # note -> addresses


def metadata_query() -> str:
    """The EntityQueryExpression (JSON) of `read_metadata`: every table, the properties of
    it crmctl reads, and its columns with their derived types' properties (REF §A2)."""
    column = set(_COLUMN_SELECT.split(","))
    for select in _DETAIL_SELECT.values():
        column.update(select.split(","))
    column.add("OptionSet")
    query = {
        "Properties": {
            "AllProperties": False,
            "PropertyNames": [*_TABLE_SELECT.split(","), "Attributes"],
        },
        "AttributeQuery": {"Properties": {"AllProperties": False, "PropertyNames": sorted(column)}},
    }
    return json.dumps(query, separators=(",", ":"))


def read_metadata(api: WebApi, snapshot: Snapshot, kinds: set[str]) -> list[Resource]:
    """Custom tables (CustomObject) and custom columns (CustomField) of every table.

    One RetrieveMetadataChanges: each column comes as its derived type (a cast would
    need a request per table and type), and the server builds each column once."""
    entities = api.get("RetrieveMetadataChanges(Query=@p1)", {"@p1": metadata_query()}).get(
        "EntityMetadata", []
    )
    wanted: list[tuple[str, dict[str, Any]]] = []
    out: list[Resource] = []
    for entity in entities:
        table = str(entity["LogicalName"])
        snapshot.tables[table] = entity
        for attribute in entity.get("Attributes") or []:
            # Dataverse says which columns are custom; the name tells only when it does not.
            # Microsoft's own (msdyn_…, an app's) are never crmctl's, whatever the flag says.
            column = str(attribute.get("LogicalName"))
            custom = attribute.get(
                "IsCustomAttribute", is_custom_field(column, DATAVERSE)
            ) and not microsoft_prefix(column)
            if not custom or attribute.get("IsPrimaryName"):
                continue
            if attribute.get("AttributeOf"):
                continue  # a helper column of another (a lookup's name, a money's base)
            snapshot.columns[f"{table}.{attribute['LogicalName']}"] = attribute
            wanted.append((table, attribute))
    details = {f"{table}.{a['LogicalName']}": a for table, a in wanted}
    for entity in entities:
        table = str(entity["LogicalName"])
        if (
            "CustomObject" in kinds
            and entity.get("IsCustomEntity", is_custom_object(table, DATAVERSE))
            and not microsoft_prefix(table)
        ):
            primary = next(
                (
                    a
                    for a in entity.get("Attributes") or []
                    if a.get("LogicalName") == entity.get("PrimaryNameAttribute")
                ),
                None,
            )
            out.append(Resource("CustomObject", table, columns.table_spec(entity, primary)))
    if "CustomField" in kinds:
        for table, attribute in wanted:
            name = f"{table}.{attribute['LogicalName']}"
            spec = columns.column_spec(attribute, details.get(name))
            if spec is None:
                snapshot.notes.setdefault(
                    f"column type {attribute.get('AttributeType')} has no crmctl field type; left alone",
                    [],
                ).append(f"CustomField/{name}")
                continue
            out.append(Resource("CustomField", name, spec))
    return out


def read_units(api: WebApi, snapshot: Snapshot) -> list[Resource]:
    """Business units as Roles (the root unit is the Role without a parent)."""
    rows = api.get_all(
        "businessunits",
        {"$select": "businessunitid,name,description,_parentbusinessunitid_value,isdisabled"},
    )
    by_id = {row["businessunitid"]: row for row in rows}
    out = []
    for row in rows:
        parent = by_id.get(row.get("_parentbusinessunitid_value") or "")
        name = security.api_name(str(row.get("name") or ""))
        if parent is None:
            snapshot.root_unit = row["businessunitid"]
        snapshot.units[name] = row
        spec: dict[str, Any] = {"label": row.get("name") or name}
        if parent is not None:
            spec["parent"] = security.api_name(str(parent.get("name") or ""))
        if row.get("description"):
            spec["description"] = row["description"]
        out.append(Resource("Role", name, spec))
    return out


def read_roles(api: WebApi, snapshot: Snapshot) -> list[Resource]:
    """The root business unit's security roles as PermissionSets, with privilege depths."""
    if snapshot.root_unit is None:
        read_units(api, snapshot)
    every = api.get_all(
        "roles",
        {"$select": "roleid,name,description,_businessunitid_value,_parentrootroleid_value"},
    )
    rows = [r for r in every if r.get("_businessunitid_value") == snapshot.root_unit]
    for row in every:
        root = row.get("_parentrootroleid_value")
        if row.get("_businessunitid_value") != snapshot.root_unit and root:
            snapshot.role_copies[(str(root), str(row["_businessunitid_value"]))] = row["roleid"]
    parts = [
        BatchPart("GET", f"RetrieveRolePrivilegesRole(RoleId={row['roleid']})") for row in rows
    ]
    out = []
    for row, answer in zip(rows, api.batch(parts), strict=True):
        if not answer.ok:
            raise ProviderError(
                f"reading the privileges of role {row.get('name')}: {answer.status} "
                f"{odata_error(answer.body)}"
            )
        privileges = (answer.json() or {}).get("RolePrivileges") or []
        name = security.api_name(str(row.get("name") or ""))
        snapshot.roles[name] = {**row, "privileges": privileges}
        out.append(Resource("PermissionSet", name, security.role_spec(row, privileges, None)))
    return out


def read_users(api: WebApi, snapshot: Snapshot) -> list[Resource]:
    """systemusers as Users: names, e-mail, enabled, business unit, roles and profiles.

    After `read_roles` and the profiles (`snapshot.profiles`, fieldsecurity.read_profiles)."""
    if snapshot.root_unit is None:
        read_units(api, snapshot)
    unit_names = {row["businessunitid"]: name for name, row in snapshot.units.items()}
    rows = api.get_all(
        "systemusers",
        {
            "$select": "systemuserid,domainname,internalemailaddress,firstname,lastname,"
            "isdisabled,_businessunitid_value,accessmode",
            "$expand": "systemuserroles_association($select=roleid,name,_businessunitid_value),"
            + userprofiles.EXPAND,
        },
    )
    out = []
    for row in rows:
        username = row.get("domainname")
        if not username or "@" not in str(username):
            continue  # system and application users: not people crmctl manages
        snapshot.users[str(username)] = row
        spec: dict[str, Any] = {
            "email": row.get("internalemailaddress") or username,
            "lastName": row.get("lastname") or "",
            "active": not row.get("isdisabled"),
            "role": unit_names.get(row.get("_businessunitid_value") or ""),
            # Roles and, for permission sets with fields, their profiles (userprofiles.py).
            "permissionSets": userprofiles.held(row, snapshot),
        }
        if row.get("firstname"):
            spec["firstName"] = row["firstname"]
        out.append(Resource("User", str(username), spec))
    return out


def read_rules(api: WebApi, snapshot: Snapshot) -> list[Resource]:
    """Duplicate detection rules on one table as DuplicateRules."""
    snapshot.rules = rules.read_rules(api)
    out = []
    for name, row in snapshot.rules.items():
        spec = rules.rule_spec(row)
        if spec is None:
            snapshot.notes.setdefault(
                "duplicate rule with a condition other than an exact match; left alone", []
            ).append(f"DuplicateRule/{name}")
            continue
        out.append(Resource("DuplicateRule", name, spec))
    return out
