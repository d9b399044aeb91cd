"""Read-modify-write of one component's XML: change only what crmctl models, and only what changed.

A Metadata API deploy replaces a component with the file deployed. Building
that file from crmctl's spec alone would drop everything crmctl does not
model (lookup filters, history tracking, dependent-picklist settings, a
role's case access, a permission set's Apex class access …). So an update
starts from the org's own XML of the component, as the plan's retrieve read
it, and changes the elements behind the spec keys whose values differ
between the change's `before` and `after`. Every other element keeps its
value and its place; a new element goes where Salesforce would write it
(its elements are in alphabetical order, `fullName` first).

    element = patch("CustomField", "Region__c", live_xml, before, after)

A change that cannot be written without losing something raises
`MergeError` (a picklist whose values come from a global value set).
"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

from crmctl.providers.salesforce import metadata_xml as mx

__all__ = ["MergeError", "patch", "patch_matching_rule", "set_value"]

Spec = dict[str, Any]


class MergeError(Exception):
    """Changes crmctl cannot write into the org's XML without losing what it holds.

    `failures` maps each such change's address to the reason (filled in by `package`).
    """

    def __init__(self, message: str, failures: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.failures = failures or {}


# --- element plumbing ------------------------------------------------------------------


def _position(parent: ET.Element, tag: str) -> int:
    """Where a new `tag` goes: after its namesakes, else before the first later tag."""
    items = list(parent)
    same = [i for i, item in enumerate(items) if item.tag == tag]
    if same:
        return same[-1] + 1
    for i, item in enumerate(items):
        if item.tag != "fullName" and item.tag > tag:
            return i
    return len(items)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def set_value(parent: ET.Element, tag: str, value: Any) -> None:
    """Set the first child `tag` to `value` in place (added in order if absent; None removes)."""
    found = parent.find(tag)
    if value is None:
        if found is not None:
            parent.remove(found)
        return
    if found is None:
        found = ET.Element(tag)
        parent.insert(_position(parent, tag), found)
    for attribute in list(found.attrib):
        del found.attrib[attribute]  # xsi:nil and the like no longer apply
    found.text = _text(value)


def _set_flag(parent: ET.Element, tag: str, value: bool) -> None:
    """A boolean element: written when true; when false only if Salesforce wrote it."""
    if value or parent.find(tag) is not None:
        set_value(parent, tag, value)


def _keyed(parent: ET.Element, tag: str, key: str) -> dict[str, ET.Element]:
    return {mx.text(item, key) or "": item for item in parent.findall(tag)}


def _insert_keyed(parent: ET.Element, item: ET.Element, key: str) -> None:
    """Insert a repeated element among its namesakes, ordered by its `key` child."""
    name = mx.text(item, key) or ""
    for i, other in enumerate(list(parent)):
        if other.tag == item.tag and (mx.text(other, key) or "") > name:
            parent.insert(i, item)
            return
    parent.insert(_position(parent, item.tag), item)


def _changed(before: Spec, after: Spec, key: str) -> bool:
    return before.get(key) != after.get(key)


# --- CustomField -----------------------------------------------------------------------

#: Elements whose meaning depends on the field type: a type change rewrites them.
_TYPE_ELEMENTS = frozenset(
    {"length", "precision", "scale", "visibleLines", "valueSet", "referenceTo",
     "relationshipName", "relationshipLabel", "relationshipOrder", "deleteConstraint",
     "reparentableMasterDetail", "writeRequiresMasterRead", "defaultValue", "lookupFilter",
     "formula", "formulaTreatBlanksAs", "displayFormat", "startingNumber", "summaryOperation",
     "summaryForeignKey", "summarizedField", "summaryFilterItems"}
)  # fmt: skip
#: Spec keys of computed and special fields -> their element (value written as it is).
_PLAIN = (("formula", "formula"), ("treatBlanksAs", "formulaTreatBlanksAs"),
          ("displayFormat", "displayFormat"), ("startingNumber", "startingNumber"),
          ("visibleLines", "visibleLines"), ("summaryOperation", "summaryOperation"),
          ("summaryForeignKey", "summaryForeignKey"), ("summarizedField", "summarizedField"))  # fmt: skip


def _field(element: ET.Element, name: str, before: Spec, after: Spec) -> None:
    if _changed(before, after, "type"):
        fresh = mx.field_xml(name, after)
        for item in [i for i in element if i.tag in _TYPE_ELEMENTS]:
            element.remove(item)
        for item in fresh:
            if item.tag in _TYPE_ELEMENTS:
                element.insert(_position(element, item.tag), item)
        set_value(element, "type", mx.text(fresh, "type"))
        _field_common(element, name, before, after)
        return
    if _changed(before, after, "returnType"):
        set_value(element, "type", mx.sf_type(after))
    for key, tag in _PLAIN:
        if _changed(before, after, key):
            set_value(element, tag, after.get(key))
    if _changed(before, after, "filters"):
        compared = [mx.text(i, "field") for i in element.findall("summaryFilterItems")
                    if mx.text(i, "valueField")]  # fmt: skip
        if compared:
            raise MergeError(
                f"its roll-up filter on {', '.join(str(c) for c in compared)} compares with a "
                "field (valueField), which crmctl cannot write back: change the filters in Setup"
            )
        for item in element.findall("summaryFilterItems"):
            element.remove(item)
        for entry in after.get("filters") or []:
            element.insert(_position(element, "summaryFilterItems"), mx.summary_filter_xml(entry))
    if _changed(before, after, "valueSetName") and after.get("valueSetName"):
        _value_set_name(element, after["valueSetName"])
    _field_common(element, name, before, after)


def _value_set_name(element: ET.Element, value_set_name: str) -> None:
    """Point a picklist at a global value set (its own values go: Salesforce keeps one)."""
    value_set = element.find("valueSet")
    if value_set is None:
        value_set = ET.Element("valueSet")
        element.insert(_position(element, "valueSet"), value_set)
    definition = value_set.find("valueSetDefinition")
    if definition is not None:
        value_set.remove(definition)
    set_value(value_set, "valueSetName", value_set_name)
    if value_set.find("restricted") is None:
        set_value(value_set, "restricted", True)


def _field_common(element: ET.Element, name: str, before: Spec, after: Spec) -> None:
    for key, tag in (("label", "label"), ("description", "description"),
                     ("helpText", "inlineHelpText")):  # fmt: skip
        if _changed(before, after, key):
            set_value(element, tag, after.get(key) or None)
    for flag in ("required", "unique", "externalId"):
        if _changed(before, after, flag):
            _set_flag(element, flag, bool(after.get(flag)))
    required_now = _changed(before, after, "required") and after.get("required")
    if required_now and mx.text(element, "deleteConstraint") == "SetNull":
        set_value(element, "deleteConstraint", "Restrict")  # a required lookup cannot clear
    for key in ("length", "precision", "scale", "referenceTo"):
        if _changed(before, after, key) and after.get(key) is not None:
            set_value(element, key, after[key])
    if _changed(before, after, "defaultValue"):
        if "defaultValue" in after:
            set_value(element, "defaultValue", mx.default_to_formula(after["defaultValue"]))
        else:
            checkbox = after.get("type") == "Checkbox"
            set_value(element, "defaultValue", "false" if checkbox else None)
    if _changed(before, after, "relationshipName") and after.get("type") in _LOOKUPS:
        set_value(element, "relationshipName", after.get("relationshipName") or _stem(name))
    if _changed(before, after, "values") and "values" in after and not after.get("valueSetName"):
        _values(element, name, after)
    if _changed(before, after, "classification"):
        _classification(element, after.get("classification"))


_LOOKUPS = ("Lookup", "MasterDetail")


def _stem(name: str) -> str:
    return name.removesuffix("__c")


def _values(element: ET.Element, name: str, after: Spec) -> None:
    value_set = element.find("valueSet")
    if value_set is None:
        fresh = mx.field_xml(name, after).find("valueSet")
        assert fresh is not None
        element.insert(_position(element, "valueSet"), fresh)
        return
    global_set = mx.text(value_set, "valueSetName")
    if global_set:
        raise MergeError(
            f"its values come from the global value set {global_set}: change them there "
            "(Salesforce would turn the field into one with its own values); declare "
            f"valueSetName: {global_set} instead of values, and the values in "
            f"GlobalValueSet/{global_set}"
        )
    definition = value_set.find("valueSetDefinition")
    if definition is None:
        definition = ET.Element("valueSetDefinition")
        value_set.insert(_position(value_set, "valueSetDefinition"), definition)
    old = _keyed(definition, "value", "fullName")
    for stale in old.values():
        definition.remove(stale)
    for entry in after.get("values", []):
        entry = entry if isinstance(entry, dict) else {"value": entry}
        item = old.get(entry["value"])
        if item is None:
            item = ET.Element("value")
            set_value(item, "fullName", entry["value"])
        set_value(item, "default", bool(entry.get("default", False)))
        set_value(item, "label", entry.get("label") or entry["value"])
        if not entry.get("active", True) or item.find("isActive") is not None:
            set_value(item, "isActive", bool(entry.get("active", True)))
        definition.append(item)


def _classification(element: ET.Element, classification: str | None) -> None:
    level, group = mx.CLASSIFICATION_OUT.get(classification or "", (None, None))
    set_value(element, "securityClassification", level)
    groups = [
        g.strip()
        for g in (mx.text(element, "complianceGroup") or "").split(";")
        if g.strip() and g.strip() != "PII"
    ]
    if group:
        groups.append(group)
    set_value(element, "complianceGroup", ";".join(groups) or None)


# --- CustomObject ----------------------------------------------------------------------

_SHARING_ORDER = ("Private", "Read", "ReadWrite")


def _object(element: ET.Element, name: str, before: Spec, after: Spec) -> None:
    for key, tag in (("label", "label"), ("description", "description")):
        if _changed(before, after, key):
            set_value(element, tag, after.get(key) or None)
    if _changed(before, after, "pluralLabel"):
        set_value(element, "pluralLabel", after.get("pluralLabel") or f"{after['label']}s")
    if _changed(before, after, "sharingModel"):
        sharing = after.get("sharingModel", "ReadWrite")
        set_value(element, "sharingModel", sharing)
        external = mx.text(element, "externalSharingModel")
        if external in _SHARING_ORDER and _SHARING_ORDER.index(external) > _SHARING_ORDER.index(
            sharing
        ):
            set_value(element, "externalSharingModel", sharing)  # never wider than internal
    if _changed(before, after, "recordName"):
        record = after.get("recordName") or {"label": f"{after['label']} Name", "type": "Text"}
        name_field = element.find("nameField")
        if name_field is None:
            name_field = ET.Element("nameField")
            element.insert(_position(element, "nameField"), name_field)
        set_value(name_field, "label", record.get("label") or f"{after['label']} Name")
        set_value(name_field, "type", record.get("type", "Text"))
        set_value(name_field, "displayFormat", record.get("displayFormat"))


# --- ValidationRule, Role --------------------------------------------------------------


def _validation_rule(element: ET.Element, name: str, before: Spec, after: Spec) -> None:
    if _changed(before, after, "active"):
        set_value(element, "active", after.get("active", True))
    for key, tag in (("description", "description"), ("condition", "errorConditionFormula"),
                     ("errorField", "errorDisplayField"), ("errorMessage", "errorMessage")):  # fmt: skip
        if _changed(before, after, key):
            set_value(element, tag, after.get(key) or None)


def _role(element: ET.Element, name: str, before: Spec, after: Spec) -> None:
    for key, tag in (("label", "name"), ("parent", "parentRole"), ("description", "description")):
        if _changed(before, after, key):
            set_value(element, tag, after.get(key) or None)


# --- PermissionSet ---------------------------------------------------------------------


def _permission_set(element: ET.Element, name: str, before: Spec, after: Spec) -> None:
    for key in ("label", "description"):
        if _changed(before, after, key):
            set_value(element, key, after.get(key) or None)
    old_objects, new_objects = before.get("objects") or {}, after.get("objects") or {}
    entries = _keyed(element, "objectPermissions", "object")
    for obj in sorted(set(old_objects) | set(new_objects)):
        perms = set(new_objects.get(obj) or ())
        if perms == set(old_objects.get(obj) or ()):
            continue
        item = entries.get(obj)
        if item is None:
            if not perms:
                continue
            item = ET.Element("objectPermissions")
            set_value(item, "object", obj)
            _insert_keyed(element, item, "object")
        for permission, tag in mx.OBJECT_PERMISSION_TAGS.items():
            set_value(item, tag, permission in perms)
    old_fields, new_fields = before.get("fields") or {}, after.get("fields") or {}
    entries = _keyed(element, "fieldPermissions", "field")
    for field in sorted(set(old_fields) | set(new_fields)):
        perms = set(new_fields.get(field) or ())
        if perms == set(old_fields.get(field) or ()):
            continue
        item = entries.get(field)
        if item is None:
            if not perms:
                continue
            item = ET.Element("fieldPermissions")
            set_value(item, "field", field)
            _insert_keyed(element, item, "field")
        set_value(item, "editable", "edit" in perms)
        set_value(item, "readable", bool(perms))
    old_system, new_system = set(before.get("system") or ()), set(after.get("system") or ())
    entries = _keyed(element, "userPermissions", "name")
    for permission in sorted(old_system ^ new_system):
        item = entries.get(permission)
        if permission in new_system:
            if item is None:
                item = ET.Element("userPermissions")
                set_value(item, "name", permission)
                _insert_keyed(element, item, "name")
            set_value(item, "enabled", True)
        elif item is not None:
            element.remove(item)  # Salesforce lists only the permissions that are on


# --- DuplicateRule and its MatchingRule ------------------------------------------------


def _duplicate_rule(element: ET.Element, name: str, before: Spec, after: Spec) -> None:
    if _changed(before, after, "active"):
        set_value(element, "isActive", after.get("active", True))
    if _changed(before, after, "description"):
        set_value(element, "description", after.get("description") or None)
    if _changed(before, after, "action"):
        action = after.get("action", {})
        for key, default, tag in (("onCreate", "block", "Insert"), ("onEdit", "alert", "Update")):
            block = action.get(key, default) == "block"
            set_value(element, f"actionOn{tag}", "Block" if block else "Allow")
            operations = element.find(f"operationsOn{tag}")
            if block and operations is not None:
                element.remove(operations)
            elif not block and operations is None:
                set_value(element, f"operationsOn{tag}", "Alert")
        allows = "Allow" in (mx.text(element, "actionOnInsert"), mx.text(element, "actionOnUpdate"))
        if allows and not mx.text(element, "alertText"):
            set_value(element, "alertText", "Use one of these records?")


def patch_matching_rule(element: ET.Element, before: Spec, after: Spec) -> ET.Element:
    """A copy of a `<matchingRules>` entry with the duplicate rule's `match` and status."""
    element = copy.deepcopy(element)
    if _changed(before, after, "active"):
        set_value(element, "ruleStatus", "Active" if after.get("active", True) else "Inactive")
    if _changed(before, after, "match"):
        fresh = mx.matching_rule_xml(mx.text(element, "fullName") or "", after)
        old = _keyed(element, "matchingRuleItems", "fieldName")
        for item in old.values():
            element.remove(item)
        position = _position(element, "matchingRuleItems")
        for offset, item in enumerate(fresh.findall("matchingRuleItems")):
            kept = old.get(mx.text(item, "fieldName") or "")
            if kept is not None:
                kept = copy.deepcopy(kept)
                set_value(kept, "matchingMethod", mx.text(item, "matchingMethod"))
                item = kept
            element.insert(position + offset, item)
    return element


