"""What the org enforces of a component, read from its XML (and written back for the sandbox API).

The org keeps every component's XML as deployed (`catalog`). From it, this
module reads only what the sandbox store enforces on records and on other
configuration: objects, fields (type, required, unique, lengths, picklist
values, lookups), validation rules, roles, permission sets and duplicate
rules. A component that has nothing to enforce (a formula field, a list
view, a custom metadata type) reads as None and lives as XML only.

The writers answer for configuration changed through the sandbox's own API,
which has no XML: Salesforce's elements for what the store holds.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from typing import Any

from crmctl.sandbox.salesforce.mdxml import text

__all__ = [
    "object_spec",
    "field_spec",
    "rule_spec",
    "role_spec",
    "permission_set_spec",
    "duplicate_rule_spec",
    "global_values",
    "to_xml",
    "overlay",
    "with_defaults",
]

Spec = dict[str, Any]

#: Salesforce field types -> the sandbox store's field types.
_TYPES = {
    "Text": "Text", "TextArea": "TextArea", "LongTextArea": "LongTextArea", "Number": "Number",
    "Currency": "Currency", "Percent": "Percent", "Date": "Date", "DateTime": "DateTime",
    "Checkbox": "Checkbox", "Email": "Email", "Phone": "Phone", "Url": "Url",
    "Picklist": "Picklist", "MultiselectPicklist": "MultiPicklist", "Lookup": "Lookup",
    "MasterDetail": "MasterDetail", "Time": "Time", "Html": "Html", "AutoNumber": "AutoNumber",
}  # fmt: skip
_SF_TYPES = {store: sf for sf, store in _TYPES.items()}
_NUMERIC = ("Number", "Currency", "Percent")
_SHARING = ("Private", "Read", "ReadWrite")
_OBJECT_FLAGS = (("read", "allowRead"), ("create", "allowCreate"), ("edit", "allowEdit"),
                 ("delete", "allowDelete"), ("viewAll", "viewAllRecords"),
                 ("modifyAll", "modifyAllRecords"))  # fmt: skip
_LEVELS = {"Public": "Public", "Internal": "Internal", "Confidential": "Confidential",
           "Restricted": "Sensitive", "MissionCritical": "Sensitive"}  # fmt: skip


def _true(element: ET.Element, tag: str, default: bool = False) -> bool:
    value = text(element, tag)
    return default if value is None else value.strip().lower() == "true"


def _number(element: ET.Element, tag: str) -> int | None:
    try:
        return int(float(text(element, tag) or ""))
    except ValueError:
        return None


# --- reading ---------------------------------------------------------------------------


def object_spec(element: ET.Element, name: str) -> Spec | None:
    """A custom object's settings; None for what the store has no object for."""
    if (
        not name.endswith("__c")
        or text(element, "customSettingsType")
        or not text(element, "label")
    ):
        return None
    label = text(element, "label") or name
    spec: Spec = {"label": label}
    for tag in ("pluralLabel", "description"):
        if text(element, tag):
            spec[tag] = text(element, tag)
    if text(element, "sharingModel") in _SHARING:
        spec["sharingModel"] = text(element, "sharingModel")
    name_field = element.find("nameField")
    if name_field is not None:
        auto = text(name_field, "type") == "AutoNumber"
        record: dict[str, Any] = {"label": text(name_field, "label") or f"{label} Name"}
        record["type"] = "AutoNumber" if auto else "Text"
        if auto and text(name_field, "displayFormat"):
            record["displayFormat"] = text(name_field, "displayFormat")
        spec["recordName"] = record
    return spec


_LITERAL_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def _default(formula: str, ftype: str) -> tuple[Any, bool]:
    """A defaultValue formula as a value, when it is a literal."""
    value = formula.strip()
    if value.lower() in ("true", "false"):
        return value.lower() == "true", True
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        body = value[1:-1]
        if re.search(r"(?<!\\)" + re.escape(value[0]), body):
            return None, False
        return re.sub(r"\\(.)", r"\1", body), True
    if ftype in _NUMERIC and _LITERAL_NUMBER.match(value):
        number = float(value)
        return (int(number) if "." not in value else number), True
    return None, False


def global_values(element: ET.Element) -> list[Spec]:
    """A GlobalValueSet's values."""
    return _values(element, "customValue")


def _values(element: ET.Element, tag: str) -> list[Spec]:
    return [
        {
            "value": text(item, "fullName") or "",
            "label": text(item, "label") or text(item, "fullName") or "",
            "default": _true(item, "default"),
            "active": _true(item, "isActive", True),
        }
        for item in element.findall(tag)
    ]


