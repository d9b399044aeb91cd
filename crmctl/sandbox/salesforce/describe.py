"""describeGlobal and sObject describe, from the org's deployed metadata.

    GET /services/data/vNN.0/sobjects                   describeGlobal
    GET /services/data/vNN.0/sobjects/{type}            basic information
    GET /services/data/vNN.0/sobjects/{type}/describe   the object and its fields

The objects are the setup objects this API answers (User, UserRole,
PermissionSet …), the standard objects, and every CustomObject deployed. An
object's fields are its standard fields and the CustomField components
deployed on it, each described from its XML: name, label, type (Salesforce's
describe types: string, textarea, double, currency, picklist, reference …),
length, precision and scale, nillable, unique, externalId, defaultValue,
picklistValues (from the field's own value set or its global value set),
referenceTo and relationshipName, calculated and calculatedFormula.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from crmctl.kinds.standard import STANDARD_OBJECTS, SYSTEM_FIELDS
from crmctl.sandbox.salesforce import catalog, mdxml
from crmctl.sandbox.salesforce.api import Caller, SalesforceFault, rest
from crmctl.sandbox.salesforce.ids import KEY_PREFIXES
from crmctl.sandbox.salesforce.sobjects import SCHEMA
from crmctl.sandbox.server import Request, Route

__all__ = ["routes", "org_objects", "ObjectInfo"]

Response = tuple[int, Any, dict[str, str]]
text = mdxml.text

#: Metadata API field type -> (describe type, soapType, default length).
_TYPES: dict[str, tuple[str, str, int]] = {
    "Text": ("string", "xsd:string", 255),
    "TextArea": ("textarea", "xsd:string", 255),
    "LongTextArea": ("textarea", "xsd:string", 32768),
    "Html": ("textarea", "xsd:string", 32768),
    "EncryptedText": ("encryptedstring", "xsd:string", 175),
    "Email": ("email", "xsd:string", 80),
    "Phone": ("phone", "xsd:string", 40),
    "Url": ("url", "xsd:string", 255),
    "Number": ("double", "xsd:double", 0),
    "Currency": ("currency", "xsd:double", 0),
    "Percent": ("percent", "xsd:double", 0),
    "Checkbox": ("boolean", "xsd:boolean", 0),
    "Date": ("date", "xsd:date", 0),
    "DateTime": ("datetime", "xsd:dateTime", 0),
    "Time": ("time", "xsd:time", 0),
    "Picklist": ("picklist", "xsd:string", 255),
    "MultiselectPicklist": ("multipicklist", "xsd:string", 4099),
    "MultiPicklist": ("multipicklist", "xsd:string", 4099),
    "Lookup": ("reference", "tns:ID", 18),
    "MasterDetail": ("reference", "tns:ID", 18),
    "AutoNumber": ("string", "xsd:string", 30),
    "Id": ("id", "tns:ID", 18),
    "Summary": ("double", "xsd:double", 0),
}
_FORMULA_RESULT = {"Text": "string", "Number": "double", "Currency": "currency",
                   "Percent": "percent", "Checkbox": "boolean", "Date": "date",
                   "DateTime": "datetime", "Time": "time"}  # fmt: skip


class ObjectInfo:
    """One sObject as describe shows it: its label and its fields' describe entries."""

    def __init__(self, name: str, label: str, plural: str, custom: bool, prefix: str | None):
        self.name, self.label, self.plural, self.custom = name, label, plural, custom
        self.prefix = prefix
        self.fields: dict[str, dict[str, Any]] = {}


def _field(name: str, label: str, ftype: str, **extra: Any) -> dict[str, Any]:
    kind, soap, length = _TYPES.get(ftype, ("string", "xsd:string", 255))
    entry: dict[str, Any] = {
        "aggregatable": kind not in ("textarea", "multipicklist"),
        "autoNumber": ftype == "AutoNumber",
        "byteLength": length * 3 if kind not in ("double", "currency", "percent") else 0,
        "calculated": False,
        "calculatedFormula": None,
        "caseSensitive": False,
        "createable": ftype not in ("Id", "AutoNumber"),
        "custom": name.endswith("__c"),
        "defaultValue": False if kind == "boolean" else None,
        "defaultedOnCreate": kind == "boolean",
        "dependentPicklist": False,
        "digits": 0,
        "externalId": False,
        "filterable": kind != "textarea",
        "groupable": kind not in ("textarea", "double", "currency", "percent", "datetime"),
        "htmlFormatted": ftype == "Html",
        "idLookup": ftype == "Id",
        "inlineHelpText": None,
        "label": label,
        "length": length if kind not in ("double", "currency", "percent", "boolean") else 0,
        "name": name,
        "nameField": name == "Name",
        "nillable": kind != "boolean" and ftype != "Id",
        "picklistValues": [],
        "precision": 0,
        "referenceTo": [],
        "relationshipName": None,
        "restrictedPicklist": False,
        "scale": 0,
        "soapType": soap,
        "sortable": kind not in ("textarea", "multipicklist"),
        "type": kind,
        "unique": False,
        "updateable": ftype not in ("Id", "AutoNumber"),
    }
    entry.update(extra)
    return entry


