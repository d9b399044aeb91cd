"""A new environment: its system tables, root business unit, publisher, solution and roles.

`ensure_org` runs in every Web API transaction and does its work once. The
system tables (account, contact, systemuser, role …) are EntityMetadata
documents like any custom table (`IsCustomEntity: false`), so the record
endpoints, `$select` checks and privileges treat them alike.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from crmctl.sandbox.dataverse import model, state
from crmctl.sandbox.dataverse.odata import DUPLICATE, INVALID, bad
from crmctl.sandbox.db import iso_time

__all__ = [
    "ensure_org",
    "create_table",
    "SYSTEM_ADMINISTRATOR",
    "SYSTEM_CUSTOMIZER",
    "ADMIN_FIELD_PROFILE",
    "root_business_unit",
]

#: Role template ids of the system roles (PAD developer/data-platform/security-roles.md).
SYSTEM_ADMINISTRATOR = "627090ff-40a3-4053-8790-584edc5be201"
SYSTEM_CUSTOMIZER = "119f245c-3cc8-4b62-b31c-d1a046ced15d"
#: The System Administrator field security profile (column-level-security.md).
ADMIN_FIELD_PROFILE = "572329c1-a042-4e22-be47-367c6374ea45"

S, M, N, B, D, P = "String", "Memo", "Integer", "Boolean", "DateTime", "Picklist"

#: logical name → (SchemaName, entity set, primary name, ownership, columns (name, type[:target])).
SYSTEM: dict[str, tuple[str, str, str | None, str, list[tuple[str, str]]]] = {
    "account": ("Account", "accounts", "name", "UserOwned", [
        ("name", S), ("accountnumber", S), ("telephone1", S), ("emailaddress1", S),
        ("websiteurl", S), ("description", M), ("numberofemployees", N), ("revenue", "Money"),
        ("parentaccountid", "Lookup:account")]),
    "contact": ("Contact", "contacts", "fullname", "UserOwned", [
        ("fullname", S), ("firstname", S), ("lastname", S), ("emailaddress1", S),
        ("telephone1", S), ("jobtitle", S), ("birthdate", D), ("description", M),
        ("parentcustomerid", "Lookup:account")]),
    "systemuser": ("SystemUser", "systemusers", "fullname", "BusinessOwned", [
        ("fullname", S), ("firstname", S), ("lastname", S), ("domainname", S),
        ("internalemailaddress", S), ("applicationid", "Uniqueidentifier"),
        ("azureactivedirectoryobjectid", "Uniqueidentifier"), ("isdisabled", B),
        ("islicensed", B), ("accessmode", P), ("businessunitid", "Lookup:businessunit")]),
    "businessunit": ("BusinessUnit", "businessunits", "name", "BusinessOwned", [
        ("name", S), ("description", M), ("isdisabled", B),
        ("parentbusinessunitid", "Lookup:businessunit")]),
    "role": ("Role", "roles", "name", "BusinessOwned", [
        ("name", S), ("description", M), ("businessunitid", "Lookup:businessunit"),
        ("parentrootroleid", "Lookup:role"), ("roletemplateid", "Uniqueidentifier"),
        ("ismanaged", B)]),
    "privilege": ("Privilege", "privileges", "name", "None", [
        ("name", S), ("accessright", N), ("canbebasic", B), ("canbelocal", B),
        ("canbedeep", B), ("canbeglobal", B), ("canbeentityreference", B),
        ("canbeparententityreference", B)]),
    "fieldsecurityprofile": ("FieldSecurityProfile", "fieldsecurityprofiles", "name",
                             "OrganizationOwned", [("name", S), ("description", M)]),
    "fieldpermission": ("FieldPermission", "fieldpermissions", None, "OrganizationOwned", [
        ("entityname", S), ("attributelogicalname", S), ("cancreate", P), ("canread", P),
        ("canupdate", P), ("canreadunmasked", P),
        ("fieldsecurityprofileid", "Lookup:fieldsecurityprofile")]),
    "duplicaterule": ("DuplicateRule", "duplicaterules", "name", "UserOwned", [
        ("name", S), ("description", M), ("baseentityname", S), ("matchingentityname", S),
        ("excludeinactiverecords", B), ("iscasesensitive", B)]),
    "duplicaterulecondition": ("DuplicateRuleCondition", "duplicateruleconditions", None,
                               "None", [
        ("baseattributename", S), ("matchingattributename", S), ("operatorcode", P),
        ("operatorparam", N), ("ignoreblankvalues", B),
        ("regardingobjectid", "Lookup:duplicaterule")]),
    "asyncoperation": ("AsyncOperation", "asyncoperations", "name", "UserOwned", [
        ("name", S), ("operationtype", P), ("message", M), ("friendlymessage", M),
        ("recurrencepattern", S), ("recurrencestarttime", D), ("postponeuntil", D),
        ("completedon", D), ("regardingobjectid", "Lookup:duplicaterule")]),
    "bulkdeleteoperation": ("BulkDeleteOperation", "bulkdeleteoperations", "name", "UserOwned", [
        ("name", S), ("orderedquerysetxml", M), ("successcount", N), ("failurecount", N),
        ("isrecurring", B), ("nextrun", D), ("asyncoperationid", "Lookup:asyncoperation")]),
    "retentionconfig": ("RetentionConfig", "retentionconfigs", "name", "OrganizationOwned", [
        ("name", S), ("uniquename", S), ("entitylogicalname", S), ("criteria", M),
        ("starttime", D), ("recurrence", S)]),
    "audit": ("Audit", "audits", None, "None", [
        ("action", P), ("operation", P), ("objecttypecode", S), ("changedata", M),
        ("attributemask", S), ("objectid", "Lookup:account"), ("userid", "Lookup:systemuser")]),
    "publisher": ("Publisher", "publishers", "friendlyname", "OrganizationOwned", [
        ("uniquename", S), ("friendlyname", S), ("customizationprefix", S),
        ("customizationoptionvalueprefix", N)]),
    "solution": ("Solution", "solutions", "friendlyname", "OrganizationOwned", [
        ("uniquename", S), ("friendlyname", S), ("version", S), ("ismanaged", B),
        ("publisherid", "Lookup:publisher")]),
    "solutioncomponent": ("SolutionComponent", "solutioncomponents", None, "None", [
        ("componenttype", P), ("objectid", "Uniqueidentifier"), ("rootcomponentbehavior", P),
        ("solutionid", "Lookup:solution")]),
    "organization": ("Organization", "organizations", "name", "None", [("name", S)]),
}  # fmt: skip

#: Text columns of system tables longer than the default 100 (Microsoft Learn table reference).
_MAX_LENGTH = {("asyncoperation", "name"): 256, ("bulkdeleteoperation", "name"): 256,
               ("retentionconfig", "uniquename"): 128, ("retentionconfig", "recurrence"): 256}  # fmt: skip

#: Tables whose privileges carry another name than their SchemaName.
PRIVILEGE_NAMES = {"systemuser": "User"}
#: Tables with statecode/statuscode.
_STATEFUL = {"account", "contact", "duplicaterule", "asyncoperation", "bulkdeleteoperation",
             "retentionconfig"}  # fmt: skip

_DERIVED = {
    S: "StringAttributeMetadata",
    M: "MemoAttributeMetadata",
    N: "IntegerAttributeMetadata",
    B: "BooleanAttributeMetadata",
    D: "DateTimeAttributeMetadata",
    P: "PicklistAttributeMetadata",
    "Money": "MoneyAttributeMetadata",
    "Uniqueidentifier": "UniqueIdentifierAttributeMetadata",
    "Lookup": "LookupAttributeMetadata",
    "State": "StateAttributeMetadata",
    "Status": "StatusAttributeMetadata",
}


def _system_attribute(
    entity: str, name: str, kind: str, target: str | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "@odata.type": _DERIVED[kind],
        "SchemaName": name,
        "DisplayName": model.label(name),
        **extra,
    }
    if target:
        body["Targets"] = [target]
    if kind in (S,):
        body.setdefault("MaxLength", 100 if name != "fullname" else 160)
    attr = model.build_attribute(body, entity, option_prefix=1, custom=False)
    if kind == "Uniqueidentifier" and name == f"{entity}id":
        attr["IsPrimaryId"] = True
        attr["IsValidForUpdate"] = False
    return attr


def _privileges(
    conn: sqlite3.Connection, logical: str, schema: str, ownership: str
) -> list[dict[str, Any]]:
    """Make the table's privileges (privilege rows); EntityMetadata.Privileges for them."""
    out: list[dict[str, Any]] = []
    if ownership == "None":
        return out
    prv_schema = PRIVILEGE_NAMES.get(logical, schema)
    for name, verb in model.privilege_names(prv_schema, ownership):
        user_owned = ownership == "UserOwned"
        business = ownership == "BusinessOwned"
        privilege_id = state.new_id()
        row: dict[str, Any] = {
            "privilegeid": privilege_id,
            "name": name,
            "accessright": model.VERBS.index(verb),
            "canbebasic": user_owned,
            "canbelocal": user_owned or business,
            "canbedeep": user_owned or business,
            "canbeglobal": True,
            "canbeentityreference": False,
            "canbeparententityreference": False,
            "_entity": logical,
        }
        state.put_row(conn, "privilege", privilege_id, row)
        out.append(
            {
                "PrivilegeId": row["privilegeid"],
                "Name": name,
                "PrivilegeType": verb,
                "CanBeBasic": row["canbebasic"],
                "CanBeLocal": row["canbelocal"],
                "CanBeDeep": row["canbedeep"],
                "CanBeGlobal": row["canbeglobal"],
                "CanBeEntityReference": False,
                "CanBeParentEntityReference": False,
            }
        )
    return out