def field_spec(obj: str, element: ET.Element, value_sets: Mapping[str, list[Spec]]) -> Spec | None:
    """A field's type and constraints; None when the store cannot hold it (formula, roll-up,
    Location …): those live as XML only."""
    name = text(element, "fullName") or ""
    ftype = _TYPES.get(text(element, "type") or "")
    if ftype is None or not name.endswith("__c") or text(element, "formula") is not None:
        return None
    spec: Spec = {"type": ftype, "label": text(element, "label") or name}
    if text(element, "description"):
        spec["description"] = text(element, "description")
    if text(element, "inlineHelpText"):
        spec["helpText"] = text(element, "inlineHelpText")
    for flag in ("required", "unique", "externalId"):
        if _true(element, flag):
            spec[flag] = True
    if ftype in ("Text", "LongTextArea", "Html"):
        spec["length"] = _number(element, "length") or (255 if ftype == "Text" else 32768)
    if ftype == "Html":
        spec["visibleLines"] = _number(element, "visibleLines") or 25
    if ftype == "AutoNumber":  # the org numbers records; a write to it is refused
        spec["displayFormat"] = text(element, "displayFormat") or "{0}"
        for flag in ("required", "unique"):
            spec.pop(flag, None)
    if ftype in _NUMERIC:
        spec["precision"] = _number(element, "precision") or 18
        spec["scale"] = _number(element, "scale") or 0
    formula = text(element, "defaultValue")
    if formula:
        value, literal = _default(formula, ftype)
        if literal and not (ftype == "Checkbox" and value is False):
            spec["defaultValue"] = value
    if ftype in ("Lookup", "MasterDetail"):
        spec["referenceTo"] = text(element, "referenceTo") or ""
        relationship = text(element, "relationshipName")
        if relationship and relationship != name.removesuffix("__c"):
            spec["relationshipName"] = relationship
    if ftype in ("Picklist", "MultiPicklist"):
        value_set = element.find("valueSet")
        if value_set is None:
            return None
        global_name = text(value_set, "valueSetName")
        if global_name:
            if global_name not in value_sets:
                raise LookupError(f"no GlobalValueSet named {global_name} found")
            spec["values"] = [dict(v) for v in value_sets[global_name]]
        else:
            definition = value_set.find("valueSetDefinition")
            spec["values"] = _values(definition, "value") if definition is not None else []
            if not spec["values"]:
                return None
    groups = {g.strip() for g in (text(element, "complianceGroup") or "").split(";")}
    level = _LEVELS.get(text(element, "securityClassification") or "")
    if "PII" in groups:
        spec["classification"] = "PII"
    elif level:
        spec["classification"] = level
    return spec


def rule_spec(element: ET.Element) -> Spec:
    spec: Spec = {
        "active": _true(element, "active", True),
        "condition": text(element, "errorConditionFormula") or "",
        "errorMessage": text(element, "errorMessage") or "",
    }
    if text(element, "errorDisplayField"):
        spec["errorField"] = text(element, "errorDisplayField")
    if text(element, "description"):
        spec["description"] = text(element, "description")
    return spec


def role_spec(element: ET.Element, name: str) -> Spec:
    spec: Spec = {"label": text(element, "name") or name}
    for tag, key in (("parentRole", "parent"), ("description", "description")):
        if text(element, tag):
            spec[key] = text(element, tag)
    return spec


def permission_set_spec(element: ET.Element, known: Callable[[str, str], bool]) -> Spec:
    """Object, field and system permissions; `known("object"|"field", name)` says whether the
    store holds what a permission is on (permissions on XML-only components are not enforced)."""
    spec: Spec = {"label": text(element, "label") or ""}
    if text(element, "description"):
        spec["description"] = text(element, "description")
    objects = {}
    for item in element.findall("objectPermissions"):
        obj = text(item, "object") or ""
        granted = [p for p, tag in _OBJECT_FLAGS if _true(item, tag)]
        if granted and known("object", obj):
            objects[obj] = granted
    fields = {}
    for item in element.findall("fieldPermissions"):
        field = text(item, "field") or ""
        editable, readable = _true(item, "editable"), _true(item, "readable")
        if (editable or readable) and known("field", field):
            fields[field] = ["read", "edit"] if editable else ["read"]
    system = sorted(
        text(item, "name") or ""
        for item in element.findall("userPermissions")
        if _true(item, "enabled")
    )
    for key, value in (("objects", objects), ("fields", fields), ("system", system)):
        if value:
            spec[key] = value
    return spec