def _words(name: str) -> str:
    """`AnnualRevenue` -> `Annual Revenue`, `AccountId` -> `Account ID`."""
    base = name.removesuffix("__c").replace("_", " ")
    out = ""
    for i, c in enumerate(base):
        if c.isupper() and i and base[i - 1].islower():
            out += " "
        out += c
    return out[:-2] + "ID" if out.endswith("Id") and len(out) > 2 else out


def _standard_field(obj: str, name: str, ftype: str) -> dict[str, Any]:
    extra: dict[str, Any] = {"createable": ftype != "Id" and name not in SYSTEM_FIELDS}
    extra["updateable"] = extra["createable"]
    if ftype in ("Lookup", "MasterDetail"):
        target = name.removesuffix("Id")
        extra["referenceTo"] = ["User" if target in ("Owner", "CreatedBy", "LastModifiedBy")
                                else target]  # fmt: skip
        extra["relationshipName"] = target
    if name in ("Id", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById",
                "SystemModstamp", "IsDeleted"):  # fmt: skip
        extra["nillable"] = False
    return _field(name, _words(name), ftype, **extra)


def _values(items: list[ET.Element]) -> list[dict[str, Any]]:
    return [
        {
            "active": text(item, "isActive") != "false",
            "defaultValue": text(item, "default") == "true",
            "label": text(item, "label") or text(item, "fullName") or "",
            "validFor": None,
            "value": text(item, "fullName") or "",
        }
        for item in items
    ]


def _custom_field(
    name: str, element: ET.Element, global_sets: dict[str, ET.Element]
) -> dict[str, Any]:
    ftype = text(element, "type") or "Text"
    formula = text(element, "formula")
    extra: dict[str, Any] = {
        "custom": True,
        "externalId": text(element, "externalId") == "true",
        "unique": text(element, "unique") == "true",
        "inlineHelpText": text(element, "inlineHelpText"),
    }
    kind = _TYPES.get(ftype, ("string", "xsd:string", 255))[0]
    if text(element, "required") == "true" or ftype == "MasterDetail":
        extra["nillable"] = False
    length = text(element, "length")
    if length and length.isdigit():
        extra["length"] = int(length)
        extra["byteLength"] = int(length) * 3
    if kind in ("double", "currency", "percent"):
        precision, scale = text(element, "precision"), text(element, "scale")
        extra["precision"] = int(precision) if precision and precision.isdigit() else 18
        extra["scale"] = int(scale) if scale and scale.isdigit() else 0
    default = text(element, "defaultValue")
    if default is not None:
        extra["defaultValue"] = default == "true" if kind == "boolean" else default.strip("\"'")
        extra["defaultedOnCreate"] = True
    if ftype in ("Lookup", "MasterDetail"):
        extra["referenceTo"] = [text(element, "referenceTo") or ""]
        extra["relationshipName"] = (
            text(element, "relationshipName") or name.removesuffix("__c")
        ) + "__r"
        extra["cascadeDelete"] = ftype == "MasterDetail"
    value_set = element.find("valueSet")
    if value_set is not None:
        global_name = text(value_set, "valueSetName")
        if global_name and global_name in global_sets:
            extra["picklistValues"] = _values(global_sets[global_name].findall("customValue"))
            extra["restrictedPicklist"] = True
        else:
            definition = value_set.find("valueSetDefinition")
            items = definition.findall("value") if definition is not None else []
            extra["picklistValues"] = _values(items)
            extra["restrictedPicklist"] = text(value_set, "restricted") == "true"
        extra["dependentPicklist"] = text(value_set, "controllingField") is not None
    if formula is not None:
        result = _FORMULA_RESULT.get(ftype)
        extra.update(calculated=True, calculatedFormula=formula, createable=False,
                     updateable=False, nillable=True)  # fmt: skip
        if result:
            extra["type"] = result
    if ftype == "Summary":
        extra.update(calculated=True, createable=False, updateable=False)
    return _field(name, text(element, "label") or _words(name), ftype, **extra)


def _setup_object(name: str) -> ObjectInfo:
    info = ObjectInfo(name, _words(name), _words(name) + "s", False, KEY_PREFIXES.get(name))
    for field_name, parent in SCHEMA[name].items():
        if parent is not None:
            continue  # a relationship, described on its Id field
        if field_name == "Id":
            ftype = "Id"
        elif field_name.endswith("Id") and field_name[:-2] in SCHEMA[name]:
            ftype = "Lookup"
        elif field_name.startswith("Is"):
            ftype = "Checkbox"
        elif field_name.endswith("Date"):
            ftype = "DateTime"
        else:
            ftype = "Text"
        entry = _field(field_name, _words(field_name), ftype, createable=False, updateable=False)
        if ftype == "Lookup":
            entry["referenceTo"] = [SCHEMA[name][field_name[:-2]]]
            entry["relationshipName"] = field_name[:-2]
        info.fields[field_name] = entry
    return info


