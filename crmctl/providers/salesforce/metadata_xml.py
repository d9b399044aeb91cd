"""Salesforce metadata XML <-> crmctl canonical specs: the one place that knows both.

The provider (reading a retrieve zip, writing a deploy zip) and the
Salesforce DX importer translate through here, so a spec survives
`spec -> XML -> spec` unchanged. The writers build a component crmctl
creates; an update starts from the org's own XML instead (`merge`).

Readers return a `Converted`: the spec (None when the component has no
crmctl equivalent at all) and notes, one sentence per thing that was left
out, so callers can report them instead of dropping them silently. Writers
take a canonical spec and return an element in Salesforce's element order
(alphabetical, as Salesforce writes them), and leave out what crmctl does
not model so that Salesforce applies its documented defaults.

Mappings that are not one to one:

- `classification` <-> `securityClassification` (Public, Internal,
  Confidential; Sensitive is Restricted) plus `complianceGroup` PII for PII.
- `defaultValue` is a formula in Salesforce: a quoted string, a number or
  true/false; any other formula cannot be expressed.
- A DuplicateRule's `match` lives in a MatchingRule of the same name; any
  non-Exact matching method reads as `fuzzy`.
- `relationshipName` is read only when it is not the default (the field's
  name without `__c`), which is what crmctl assumes when it is absent.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from crmctl.kinds.permission_set import OBJECT_PERMISSIONS

__all__ = [
    "NS",
    "Converted",
    "parse",
    "to_bytes",
    "child",
    "children",
    "text",
    "field_spec",
    "field_xml",
    "object_spec",
    "object_xml",
    "validation_rule_spec",
    "validation_rule_xml",
    "permission_set_spec",
    "permission_set_xml",
    "role_spec",
    "role_xml",
    "duplicate_rule_spec",
    "duplicate_rule_xml",
    "matching_rule_xml",
    "matching_rules",
    "matching_rule_items",
    "value_set_values",
    "standard_field_spec",
    "standard_field_xml",
    "STANDARD_FIELD_TAGS",
    "global_value_set_spec",
    "global_value_set_xml",
    "record_type_spec",
    "record_type_xml",
    "record_type_values_xml",
    "summary_filter_xml",
    "sf_type",
    "FORMULA_TYPES",
    "package_xml",
    "package_members",
    "FIELD_TYPES",
    "CLASSIFICATION_OUT",
    "OBJECT_PERMISSION_TAGS",
    "default_to_formula",
]

NS = "http://soap.sforce.com/2006/04/metadata"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

#: Salesforce field type -> crmctl field type (the ones crmctl can express).
FIELD_TYPES: dict[str, str] = {
    "Text": "Text",
    "TextArea": "TextArea",
    "LongTextArea": "LongTextArea",
    "Number": "Number",
    "Currency": "Currency",
    "Percent": "Percent",
    "Date": "Date",
    "DateTime": "DateTime",
    "Checkbox": "Checkbox",
    "Email": "Email",
    "Phone": "Phone",
    "Url": "Url",
    "Picklist": "Picklist",
    "MultiselectPicklist": "MultiPicklist",
    "Lookup": "Lookup",
    "MasterDetail": "MasterDetail",
    "Time": "Time",
    "Html": "Html",
    "AutoNumber": "AutoNumber",
    "Summary": "Summary",
}
_SF_TYPES = {crm: sf for sf, crm in FIELD_TYPES.items()}
#: The result types a formula field can have (its `<type>` element).
FORMULA_TYPES = ("Text", "Number", "Currency", "Percent", "Date", "DateTime", "Time", "Checkbox")
_NUMERIC = ("Number", "Currency", "Percent")
_SHARING = ("Private", "Read", "ReadWrite")

#: Field elements that change nothing crmctl models (display, tracking, Salesforce's own defaults).
_FIELD_NOISE = frozenset(
    {
        "fullName",
        "trackTrending",
        "trackHistory",
        "trackFeedHistory",
        "visibleLines",
        "relationshipLabel",
        "relationshipOrder",
        "reparentableMasterDetail",
        "writeRequiresMasterRead",
        "deleteConstraint",
        "caseSensitive",
        "externalId",
        "unique",
        "required",
        "businessStatus",
        "fieldManageability",
        "displayLocationInDecimal",
        "deprecated",
    }
)
_FIELD_KNOWN = frozenset(
    {
        "label",
        "type",
        "description",
        "inlineHelpText",
        "length",
        "precision",
        "scale",
        "defaultValue",
        "referenceTo",
        "relationshipName",
        "valueSet",
        "securityClassification",
        "complianceGroup",
        "formula",
        "formulaTreatBlanksAs",
        "displayFormat",
        "startingNumber",
        "summaryOperation",
        "summaryForeignKey",
        "summarizedField",
        "summaryFilterItems",
    }
)

# Object permission element <-> crmctl permission name, in crmctl's order.
OBJECT_PERMISSION_TAGS = dict(
    zip(
        OBJECT_PERMISSIONS,
        (
            "allowRead",
            "allowCreate",
            "allowEdit",
            "allowDelete",
            "viewAllRecords",
            "modifyAllRecords",
        ),
        strict=True,
    )
)


@dataclass
class Converted:
    """A component translated to a crmctl spec, and what could not be translated."""

    spec: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)


# --- XML plumbing -----------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def parse(data: bytes | str) -> ET.Element:
    """An XML document's root with namespaces stripped from every tag."""
    root = ET.fromstring(data)
    for element in root.iter():
        element.tag = _local(element.tag)
    return root