def duplicate_rule_spec(obj: str, element: ET.Element, matching: ET.Element | None) -> Spec | None:
    """A duplicate rule the store can enforce: one matching rule of its own object, items
    combined with AND; None otherwise."""
    if matching is None or text(matching, "booleanFilter"):
        return None
    own = [r for r in element.findall("duplicateRuleMatchRules")
           if (text(r, "matchRuleSObjectType") or obj) == obj]  # fmt: skip
    if not own:
        return None
    match = [
        {
            "field": text(item, "fieldName") or "",
            "method": "exact" if text(item, "matchingMethod") == "Exact" else "fuzzy",
        }
        for item in matching.findall("matchingRuleItems")
    ]
    if not match:
        return None
    spec: Spec = {
        "active": _true(element, "isActive", True),
        "match": match,
        "action": {
            "onCreate": "block" if text(element, "actionOnInsert") == "Block" else "alert",
            "onEdit": "block" if text(element, "actionOnUpdate") == "Block" else "alert",
        },
    }
    if text(element, "description"):
        spec["description"] = text(element, "description")
    return spec


# --- writing (configuration that came through the sandbox's own API) -------------------


def _add(parent: ET.Element, tag: str, value: Any) -> ET.Element:
    element = ET.SubElement(parent, tag)
    if value is not None:
        element.text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return element