def create_table(
    conn: sqlite3.Connection,
    body: dict[str, Any],
    *,
    custom: bool,
    option_prefix: int,
    columns: list[dict[str, Any]] | None = None,
) -> state.Entity:
    """A new table from an EntityMetadata body: its primary key, primary name, system columns."""
    schema = body.get("SchemaName")
    if custom:
        model.check_schema_name(schema, "The entity")
    assert isinstance(schema, str)
    logical = schema.lower()
    if state.load_entity(conn, logical) is not None:
        raise bad(f"An entity with the specified name {schema} already exists.", DUPLICATE)
    for name in ("DisplayName", "DisplayCollectionName"):
        model.clean_label(body.get(name), f"The entity {schema} {name}")
    if custom:
        for name in ("OwnershipType", "HasActivities", "HasNotes", "IsActivity"):
            if name not in body:
                raise bad(f"The entity {schema}: {name} is required.", INVALID)
    ownership = body.get("OwnershipType", "UserOwned")
    if ownership not in ("UserOwned", "OrganizationOwned", "BusinessOwned", "None"):
        raise bad(f"OwnershipType {ownership!r} is not UserOwned or OrganizationOwned.")
    requested = [a for a in body.get("Attributes") or [] if isinstance(a, dict)]
    primary = [a for a in requested if a.get("IsPrimaryName")]
    if custom and (
        len(primary) != 1
        or model.attribute_type(primary[0].get("@odata.type")) != "StringAttributeMetadata"
    ):
        raise bad(
            "The entity must be created with exactly one StringAttributeMetadata attribute "
            "with IsPrimaryName true (its primary name column)."
        )
    entity_set = model.entity_set_name(logical)
    attributes = [_system_attribute(logical, f"{logical}id", "Uniqueidentifier")]
    for attr_body in requested:
        attr = model.build_attribute(attr_body, logical, option_prefix=option_prefix, custom=custom)
        if attr["IsPrimaryName"]:
            attr["RequiredLevel"] = {**attr["RequiredLevel"], "Value": "ApplicationRequired"}
        attributes.append(attr)
    attributes.extend(columns or [])
    attributes.extend(
        [
            _system_attribute(logical, "createdon", D, Format="DateAndTime"),
            _system_attribute(logical, "modifiedon", D, Format="DateAndTime"),
            _system_attribute(logical, "createdby", "Lookup", "systemuser"),
            _system_attribute(logical, "modifiedby", "Lookup", "systemuser"),
            _system_attribute(logical, "versionnumber", "Integer"),
        ]
    )
    if ownership == "UserOwned":
        attributes.append(_system_attribute(logical, "ownerid", "Lookup", "systemuser"))
        attributes.append(
            _system_attribute(logical, "owningbusinessunit", "Lookup", "businessunit")
        )
    if custom or logical in _STATEFUL:
        attributes.append(_system_attribute(logical, "statecode", "State"))
        attributes.append(_system_attribute(logical, "statuscode", "Status"))
    names = [a["LogicalName"] for a in attributes]
    duplicate = sorted({n for n in names if names.count(n) > 1})
    if duplicate:
        raise bad(f"An attribute with the specified name {duplicate[0]} already exists.", DUPLICATE)
    for attr in attributes:
        if attr.get("IsAuditEnabled") is None:
            attr["IsAuditEnabled"] = {"Value": True}
    seq = state.next_seq(conn, "object_type_code")
    doc = {
        "MetadataId": state.new_id(),
        "LogicalName": logical,
        "SchemaName": schema,
        "EntitySetName": entity_set,
        "LogicalCollectionName": entity_set,
        "CollectionSchemaName": schema + "s",
        "ObjectTypeCode": 10000 + seq if custom else seq,
        "DisplayName": model.clean_label(body.get("DisplayName"), "DisplayName"),
        "DisplayCollectionName": model.clean_label(body.get("DisplayCollectionName"), "x"),
        "Description": model.clean_label(body.get("Description"), "Description", False),
        "OwnershipType": ownership,
        "IsActivity": bool(body.get("IsActivity", False)),
        "HasActivities": bool(body.get("HasActivities", False)),
        "HasNotes": bool(body.get("HasNotes", False)),
        "IsCustomEntity": custom,
        "TableType": "Standard",
        "IsManaged": False,
        "IsPrivate": False,
        "IsIntersect": False,
        "IsAuditEnabled": {"Value": bool((body.get("IsAuditEnabled") or {}).get("Value", True))},
        "ChangeTrackingEnabled": bool(body.get("ChangeTrackingEnabled", False)),
        "CanCreateAttributes": {"Value": True, "CanBeChanged": False},
        "PrimaryIdAttribute": f"{logical}id",
        "PrimaryNameAttribute": primary[0]["SchemaName"].lower() if primary else None,
        "Privileges": _privileges(conn, logical, schema, ownership),
        "Attributes": attributes,
    }
    entity = state.Entity(doc)
    state.save_entity(conn, entity)
    return entity