# --- StandardField, GlobalValueSet, RecordType -----------------------------------------


def _standard_field(element: ET.Element, name: str, before: Spec, after: Spec) -> None:
    if _changed(before, after, "helpText"):
        set_value(element, "inlineHelpText", after.get("helpText") or None)
    for flag in ("trackHistory", "trackFeedHistory"):
        if _changed(before, after, flag):
            _set_flag(element, flag, bool(after.get(flag)))


def _global_value_set(element: ET.Element, name: str, before: Spec, after: Spec) -> None:
    for key, tag in (("label", "masterLabel"), ("description", "description")):
        if _changed(before, after, key):
            set_value(element, tag, after.get(key) or None)
    if _changed(before, after, "sorted"):
        set_value(element, "sorted", bool(after.get("sorted")))
    if _changed(before, after, "values"):
        old = _keyed(element, "customValue", "fullName")
        position = min(
            (i for i, item in enumerate(element) if item.tag == "customValue"),
            default=_position(element, "customValue"),
        )
        for item in old.values():
            element.remove(item)
        for offset, entry in enumerate(after.get("values", [])):
            entry = entry if isinstance(entry, dict) else {"value": entry}
            kept = old.get(entry["value"])
            item = kept if kept is not None else ET.Element("customValue")
            if kept is None:
                set_value(item, "fullName", entry["value"])
            set_value(item, "default", bool(entry.get("default", False)))
            set_value(item, "label", entry.get("label") or entry["value"])
            if not entry.get("active", True) or item.find("isActive") is not None:
                set_value(item, "isActive", bool(entry.get("active", True)))
            element.insert(position + offset, item)