def _formula(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _field_xml(name: str, spec: Spec) -> ET.Element:
    element = ET.Element("fields")
    ftype = spec["type"]
    _add(element, "fullName", name)
    if "defaultValue" in spec:
        _add(element, "defaultValue", _formula(spec["defaultValue"]))
    elif ftype == "Checkbox":
        _add(element, "defaultValue", "false")
    for key, tag in (("description", "description"), ("helpText", "inlineHelpText")):
        if spec.get(key):
            _add(element, tag, spec[key])
    _add(element, "externalId", bool(spec.get("externalId")))
    _add(element, "label", spec["label"])
    for key in ("length", "precision", "scale", "referenceTo", "displayFormat"):
        if spec.get(key) is not None:
            _add(element, key, spec[key])
    if ftype in ("Lookup", "MasterDetail"):
        _add(element, "relationshipName", spec.get("relationshipName") or name.removesuffix("__c"))
    _add(element, "required", bool(spec.get("required")))
    classification = spec.get("classification")
    if classification:
        level = {"Sensitive": "Restricted", "PII": "Confidential"}.get(
            classification, classification
        )
        if classification == "PII":
            _add(element, "complianceGroup", "PII")
        _add(element, "securityClassification", level)
    _add(element, "type", _SF_TYPES[ftype])
    if spec.get("unique"):
        _add(element, "unique", True)
    if spec.get("visibleLines") is not None:
        _add(element, "visibleLines", spec["visibleLines"])
    if "values" in spec:
        value_set = _add(element, "valueSet", None)
        _add(value_set, "restricted", True)
        definition = _add(value_set, "valueSetDefinition", None)
        _add(definition, "sorted", False)
        for entry in spec["values"]:
            entry = entry if isinstance(entry, dict) else {"value": entry}
            item = _add(definition, "value", None)
            _add(item, "fullName", entry["value"])
            _add(item, "default", bool(entry.get("default")))
            if not entry.get("active", True):
                _add(item, "isActive", False)
            _add(item, "label", entry.get("label") or entry["value"])
    return element


def _object_xml(spec: Spec) -> ET.Element:
    element = ET.Element("CustomObject")
    _add(element, "deploymentStatus", "Deployed")
    if spec.get("description"):
        _add(element, "description", spec["description"])
    _add(element, "label", spec["label"])
    record = spec.get("recordName") or {}
    name_field = _add(element, "nameField", None)
    if record.get("displayFormat"):
        _add(name_field, "displayFormat", record["displayFormat"])
    _add(name_field, "label", record.get("label") or f"{spec['label']} Name")
    _add(name_field, "type", record.get("type", "Text"))
    _add(element, "pluralLabel", spec.get("pluralLabel") or f"{spec['label']}s")
    _add(element, "sharingModel", spec.get("sharingModel", "ReadWrite"))
    return element


def _rule_xml(name: str, spec: Spec) -> ET.Element:
    element = ET.Element("validationRules")
    _add(element, "fullName", name)
    _add(element, "active", spec.get("active", True))
    if spec.get("description"):
        _add(element, "description", spec["description"])
    _add(element, "errorConditionFormula", spec["condition"])
    if spec.get("errorField"):
        _add(element, "errorDisplayField", spec["errorField"])
    _add(element, "errorMessage", spec["errorMessage"])
    return element


def _role_xml(spec: Spec) -> ET.Element:
    element = ET.Element("Role")
    if spec.get("description"):
        _add(element, "description", spec["description"])
    _add(element, "name", spec["label"])
    if spec.get("parent"):
        _add(element, "parentRole", spec["parent"])
    return element


def _permission_set_xml(spec: Spec) -> ET.Element:
    element = ET.Element("PermissionSet")
    if spec.get("description"):
        _add(element, "description", spec["description"])
    for field, perms in sorted((spec.get("fields") or {}).items()):
        item = _add(element, "fieldPermissions", None)
        _add(item, "editable", "edit" in perms)
        _add(item, "field", field)
        _add(item, "readable", True)
    _add(element, "hasActivationRequired", False)
    _add(element, "label", spec["label"])
    for obj, perms in sorted((spec.get("objects") or {}).items()):
        item = _add(element, "objectPermissions", None)
        flags = {tag: permission in perms for permission, tag in _OBJECT_FLAGS}
        flags["object"] = obj
        for tag in sorted(flags):  # Salesforce's element order: alphabetical
            _add(item, tag, flags[tag])
    for permission in spec.get("system") or []:
        item = _add(element, "userPermissions", None)
        _add(item, "enabled", True)
        _add(item, "name", permission)
    return element


def _duplicate_rule_xml(name: str, obj: str, spec: Spec) -> ET.Element:
    element = ET.Element("DuplicateRule")
    action = spec.get("action") or {}
    on_insert = "Block" if action.get("onCreate", "block") == "block" else "Allow"
    on_update = "Block" if action.get("onEdit", "alert") == "block" else "Allow"
    _add(element, "actionOnInsert", on_insert)
    _add(element, "actionOnUpdate", on_update)
    if spec.get("description"):
        _add(element, "description", spec["description"])
    rule = _add(element, "duplicateRuleMatchRules", None)
    _add(rule, "matchRuleSObjectType", obj)
    _add(rule, "matchingRule", name)
    _add(element, "isActive", spec.get("active", True))
    _add(element, "masterLabel", name.replace("_", " "))
    _add(element, "securityOption", "EnforceSharingRules")
    _add(element, "sortOrder", 1)
    return element


def _matching_rule_xml(name: str, spec: Spec) -> ET.Element:
    element = ET.Element("matchingRules")
    _add(element, "fullName", name)
    _add(element, "label", name.replace("_", " "))
    for item in spec.get("match") or []:
        entry = _add(element, "matchingRuleItems", None)
        _add(entry, "blankValueBehavior", "NullNotAllowed")
        _add(entry, "fieldName", item["field"])
        _add(
            entry, "matchingMethod", "Exact" if item.get("method", "exact") == "exact" else "Fuzzy"
        )
    _add(element, "ruleStatus", "Active" if spec.get("active", True) else "Inactive")
    return element


def to_xml(type_name: str, full_name: str, spec: Spec) -> ET.Element:
    """The XML of a component that the store holds as `spec`."""
    obj, _, own = full_name.partition(".")
    if type_name == "CustomObject":
        return _object_xml(spec)
    if type_name == "CustomField":
        return _field_xml(own, spec)
    if type_name == "ValidationRule":
        return _rule_xml(own, spec)
    if type_name == "Role":
        return _role_xml(spec)
    if type_name == "PermissionSet":
        return _permission_set_xml(spec)
    if type_name == "DuplicateRule":
        return _duplicate_rule_xml(own, obj, spec)
    if type_name == "MatchingRule":
        return _matching_rule_xml(own, spec)
    raise KeyError(type_name)


def overlay(stored: ET.Element, generated: ET.Element) -> ET.Element:
    """`stored` with every element `generated` has replaced by generated's (others kept)."""
    tags = {item.tag for item in generated}
    out = ET.Element(stored.tag, stored.attrib)
    placed: set[str] = set()
    for item in stored:
        if item.tag not in tags:
            out.append(item)
        elif item.tag not in placed:
            placed.add(item.tag)
            out.extend(g for g in generated if g.tag == item.tag)
    out.extend(g for g in generated if g.tag not in placed and g.tag not in
               {i.tag for i in stored})  # fmt: skip
    return out


#: Elements a retrieve shows even when nobody set them (their documented defaults).
_ORG_DEFAULTS: dict[str, tuple[tuple[str, str], ...]] = {
    "Role": (("mayForecastManagerShare", "false"),),
    "PermissionSet": (("hasActivationRequired", "false"),),
}


def with_defaults(type_name: str, element: ET.Element) -> ET.Element:
    """`element` with the defaults a real org adds where they are absent, in element order."""
    for tag, value in _ORG_DEFAULTS.get(type_name, ()):
        if element.find(tag) is None:
            item = ET.Element(tag)
            item.text = value
            later = [i for i, e in enumerate(element) if e.tag > tag and e.tag != "fullName"]
            element.insert(later[0] if later else len(element), item)
    return element