def root_business_unit(conn: sqlite3.Connection) -> str:
    return str(state.get_meta(conn, "root_business_unit"))


def ensure_org(conn: sqlite3.Connection, now: datetime) -> None:
    """Seed a new environment once: system tables, org, root BU, publisher, roles."""
    if state.get_meta(conn, "seeded"):
        return
    for logical, (schema, _set, primary, ownership, columns) in SYSTEM.items():
        cols = []
        for name, kind in columns:
            base, _, target = kind.partition(":")
            extra = (
                {"MaxLength": _MAX_LENGTH[logical, name]} if (logical, name) in _MAX_LENGTH else {}
            )
            attr = _system_attribute(logical, name, base, target or None, **extra)
            attr["IsPrimaryName"] = name == primary
            cols.append(attr)
        body = {
            "SchemaName": schema,
            "DisplayName": model.label(schema),
            "DisplayCollectionName": model.label(schema + "s"),
            "OwnershipType": ownership,
        }
        entity = create_table(conn, body, custom=False, option_prefix=1, columns=cols)
        entity.doc["PrimaryNameAttribute"] = primary
        if logical in ("audit",):
            entity.doc["IsAuditEnabled"] = {"Value": False}
        state.save_entity(conn, entity)
    from crmctl.sandbox.dataverse import virtual

    virtual.seed_virtual_tables(conn)
    at = iso_time(now)
    org_id, root = state.new_id(), state.new_id()
    state.set_meta(conn, "organization", org_id)
    state.set_meta(conn, "root_business_unit", root)
    state.put_row(conn, "organization", org_id, {"organizationid": org_id, "name": "sandbox"})
    state.put_row(conn, "businessunit", root, {
        "businessunitid": root, "name": "sandbox", "isdisabled": False,
        "parentbusinessunitid": None, "createdon": at, "modifiedon": at})  # fmt: skip
    publisher = state.new_id()
    state.put_row(conn, "publisher", publisher, {
        "publisherid": publisher, "uniquename": "DefaultPublisher",
        "friendlyname": "Default Publisher", "customizationprefix": "new",
        "customizationoptionvalueprefix": 10000})  # fmt: skip
    solution = state.new_id()
    state.put_row(conn, "solution", solution, {
        "solutionid": solution, "uniquename": "Default", "friendlyname": "Default Solution",
        "version": "1.0", "ismanaged": False, "publisherid": publisher})  # fmt: skip
    for template, name in ((SYSTEM_ADMINISTRATOR, "System Administrator"),
                           (SYSTEM_CUSTOMIZER, "System Customizer")):  # fmt: skip
        role = state.new_id()
        state.put_row(conn, "role", role, {
            "roleid": role, "name": name, "businessunitid": root, "parentrootroleid": role,
            "roletemplateid": template, "ismanaged": True, "createdon": at, "modifiedon": at})  # fmt: skip
    state.put_row(conn, "fieldsecurityprofile", ADMIN_FIELD_PROFILE, {
        "fieldsecurityprofileid": ADMIN_FIELD_PROFILE, "name": "System Administrator",
        "description": "Every secured column"})  # fmt: skip
    state.set_meta(conn, "seeded", True)