def to_bytes(root: ET.Element) -> bytes:
    """A metadata document: XML declaration, Salesforce's namespace, four-space indents."""
    root.set("xmlns", NS)
    nil = f"{{{XSI}}}nil"
    for element in root.iter():
        if nil in element.attrib:  # as parsed from the org: write it the way Salesforce does
            element.set("xsi:nil", element.attrib.pop(nil))
            root.set("xmlns:xsi", XSI)
    ET.indent(root, space="    ")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"


def child(element: ET.Element, tag: str) -> ET.Element | None:
    return element.find(tag)


def children(element: ET.Element, tag: str) -> list[ET.Element]:
    return element.findall(tag)


def text(element: ET.Element, tag: str) -> str | None:
    """The text of the first child `tag` (None when absent or nil)."""
    found = element.find(tag)
    if found is None or found.get(f"{{{XSI}}}nil") == "true" or found.get("nil") == "true":
        return None
    return found.text or ""


def _flag(element: ET.Element, tag: str, default: bool = False) -> bool:
    value = text(element, tag)
    return default if value is None else value.strip().lower() == "true"


def _int(element: ET.Element, tag: str) -> int | None:
    value = text(element, tag)
    try:
        return int(float(value)) if value not in (None, "") else None
    except ValueError:
        return None


def _add(parent: ET.Element, tag: str, value: Any = None) -> ET.Element:
    element = ET.SubElement(parent, tag)
    if value is not None:
        element.text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return element


def _sorted_children(element: ET.Element) -> ET.Element:
    """Children in alphabetical tag order (stable), as Salesforce writes metadata."""
    items = list(element)
    for item in items:
        element.remove(item)
    for item in sorted(items, key=lambda e: e.tag):
        element.append(item)
    return element


def _unknown(element: ET.Element, known: Iterable[str]) -> list[str]:
    """Tags of `element`'s children that are neither known nor empty."""
    known = set(known)
    seen: dict[str, int] = {}
    for item in element:
        value = (item.text or "").strip()
        if item.tag in known or (not len(item) and value in ("", "false")):
            continue  # empty, or a flag left off: Salesforce's defaults
        seen[item.tag] = seen.get(item.tag, 0) + 1
    return [f"{tag} ({count})" if count > 1 else tag for tag, count in seen.items()]


# --- default values (formulas) ---------------------------------------------------------

_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def _default_from_formula(formula: str, ftype: str) -> tuple[Any, bool]:
    """(value, understood) for a field's defaultValue formula."""
    value = formula.strip()
    if value.lower() in ("true", "false"):
        return value.lower() == "true", True
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        body = value[1:-1]
        if re.search(r"(?<!\\)" + re.escape(value[0]), body):
            return None, False  # a formula like "a" & "b"
        return re.sub(r"\\(.)", r"\1", body), True
    if _NUMBER.match(value) and ftype in _NUMERIC:
        number = float(value)
        return (int(number) if number.is_integer() and "." not in value else number), True
    return None, False