def _plural(label: str) -> str:
    if label.endswith("y") and not label.endswith(("ay", "ey", "oy")):
        return label[:-1] + "ies"
    return label + ("es" if label.endswith(("s", "x", "ch", "sh")) else "s")


def _custom_prefixes(request: Request) -> dict[str, str]:
    with request.store.transaction() as conn:
        try:
            rows = conn.execute("SELECT object, prefix FROM object_prefixes").fetchall()
        except Exception:  # noqa: BLE001 - an older database without records
            rows = []
    return {str(o).lower(): p for o, p in rows}


def org_objects(request: Request) -> dict[str, ObjectInfo]:
    """Every sObject of the org by lower-case name, with its fields."""
    components = catalog.org_components(request.store)
    global_sets = {c.full_name: c.element for c in components.values()
                   if c.type == "GlobalValueSet"}  # fmt: skip
    prefixes = _custom_prefixes(request)
    out: dict[str, ObjectInfo] = {}
    for name in SCHEMA:
        out[name.lower()] = _setup_object(name)
    for name, fields in STANDARD_OBJECTS.items():
        info = ObjectInfo(name, name, _plural(name), False, KEY_PREFIXES.get(name))
        for field_name, ftype in {**SYSTEM_FIELDS, **fields}.items():
            info.fields[field_name] = _standard_field(name, field_name, ftype)
        out[name.lower()] = info
    for component in components.values():
        if component.type != "CustomObject" or component.full_name in STANDARD_OBJECTS:
            continue
        element = component.element
        label = text(element, "label") or component.full_name
        info = ObjectInfo(component.full_name, label, text(element, "pluralLabel") or label,
                          True, prefixes.get(component.full_name.lower()))  # fmt: skip
        for field_name, ftype in SYSTEM_FIELDS.items():
            info.fields[field_name] = _standard_field(component.full_name, field_name, ftype)
        name_field = element.find("nameField")
        if name_field is not None:
            info.fields["Name"]["label"] = text(name_field, "label") or "Name"
            if text(name_field, "type") == "AutoNumber":
                info.fields["Name"].update(autoNumber=True, createable=False, updateable=False)
        out[component.full_name.lower()] = info
    for component in components.values():
        if component.type != "CustomField":
            continue
        obj, _, field_name = component.full_name.partition(".")
        owner = out.get(obj.lower())
        if owner is not None and field_name:
            owner.fields[field_name] = _custom_field(field_name, component.element, global_sets)
    return out


def _flags(info: ObjectInfo) -> dict[str, Any]:
    setup = info.name in SCHEMA
    return {
        "activateable": False,
        "createable": not setup or info.name in ("User", "PermissionSetAssignment"),
        "custom": info.custom,
        "customSetting": False,
        "deletable": not setup or info.name == "PermissionSetAssignment",
        "deprecatedAndHidden": False,
        "feedEnabled": False,
        "hasSubtypes": False,
        "isSubtype": False,
        "keyPrefix": info.prefix,
        "label": info.label,
        "labelPlural": info.plural,
        "layoutable": not setup,
        "mergeable": False,
        "mruEnabled": not setup,
        "name": info.name,
        "queryable": True,
        "replicateable": not setup,
        "retrieveable": True,
        "searchable": not setup,
        "triggerable": not setup,
        "undeletable": not setup,
        "updateable": not setup or info.name == "User",
    }


def _urls(version: str, name: str) -> dict[str, str]:
    base = f"/services/data/{version}/sobjects/{name}"
    return {"rowTemplate": f"{base}/{{ID}}", "describe": f"{base}/describe", "sobject": base}


def _object(request: Request) -> ObjectInfo:
    name = request.params["sobject"]
    info = org_objects(request).get(name.lower())
    if info is None:
        raise SalesforceFault(404, "NOT_FOUND", "The requested resource does not exist")
    return info


def _global(request: Request, caller: Caller) -> Response:
    version = request.params["version"]
    sobjects = [
        {**_flags(info), "urls": _urls(version, info.name)}
        for info in sorted(org_objects(request).values(), key=lambda i: i.name)
    ]
    return 200, {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects}, {}


def _basic(request: Request, caller: Caller) -> Response:
    info = _object(request)
    body = {"objectDescribe": {**_flags(info), "urls": _urls(request.params["version"],
                                                               info.name)},
            "recentItems": []}  # fmt: skip
    return 200, body, {}


def _describe(request: Request, caller: Caller) -> Response:
    info = _object(request)
    body = {
        **_flags(info),
        "childRelationships": [],
        "fields": list(info.fields.values()),
        "recordTypeInfos": [
            {
                "active": True,
                "available": True,
                "defaultRecordTypeMapping": True,
                "developerName": "Master",
                "master": True,
                "name": "Master",
                "recordTypeId": "012000000000000AAA",
            }
        ],
        "urls": _urls(request.params["version"], info.name),
    }
    return 200, body, {}


def routes() -> list[Route]:
    base = "/services/data/{version}/sobjects"
    return [
        rest("GET", base, _global),
        rest("GET", f"{base}/{{sobject}}", _basic),
        rest("GET", f"{base}/{{sobject}}/describe", _describe),
    ]