def _record_type(element: ET.Element, name: str, before: Spec, after: Spec) -> None:
    for key in ("label", "description", "businessProcess"):
        if _changed(before, after, key):
            set_value(element, key, after.get(key) or None)
    if _changed(before, after, "active"):
        set_value(element, "active", after.get("active", True))
    old_lists, new_lists = before.get("picklists") or {}, after.get("picklists") or {}
    entries = _keyed(element, "picklistValues", "picklist")
    for field in sorted(set(old_lists) | set(new_lists)):
        if old_lists.get(field) == new_lists.get(field):
            continue
        item = entries.get(field)
        if field not in new_lists:
            if item is not None:
                element.remove(item)
            continue
        fresh = mx.record_type_values_xml(field, new_lists[field])
        if item is None:
            _insert_keyed(element, fresh, "picklist")
        else:
            element.insert(list(element).index(item), fresh)
            element.remove(item)


_PATCHERS: dict[str, Callable[[ET.Element, str, Spec, Spec], None]] = {
    "GlobalValueSet": _global_value_set,
    "StandardField": _standard_field,
    "RecordType": _record_type,
    "CustomField": _field,
    "CustomObject": _object,
    "ValidationRule": _validation_rule,
    "Role": _role,
    "PermissionSet": _permission_set,
    "DuplicateRule": _duplicate_rule,
}


def patch(kind: str, name: str, element: ET.Element, before: Spec, after: Spec) -> ET.Element:
    """A copy of the org's `element` of a component, with the change before -> after made.

    `name` is the component's own name (`Region__c` for `Account.Region__c`).
    """
    element = copy.deepcopy(element)
    _PATCHERS[kind](element, name, before, after)
    return element