def default_to_formula(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


# --- picklist values -------------------------------------------------------------------


def value_set_values(element: ET.Element, tag: str = "value") -> list[dict[str, Any]]:
    """Picklist values (crmctl's full form) from a valueSetDefinition or a GlobalValueSet."""
    values = []
    for item in children(element, tag):
        name = text(item, "fullName") or ""
        values.append(
            {
                "value": name,
                "label": text(item, "label") or name,
                "default": _flag(item, "default"),
                "active": _flag(item, "isActive", True),
            }
        )
    return values


def _compact_values(values: list[dict[str, Any]]) -> list[Any]:
    """Values as a manifest writes them: a bare string unless something is not the default."""
    out: list[Any] = []
    for value in values:
        extra = {
            k: v
            for k, v in value.items()
            if (k, v) not in (("default", False), ("active", True))
            and not (k == "label" and v == value["value"])
        }
        out.append(value["value"] if set(extra) == {"value"} else extra)
    return out


# --- CustomField -----------------------------------------------------------------------

CLASSIFICATION_OUT = {
    "Public": ("Public", None),
    "Internal": ("Internal", None),
    "Confidential": ("Confidential", None),
    "PII": ("Confidential", "PII"),
    "Sensitive": ("Restricted", None),
}


def _classification(element: ET.Element) -> str | None:
    groups = {g.strip() for g in (text(element, "complianceGroup") or "").split(";")}
    if "PII" in groups:
        return "PII"
    level = text(element, "securityClassification")
    if level in ("Restricted", "MissionCritical"):
        return "Sensitive"
    return level if level in ("Public", "Internal", "Confidential") else None


def field_spec(
    obj: str,
    element: ET.Element,
    value_sets: Mapping[str, list[dict[str, Any]]] | None = None,
    compact: bool = False,
) -> Converted:
    """A CustomField element (`<fields>` of an object or a `.field` file) as a crmctl spec.

    `value_sets` are the org's global value sets by name; `compact` writes
    picklist values the short way a manifest would.
    """
    name = text(element, "fullName") or ""
    sf_type = text(element, "type") or ""
    formula = text(element, "formula")
    if formula is not None and sf_type not in FORMULA_TYPES:
        return Converted(None, [f"a formula field of type {sf_type} is not supported by crmctl"])
    ftype = "Formula" if formula is not None else FIELD_TYPES.get(sf_type)
    if ftype is None:
        return Converted(None, [f"field type {sf_type or '(none)'} is not supported by crmctl"])
    notes: list[str] = []
    spec: dict[str, Any] = {"type": ftype, "label": text(element, "label") or name}
    if ftype == "Formula":
        spec.update(returnType=sf_type, formula=formula)
        if text(element, "formulaTreatBlanksAs"):
            spec["treatBlanksAs"] = text(element, "formulaTreatBlanksAs")
    elif ftype == "Summary":
        notes.extend(_summary(element, spec))
    elif ftype == "AutoNumber":
        spec["displayFormat"] = text(element, "displayFormat") or ""
        if _int(element, "startingNumber") is not None:
            spec["startingNumber"] = _int(element, "startingNumber")
    elif ftype == "Html":
        spec["length"] = _int(element, "length") or 32768
        spec["visibleLines"] = _int(element, "visibleLines") or 25
    for sf_name, crm_name in (("description", "description"), ("inlineHelpText", "helpText")):
        value = text(element, sf_name)
        if value:
            spec[crm_name] = value
    for flag in ("required", "unique", "externalId"):
        if _flag(element, flag):
            spec[flag] = True
    if ftype in ("Text", "LongTextArea"):
        spec["length"] = _int(element, "length") or (255 if ftype == "Text" else 32768)
    if ftype in _NUMERIC:
        spec["precision"] = _int(element, "precision") or 18
        spec["scale"] = _int(element, "scale") or 0
    if ftype in ("Formula", "Summary"):
        for key in ("precision", "scale"):
            if _int(element, key) is not None:
                spec[key] = _int(element, key)
    formula = text(element, "defaultValue")
    if formula not in (None, ""):
        value, understood = _default_from_formula(formula, ftype)
        if not understood:
            notes.append(f"defaultValue formula {formula!r} cannot be expressed; left out")
        elif not (ftype == "Checkbox" and value is False):
            spec["defaultValue"] = value
    if ftype in ("Lookup", "MasterDetail"):
        spec["referenceTo"] = text(element, "referenceTo") or ""
        relationship = text(element, "relationshipName")
        if relationship and relationship != name.removesuffix("__c"):
            spec["relationshipName"] = relationship
        if child(element, "lookupFilter") is not None:
            notes.append(
                "the lookup filter is not in the manifest: crmctl keeps it on every update, "
                "but a field crmctl creates has none"
            )
    if ftype in ("Picklist", "MultiPicklist"):
        value_set = child(element, "valueSet")
        global_name = text(value_set, "valueSetName") if value_set is not None else None
        if global_name and value_set is not None:
            spec["valueSetName"] = global_name
            if text(value_set, "controllingField"):
                notes.append(
                    f"dependent picklist: the dependency on {text(value_set, 'controllingField')} "
                    "is not in the manifest (updates keep it)"
                )
        else:
            values, problem = _picklist(element, value_sets or {})
            if values is None:
                return Converted(None, [problem or "picklist without values"])
            if problem:
                notes.append(problem)
            spec["values"] = _compact_values(values) if compact else values
    classification = _classification(element)
    if classification:
        spec["classification"] = classification
    leftover = _unknown(element, _FIELD_KNOWN | _FIELD_NOISE | {"lookupFilter"})
    if leftover:
        notes.append(f"not kept: {', '.join(leftover)}")
    return Converted(spec, notes)


#: Roll-up filter element <-> spec key.
_FILTER_KEYS = (("field", "field"), ("operation", "operation"), ("value", "value"))


def _summary(element: ET.Element, spec: dict[str, Any]) -> list[str]:
    """A roll-up summary's operation, relationship, field and filters into `spec`; notes."""
    notes = []
    spec["summaryOperation"] = text(element, "summaryOperation") or "count"
    spec["summaryForeignKey"] = text(element, "summaryForeignKey") or ""
    if text(element, "summarizedField"):
        spec["summarizedField"] = text(element, "summarizedField")
    filters = []
    for item in children(element, "summaryFilterItems"):
        if text(item, "valueField"):
            notes.append(
                f"the roll-up filter on {text(item, 'field')} compares with a field "
                "(valueField), which crmctl cannot express; left out"
            )
            continue
        entry = {key: text(item, tag) for tag, key in _FILTER_KEYS if text(item, tag) is not None}
        filters.append(entry)
    if filters:
        spec["filters"] = filters
    return notes


def _picklist(
    element: ET.Element, value_sets: Mapping[str, list[dict[str, Any]]]
) -> tuple[list[dict[str, Any]] | None, str | None]:
    value_set = child(element, "valueSet")
    if value_set is None:
        return None, "a picklist without a valueSet (standard value set) is not supported"
    problem = None
    if text(value_set, "controllingField"):
        problem = f"dependent picklist: the dependency on {text(value_set, 'controllingField')} is not kept"
    global_name = text(value_set, "valueSetName")
    if global_name:
        values = value_sets.get(global_name)
        if values is None:
            return None, f"global value set {global_name} is not available"
        return [dict(v) for v in values], problem
    definition = child(value_set, "valueSetDefinition")
    values = value_set_values(definition) if definition is not None else []
    return (values or None), problem


def field_xml(name: str, spec: dict[str, Any], tag: str = "fields") -> ET.Element:
    """A canonical CustomField spec as a `<fields>` element (`name` without the object)."""
    element = ET.Element(tag)
    ftype = spec["type"]
    _add(element, "fullName", name)
    _add(element, "label", spec["label"])
    _add(element, "type", sf_type(spec))
    if ftype == "Formula":
        _add(element, "formula", spec["formula"])
        if spec.get("treatBlanksAs"):
            _add(element, "formulaTreatBlanksAs", spec["treatBlanksAs"])
    if ftype == "Summary":
        for key in ("summaryOperation", "summaryForeignKey", "summarizedField"):
            if spec.get(key):
                _add(element, key, spec[key])
        for entry in spec.get("filters") or []:
            element.append(summary_filter_xml(entry))
    if ftype == "AutoNumber":
        _add(element, "displayFormat", spec["displayFormat"])
        if spec.get("startingNumber") is not None:
            _add(element, "startingNumber", spec["startingNumber"])
    if ftype == "Html":
        _add(element, "length", spec.get("length", 32768))
        _add(element, "visibleLines", spec.get("visibleLines", 25))
    if ftype in ("Formula", "Summary"):
        for key in ("precision", "scale"):
            if spec.get(key) is not None:
                _add(element, key, spec[key])
    for crm_name, sf_name in (("description", "description"), ("helpText", "inlineHelpText")):
        if spec.get(crm_name):
            _add(element, sf_name, spec[crm_name])
    for flag in ("required", "unique", "externalId"):
        if spec.get(flag):
            _add(element, flag, True)
    if ftype in ("Text", "LongTextArea"):
        _add(element, "length", spec.get("length", 255 if ftype == "Text" else 32768))
    if ftype in ("LongTextArea", "MultiPicklist"):
        _add(element, "visibleLines", 3 if ftype == "LongTextArea" else 4)
    if ftype in _NUMERIC:
        _add(element, "precision", spec.get("precision", 18))
        _add(element, "scale", spec.get("scale", 0))
    if "defaultValue" in spec:
        _add(element, "defaultValue", default_to_formula(spec["defaultValue"]))
    elif ftype == "Checkbox":
        _add(element, "defaultValue", "false")  # Salesforce requires one
    if ftype in ("Lookup", "MasterDetail"):
        relationship = spec.get("relationshipName") or name.removesuffix("__c")
        _add(element, "referenceTo", spec["referenceTo"])
        _add(element, "relationshipName", relationship)
        _add(element, "relationshipLabel", spec["label"])
        if ftype == "Lookup":
            _add(element, "deleteConstraint", "Restrict" if spec.get("required") else "SetNull")
        else:
            _add(element, "relationshipOrder", 0)
            _add(element, "reparentableMasterDetail", False)
            _add(element, "writeRequiresMasterRead", False)
    if ftype in ("Picklist", "MultiPicklist") and spec.get("valueSetName"):
        value_set = _add(element, "valueSet")
        _add(value_set, "restricted", True)
        _add(value_set, "valueSetName", spec["valueSetName"])
    elif ftype in ("Picklist", "MultiPicklist"):
        value_set = _add(element, "valueSet")
        _add(value_set, "restricted", True)
        definition = _add(value_set, "valueSetDefinition")
        _add(definition, "sorted", False)
        for value in spec.get("values", []):
            item = _add(definition, "value")
            entry = value if isinstance(value, dict) else {"value": value}
            _add(item, "fullName", entry["value"])
            _add(item, "default", bool(entry.get("default", False)))
            if not entry.get("active", True):
                _add(item, "isActive", False)
            _add(item, "label", entry.get("label") or entry["value"])
    if spec.get("classification"):  # otherwise Salesforce's default: none
        level, group = CLASSIFICATION_OUT[spec["classification"]]
        _add(element, "securityClassification", level)
        if group:
            _add(element, "complianceGroup", group)
    fields = list(element)[1:]
    for item in fields:
        element.remove(item)
    for item in sorted(fields, key=lambda e: e.tag):
        element.append(item)  # fullName first, then alphabetical
    return element


def sf_type(spec: dict[str, Any]) -> str:
    """A field spec's Salesforce `<type>` (a formula's is its result type)."""
    if spec["type"] == "Formula":
        return str(spec.get("returnType") or "Text")
    return _SF_TYPES[spec["type"]]


def summary_filter_xml(entry: dict[str, Any]) -> ET.Element:
    """One `<summaryFilterItems>` of a roll-up."""
    item = ET.Element("summaryFilterItems")
    for tag, key in _FILTER_KEYS:
        if entry.get(key) is not None:
            _add(item, tag, entry[key])
    return item


# --- StandardField ---------------------------------------------------------------------

#: Standard field element <-> StandardField spec key (what Salesforce lets admins customise).
STANDARD_FIELD_TAGS = (("inlineHelpText", "helpText"), ("trackFeedHistory", "trackFeedHistory"),
                       ("trackHistory", "trackHistory"))  # fmt: skip


def standard_field_spec(element: ET.Element) -> Converted:
    """What is customised of a standard field: help text and tracking ({} when nothing is)."""
    spec: dict[str, Any] = {}
    if text(element, "inlineHelpText"):
        spec["helpText"] = text(element, "inlineHelpText")
    for flag in ("trackHistory", "trackFeedHistory"):
        if _flag(element, flag):
            spec[flag] = True
    notes = []
    leftover = _unknown(element, {"fullName", "inlineHelpText", "trackHistory",
                                  "trackFeedHistory", "type", "trackTrending"})  # fmt: skip
    if leftover:
        notes.append(f"not in the manifest (updates keep it): {', '.join(leftover)}")
    return Converted(spec, notes)


def standard_field_xml(name: str, spec: dict[str, Any], tag: str = "fields") -> ET.Element:
    element = ET.Element(tag)
    _add(element, "fullName", name)
    for sf_name, key in STANDARD_FIELD_TAGS:
        if spec.get(key):
            _add(element, sf_name, spec[key])
    return element


# --- GlobalValueSet --------------------------------------------------------------------


def global_value_set_spec(element: ET.Element, name: str = "") -> Converted:
    spec: dict[str, Any] = {"label": text(element, "masterLabel") or name}
    if text(element, "description"):
        spec["description"] = text(element, "description")
    if _flag(element, "sorted"):
        spec["sorted"] = True
    spec["values"] = value_set_values(element, "customValue")
    if not spec["values"]:
        return Converted(None, ["a global value set without values cannot be expressed"])
    notes = []
    leftover = _unknown(
        element, {"masterLabel", "description", "sorted", "customValue", "fullName"}
    )
    if leftover:
        notes.append(f"not kept: {', '.join(leftover)}")
    return Converted(spec, notes)


def global_value_set_xml(spec: dict[str, Any]) -> ET.Element:
    element = ET.Element("GlobalValueSet")
    for entry in spec.get("values", []):
        entry = entry if isinstance(entry, dict) else {"value": entry}
        item = _add(element, "customValue")
        _add(item, "fullName", entry["value"])
        _add(item, "default", bool(entry.get("default", False)))
        if not entry.get("active", True):
            _add(item, "isActive", False)
        _add(item, "label", entry.get("label") or entry["value"])
    if spec.get("description"):
        _add(element, "description", spec["description"])
    _add(element, "masterLabel", spec["label"])
    _add(element, "sorted", bool(spec.get("sorted", False)))
    return element


# --- RecordType ------------------------------------------------------------------------


def _unescape_value(value: str) -> str:
    """A record type's picklist value as Salesforce writes it (some characters %-encoded)."""
    from urllib.parse import unquote

    return unquote(value)


def record_type_spec(element: ET.Element) -> Converted:
    spec: dict[str, Any] = {"label": text(element, "label") or text(element, "fullName") or ""}
    if text(element, "description"):
        spec["description"] = text(element, "description")
    if not _flag(element, "active", True):
        spec["active"] = False
    if text(element, "businessProcess"):
        spec["businessProcess"] = text(element, "businessProcess")
    picklists: dict[str, list[Any]] = {}
    for item in children(element, "picklistValues"):
        values: list[Any] = []
        for value in children(item, "values"):
            name = _unescape_value(text(value, "fullName") or "")
            values.append({"value": name, "default": True} if _flag(value, "default") else name)
        if values:
            picklists[text(item, "picklist") or ""] = values
    if picklists:
        spec["picklists"] = picklists
    notes = []
    known = {"fullName", "label", "description", "active", "businessProcess", "picklistValues",
             "compactLayoutAssignment"}  # fmt: skip
    leftover = _unknown(element, known)
    if leftover:
        notes.append(f"not kept: {', '.join(leftover)}")
    return Converted(spec, notes)


def record_type_values_xml(field: str, values: list[Any]) -> ET.Element:
    item = ET.Element("picklistValues")
    _add(item, "picklist", field)
    for value in values:
        entry = value if isinstance(value, dict) else {"value": value}
        node = _add(item, "values")
        _add(node, "fullName", entry["value"])
        _add(node, "default", bool(entry.get("default", False)))
    return item


def record_type_xml(name: str, spec: dict[str, Any], tag: str = "recordTypes") -> ET.Element:
    element = ET.Element(tag)
    _add(element, "fullName", name)
    _add(element, "active", spec.get("active", True))
    if spec.get("businessProcess"):
        _add(element, "businessProcess", spec["businessProcess"])
    if spec.get("description"):
        _add(element, "description", spec["description"])
    _add(element, "label", spec["label"])
    for picklist, values in sorted((spec.get("picklists") or {}).items()):
        element.append(record_type_values_xml(picklist, values))
    return element


# --- CustomObject ----------------------------------------------------------------------

_OBJECT_KNOWN = frozenset(
    {"label", "pluralLabel", "description", "sharingModel", "nameField", "deploymentStatus"}
)
#: Object elements that are Salesforce's display and platform settings.
_OBJECT_NOISE = frozenset(
    {
        "fullName",
        "fields",
        "validationRules",
        "recordTypes",
        "externalSharingModel",
        "enableActivities",
        "enableBulkApi",
        "enableFeeds",
        "enableHistory",
        "enableReports",
        "enableSearch",
        "enableSharing",
        "enableStreamingApi",
        "enableLicensing",
        "enableDivisions",
        "enableEnhancedLookup",
        "allowInChatterGroups",
        "visibility",
        "compactLayoutAssignment",
        "searchLayouts",
        "actionOverrides",
        "startsWith",
        "deploymentStatus",
    }
)


def object_spec(element: ET.Element) -> Converted:
    """A CustomObject element (object-level settings only) as a crmctl spec."""
    if text(element, "customSettingsType"):
        return Converted(None, ["a custom setting has no crmctl equivalent"])
    notes: list[str] = []
    label = text(element, "label") or ""
    spec: dict[str, Any] = {"label": label}
    if text(element, "pluralLabel"):
        spec["pluralLabel"] = text(element, "pluralLabel")
    if text(element, "description"):
        spec["description"] = text(element, "description")
    sharing = text(element, "sharingModel")
    if sharing in _SHARING:
        spec["sharingModel"] = sharing
    elif sharing:
        notes.append(f"sharingModel {sharing} has no crmctl equivalent; left at the default")
    name_field = child(element, "nameField")
    if name_field is not None:
        record: dict[str, Any] = {"label": text(name_field, "label") or f"{label} Name"}
        record["type"] = "AutoNumber" if text(name_field, "type") == "AutoNumber" else "Text"
        if record["type"] == "AutoNumber" and text(name_field, "displayFormat"):
            record["displayFormat"] = text(name_field, "displayFormat")
        spec["recordName"] = record
    leftover = _unknown(element, _OBJECT_KNOWN | _OBJECT_NOISE)
    if leftover:
        notes.append(f"not kept: {', '.join(leftover)}")
    return Converted(spec, notes)


def object_xml(spec: dict[str, Any] | None) -> ET.Element:
    """A `<CustomObject>` root; object-level settings only when `spec` is given."""
    element = ET.Element("CustomObject")
    if spec is None:
        return element  # a container for fields and validation rules
    _add(element, "deploymentStatus", "Deployed")
    if spec.get("description"):
        _add(element, "description", spec["description"])
    _add(element, "label", spec["label"])
    record = spec.get("recordName") or {"label": f"{spec['label']} Name", "type": "Text"}
    name_field = _add(element, "nameField")
    if record.get("displayFormat"):
        _add(name_field, "displayFormat", record["displayFormat"])
    _add(name_field, "label", record.get("label") or f"{spec['label']} Name")
    _add(name_field, "type", record.get("type", "Text"))
    _add(element, "pluralLabel", spec.get("pluralLabel") or f"{spec['label']}s")
    # externalSharingModel is left to Salesforce, which defaults it per org.
    _add(element, "sharingModel", spec.get("sharingModel", "ReadWrite"))
    return _sorted_children(element)


# --- ValidationRule --------------------------------------------------------------------


def validation_rule_spec(element: ET.Element) -> Converted:
    spec: dict[str, Any] = {
        "active": _flag(element, "active", True),
        "condition": text(element, "errorConditionFormula") or "",
        "errorMessage": text(element, "errorMessage") or "",
    }
    if text(element, "errorDisplayField"):
        spec["errorField"] = text(element, "errorDisplayField")
    if text(element, "description"):
        spec["description"] = text(element, "description")
    return Converted(spec)


def validation_rule_xml(
    name: str, spec: dict[str, Any], tag: str = "validationRules"
) -> ET.Element:
    element = ET.Element(tag)
    _add(element, "fullName", name)
    _add(element, "active", spec.get("active", True))
    if spec.get("description"):
        _add(element, "description", spec["description"])
    _add(element, "errorConditionFormula", spec["condition"])
    if spec.get("errorField"):
        _add(element, "errorDisplayField", spec["errorField"])
    _add(element, "errorMessage", spec["errorMessage"])
    return element


# --- PermissionSet ---------------------

_PERMISSION_SET_KNOWN = frozenset(
    {"label", "description", "objectPermissions", "fieldPermissions", "userPermissions"}
)
_PERMISSION_SET_NOISE = frozenset({"fullName", "hasActivationRequired", "license", "custom"})


def permission_set_spec(element: ET.Element, label: str = "") -> Converted:
    """A PermissionSet's spec (a Profile is never converted: crmctl does not manage profiles)."""
    notes: list[str] = []
    spec: dict[str, Any] = {"label": text(element, "label") or label}
    if text(element, "description"):
        spec["description"] = text(element, "description")
    objects: dict[str, list[str]] = {}
    for item in children(element, "objectPermissions"):
        granted = [p for p, tag in OBJECT_PERMISSION_TAGS.items() if _flag(item, tag)]
        if _flag(item, "viewAllFields"):
            notes.append(f"viewAllFields on {text(item, 'object')} is not kept")
        if granted:
            objects[text(item, "object") or ""] = granted
    fields: dict[str, list[str]] = {}
    for item in children(element, "fieldPermissions"):
        readable, editable = _flag(item, "readable"), _flag(item, "editable")
        if readable or editable:
            fields[text(item, "field") or ""] = ["read", "edit"] if editable else ["read"]
    system = []
    for item in children(element, "userPermissions"):
        if _flag(item, "enabled"):
            system.append(text(item, "name") or "")
    if objects:
        spec["objects"] = objects
    if fields:
        spec["fields"] = fields
    if system:
        spec["system"] = sorted(system)
    leftover = _unknown(element, _PERMISSION_SET_KNOWN | _PERMISSION_SET_NOISE)
    if leftover:
        notes.append(f"not kept: {', '.join(leftover)}")
    return Converted(spec, notes)


def permission_set_xml(spec: dict[str, Any]) -> ET.Element:
    element = ET.Element("PermissionSet")
    if spec.get("description"):
        _add(element, "description", spec["description"])
    for qualified, perms in sorted(spec.get("fields", {}).items()):
        item = _add(element, "fieldPermissions")
        _add(item, "editable", "edit" in perms)
        _add(item, "field", qualified)
        _add(item, "readable", "read" in perms or "edit" in perms)
    _add(element, "hasActivationRequired", False)
    _add(element, "label", spec["label"])
    for obj, perms in sorted(spec.get("objects", {}).items()):
        item = _add(element, "objectPermissions")
        for permission, tag in sorted(OBJECT_PERMISSION_TAGS.items(), key=lambda kv: kv[1]):
            if tag.startswith("allow"):
                _add(item, tag, permission in perms)
        _add(item, "modifyAllRecords", "modifyAll" in perms)
        _add(item, "object", obj)
        _add(item, "viewAllRecords", "viewAll" in perms)
    for name in sorted(spec.get("system", [])):
        item = _add(element, "userPermissions")
        _add(item, "enabled", True)
        _add(item, "name", name)
    return element


# --- Role ------------------------------------------------------------------------------

#: Role elements crmctl does not model; a role crmctl creates gets the org's defaults for them.
_ROLE_UNMODELLED = ("caseAccessLevel", "contactAccessLevel", "opportunityAccessLevel")


def role_spec(element: ET.Element, name: str = "") -> Converted:
    spec: dict[str, Any] = {"label": text(element, "name") or name}
    if text(element, "parentRole"):
        spec["parent"] = text(element, "parentRole")
    if text(element, "description"):
        spec["description"] = text(element, "description")
    notes = [
        f"{tag} {text(element, tag)} is not kept (a new role gets the org's default)"
        for tag in _ROLE_UNMODELLED
        if text(element, tag)
    ]
    if _flag(element, "mayForecastManagerShare"):
        notes.append("mayForecastManagerShare is not kept")
    return Converted(spec, notes)


def role_xml(spec: dict[str, Any]) -> ET.Element:
    """A new role: access levels are left to the org's defaults (Setup > Sharing Settings)."""
    element = ET.Element("Role")
    if spec.get("description"):
        _add(element, "description", spec["description"])
    _add(element, "name", spec["label"])
    if spec.get("parent"):
        _add(element, "parentRole", spec["parent"])
    return element


# --- DuplicateRule and its MatchingRule -------------------------------------------------

#: A fuzzy matching method for fields that have a natural one.
_FUZZY_METHODS = (
    ("FirstName", "FirstName"),
    ("LastName", "LastName"),
    ("Title", "Title"),
    ("Phone", "Phone"),
    ("City", "City"),
    ("Street", "Street"),
    ("PostalCode", "Zip"),
    ("Zip", "Zip"),
)


def _fuzzy_method(field_name: str) -> str:
    for suffix, method in _FUZZY_METHODS:
        if field_name.endswith(suffix):
            return method
    return "CompanyName"


def matching_rules(element: ET.Element) -> dict[str, ET.Element]:
    """The `<matchingRules>` of a MatchingRules document, by their names."""
    return {text(rule, "fullName") or "": rule for rule in children(element, "matchingRules")}


def matching_rule_items(rule: ET.Element) -> Converted:
    """A MatchingRule's items as crmctl `match` entries (None when it cannot be expressed)."""
    if text(rule, "booleanFilter"):
        return Converted(
            None, [f"its filter logic ({text(rule, 'booleanFilter')}) cannot be expressed"]
        )
    match = [
        {
            "field": text(item, "fieldName") or "",
            "method": "exact" if text(item, "matchingMethod") == "Exact" else "fuzzy",
        }
        for item in children(rule, "matchingRuleItems")
    ]
    return Converted({"match": match} if match else None, [] if match else ["it has no items"])


def duplicate_rule_spec(
    obj: str, element: ET.Element, rules: Mapping[str, ET.Element]
) -> Converted:
    """A DuplicateRule, its `match` taken from its matching rule on the same object."""
    notes: list[str] = []
    own = [
        r
        for r in children(element, "duplicateRuleMatchRules")
        if (text(r, "matchRuleSObjectType") or obj) == obj
    ]
    if not own:
        others = sorted(
            {
                text(r, "matchRuleSObjectType") or ""
                for r in children(element, "duplicateRuleMatchRules")
            }
        )
        return Converted(
            None,
            [
                f"it matches {obj} records against {', '.join(others)} records only, which crmctl cannot express"
            ],
        )
    rule_name = text(own[0], "matchingRule") or ""
    other_rules = len(children(element, "duplicateRuleMatchRules")) - 1
    if other_rules:
        notes.append(f"{other_rules} more matching rule(s) (other objects) are not kept")
    rule = rules.get(rule_name)
    if rule is None:
        return Converted(
            None,
            [
                f"its matching rule {rule_name} is not available (standard matching rules "
                "combine fields with OR, which crmctl cannot express)"
            ],
        )
    items = matching_rule_items(rule)
    if items.spec is None:
        return Converted(None, [f"matching rule {rule_name}: {n}" for n in items.notes])
    filters = child(element, "duplicateRuleFilter")
    if filters is not None and len(filters):
        notes.append("the duplicate rule filter is not kept")
    spec: dict[str, Any] = {
        "active": _flag(element, "isActive", True),
        "match": items.spec["match"],
        "action": {
            "onCreate": "block" if text(element, "actionOnInsert") == "Block" else "alert",
            "onEdit": "block" if text(element, "actionOnUpdate") == "Block" else "alert",
        },
    }
    if text(element, "description"):
        spec["description"] = text(element, "description")
    return Converted(spec, notes)


def duplicate_rule_xml(
    rule: str, obj: str, spec: dict[str, Any], sort_order: int = 1
) -> ET.Element:
    """A DuplicateRule whose matching rule is the MatchingRule named `rule` on `obj`."""
    element = ET.Element("DuplicateRule")
    element.set("xmlns:xsi", XSI)
    action = spec.get("action", {})
    on_create = "Block" if action.get("onCreate", "block") == "block" else "Allow"
    on_edit = "Block" if action.get("onEdit", "alert") == "block" else "Allow"
    _add(element, "actionOnInsert", on_create)
    _add(element, "actionOnUpdate", on_edit)
    if "Allow" in (on_create, on_edit):
        _add(element, "alertText", "Use one of these records?")
    if spec.get("description"):
        _add(element, "description", spec["description"])
    _add(element, "duplicateRuleFilter").set("xsi:nil", "true")
    match_rule = _add(element, "duplicateRuleMatchRules")
    _add(match_rule, "matchRuleSObjectType", obj)
    _add(match_rule, "matchingRule", rule)
    _add(match_rule, "objectMapping").set("xsi:nil", "true")
    _add(element, "isActive", spec.get("active", True))
    _add(element, "masterLabel", rule.replace("_", " ")[:80])
    if on_create == "Allow":
        _add(element, "operationsOnInsert", "Alert")
    if on_edit == "Allow":
        _add(element, "operationsOnUpdate", "Alert")
    _add(element, "securityOption", "EnforceSharingRules")
    _add(element, "sortOrder", sort_order)
    return element


def matching_rule_xml(rule: str, spec: dict[str, Any]) -> ET.Element:
    """One `<matchingRules>` entry (Active) with the spec's `match` as its items."""
    element = ET.Element("matchingRules")
    _add(element, "fullName", rule)
    _add(element, "label", rule.replace("_", " ")[:80])
    for item in spec.get("match", []):
        entry = _add(element, "matchingRuleItems")
        _add(entry, "blankValueBehavior", "NullNotAllowed")
        _add(entry, "fieldName", item["field"])
        method = item.get("method", "exact")
        _add(
            entry, "matchingMethod", "Exact" if method == "exact" else _fuzzy_method(item["field"])
        )
    _add(element, "ruleStatus", "Active" if spec.get("active", True) else "Inactive")
    return element


# --- package.xml -----------------------------------------------------------------------


def package_xml(types: Mapping[str, Iterable[str]], version: str | None) -> bytes:
    """A package.xml (or destructiveChanges*.xml when version is None) listing `types`."""
    root = ET.Element("Package")
    for type_name in sorted(types):
        members = sorted(set(types[type_name]))
        if not members:
            continue
        entry = _add(root, "types")
        for member in members:
            _add(entry, "members", member)
        _add(entry, "name", type_name)
    if version:
        _add(root, "version", version)
    return to_bytes(root)


def package_members(root: ET.Element) -> dict[str, list[str]]:
    """{type: [members]} of a package.xml or destructiveChanges*.xml."""
    out: dict[str, list[str]] = {}
    for entry in children(root, "types"):
        out.setdefault(text(entry, "name") or "", []).extend(
            m.text or "" for m in children(entry, "members")
        )
    return out
