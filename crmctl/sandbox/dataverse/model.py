"""EntityMetadata and AttributeMetadata documents: building, checking and showing them.

Stored documents keep the derived type in `_type` (e.g. `StringAttributeMetadata`)
and labels as `{"LocalizedLabels": [...]}`; `show_*` add what Dataverse computes
on read (`UserLocalizedLabel`, `@odata.type`) and leave out what the request
did not ask for ($expand=Attributes shows only AttributeMetadata's own
properties; a cast shows the derived type's too).
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Collection
from typing import Any

from crmctl.sandbox.dataverse.odata import INVALID, bad
from crmctl.sandbox.dataverse.state import new_id

__all__ = [
    "TYPES",
    "attribute_type",
    "label",
    "label_text",
    "show_label",
    "merge_label",
    "build_attribute",
    "show_attribute",
    "show_entity",
    "entity_set_name",
    "privilege_names",
]

NS = "Microsoft.Dynamics.CRM."

#: Derived type → (AttributeType, AttributeTypeName, its own properties).
TYPES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "StringAttributeMetadata": (
        "String",
        "StringType",
        ("MaxLength", "DatabaseLength", "Format", "FormatName", "ImeMode", "IsLocalizable"),
    ),
    "MemoAttributeMetadata": ("Memo", "MemoType", ("MaxLength", "Format", "FormatName", "ImeMode")),
    "IntegerAttributeMetadata": ("Integer", "IntegerType", ("MinValue", "MaxValue", "Format")),
    "BigIntAttributeMetadata": ("BigInt", "BigIntType", ("MinValue", "MaxValue")),
    "DecimalAttributeMetadata": (
        "Decimal",
        "DecimalType",
        ("MinValue", "MaxValue", "Precision", "ImeMode"),
    ),
    "DoubleAttributeMetadata": (
        "Double",
        "DoubleType",
        ("MinValue", "MaxValue", "Precision", "ImeMode"),
    ),
    "MoneyAttributeMetadata": (
        "Money",
        "MoneyType",
        ("MinValue", "MaxValue", "Precision", "PrecisionSource", "ImeMode"),
    ),
    "DateTimeAttributeMetadata": (
        "DateTime",
        "DateTimeType",
        ("Format", "DateTimeBehavior", "CanChangeDateTimeBehavior", "ImeMode"),
    ),
    "BooleanAttributeMetadata": ("Boolean", "BooleanType", ("DefaultValue",)),
    "PicklistAttributeMetadata": ("Picklist", "PicklistType", ("DefaultFormValue",)),
    "MultiSelectPicklistAttributeMetadata": (
        "Virtual",
        "MultiSelectPicklistType",
        ("DefaultFormValue",),
    ),
    "StateAttributeMetadata": ("State", "StateType", ("DefaultFormValue",)),
    "StatusAttributeMetadata": ("Status", "StatusType", ("DefaultFormValue",)),
    "LookupAttributeMetadata": ("Lookup", "LookupType", ("Targets", "Format")),
    "UniqueIdentifierAttributeMetadata": ("Uniqueidentifier", "UniqueidentifierType", ()),
}
_OPTION_TYPES = {
    "BooleanAttributeMetadata",
    "PicklistAttributeMetadata",
    "MultiSelectPicklistAttributeMetadata",
    "StateAttributeMetadata",
    "StatusAttributeMetadata",
}
#: AttributeMetadata's own properties (what $expand=Attributes returns).
BASE = (
    "MetadataId",
    "LogicalName",
    "SchemaName",
    "EntityLogicalName",
    "AttributeType",
    "AttributeTypeName",
    "DisplayName",
    "Description",
    "RequiredLevel",
    "IsCustomAttribute",
    "IsPrimaryId",
    "IsPrimaryName",
    "IsSecured",
    "IsValidForCreate",
    "IsValidForRead",
    "IsValidForUpdate",
    "IsAuditEnabled",
    "CanBeSecuredForCreate",
    "CanBeSecuredForRead",
    "CanBeSecuredForUpdate",
    "IsManaged",
    "IsLogical",
    "AttributeOf",
    "AutoNumberFormat",
    "SourceType",
)
#: Labels every attribute shows (with UserLocalizedLabel), stored or not.
_SHOWN_LABELS = ("DisplayName", "Description")
_REQUIRED_LEVELS = ("None", "SystemRequired", "ApplicationRequired", "Recommended")
_SCHEMA = re.compile(r"^[A-Za-z][A-Za-z0-9]{1,7}_[A-Za-z0-9_]{1,}$")
_STRING_FORMATS = ("Text", "TextArea", "Email", "Url", "Phone", "TickerSymbol", "Json", "RichText")
_LIMITS = {
    "IntegerAttributeMetadata": (-2147483648, 2147483647),
    "BigIntAttributeMetadata": (-9223372036854775808, 9223372036854775807),
    "DecimalAttributeMetadata": (-100000000000, 100000000000),
    "DoubleAttributeMetadata": (-100000000000, 100000000000),
    "MoneyAttributeMetadata": (-922337203685477, 922337203685477),
}
_PRECISION = {
    "DecimalAttributeMetadata": 10,
    "DoubleAttributeMetadata": 5,
    "MoneyAttributeMetadata": 4,
}


def attribute_type(odata_type: Any) -> str:
    """`#Microsoft.Dynamics.CRM.ComplexStringAttributeMetadata` → `StringAttributeMetadata`."""
    if not isinstance(odata_type, str) or not odata_type:
        raise bad("The attribute must carry its @odata.type (a derived AttributeMetadata type).")
    name = odata_type.lstrip("#").removeprefix(NS).removeprefix("Complex")
    if name not in TYPES:
        raise bad(f"The type '{odata_type}' is not a supported attribute metadata type.")
    return name


def label(text: str, language: int = 1033) -> dict[str, Any]:
    return {"LocalizedLabels": [{"Label": text, "LanguageCode": language}]}


def clean_label(value: Any, what: str, required: bool = True) -> dict[str, Any]:
    """A Label from a request: LocalizedLabels kept, read-only parts dropped."""
    if value is None and not required:
        return {"LocalizedLabels": []}
    labels = value.get("LocalizedLabels") if isinstance(value, dict) else None
    if not isinstance(labels, list) or (required and not labels):
        raise bad(f"{what} must be a Label with at least one LocalizedLabel.")
    out = []
    for item in labels:
        if not isinstance(item, dict) or not isinstance(item.get("Label"), str):
            raise bad(f"{what}: every LocalizedLabel needs a Label and a LanguageCode.")
        code = item.get("LanguageCode")
        if not isinstance(code, int):
            raise bad(f"{what}: LanguageCode must be a whole number (e.g. 1033).")
        out.append({"Label": item["Label"], "LanguageCode": code})
    return {"LocalizedLabels": out}


def merge_label(old: dict[str, Any] | None, new: dict[str, Any], merge: bool) -> dict[str, Any]:
    """MSCRM.MergeLabels: true keeps languages the update leaves out; false drops them."""
    if not merge or not old:
        return new
    codes = {item["LanguageCode"] for item in new["LocalizedLabels"]}
    kept = [i for i in old.get("LocalizedLabels", []) if i["LanguageCode"] not in codes]
    return {"LocalizedLabels": kept + new["LocalizedLabels"]}


def label_text(value: dict[str, Any] | None, language: int = 1033) -> str | None:
    for item in (value or {}).get("LocalizedLabels", []):
        if item["LanguageCode"] == language:
            return str(item["Label"])
    return None


def show_label(value: dict[str, Any] | None) -> dict[str, Any]:
    """A stored label as read: every language, and the user's (1033, else the first)."""
    labels = []
    user = None
    for item in (value or {}).get("LocalizedLabels", ()):
        shown = {
            "Label": item["Label"],
            "LanguageCode": item["LanguageCode"],
            "IsManaged": False,
            "MetadataId": None,
            "HasChanged": None,
        }
        labels.append(shown)
        if user is None and item["LanguageCode"] == 1033:
            user = shown
    if user is None and labels:
        user = labels[0]
    return {"LocalizedLabels": labels, "UserLocalizedLabel": user}


def _managed(value: Any) -> dict[str, Any]:
    return {"Value": value, "CanBeChanged": True, "ManagedPropertyLogicalName": ""}


def check_schema_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not _SCHEMA.match(name):
        raise bad(
            f"{what} SchemaName {name!r} is not valid: it must start with a customization "
            "prefix (2 to 8 letters or digits, then an underscore), e.g. new_Name."
        )
    return name


def required_level(value: Any) -> dict[str, Any]:
    level = value.get("Value") if isinstance(value, dict) else None
    if level is None:
        level = "None"
    if level not in _REQUIRED_LEVELS:
        raise bad(f"RequiredLevel {level!r} is not one of {', '.join(_REQUIRED_LEVELS)}.")
    return _managed(level)


def _number(body: dict[str, Any], name: str, default: Any, low: Any, high: Any) -> Any:
    value = body.get(name, default)
    if value is None:
        value = default
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise bad(f"{name} must be a number from {low} to {high} (got {value!r}).")
    return value


def _options(option_set: Any, what: str, next_value: int) -> list[dict[str, Any]]:
    raw = option_set.get("Options", []) if isinstance(option_set, dict) else []
    if not isinstance(raw, list):
        raise bad(f"{what}: OptionSet.Options must be a list.")
    out: list[dict[str, Any]] = []
    seen: set[int] = set()
    # Values given by the client are theirs: the system assigns the others around them.
    given = {i.get("Value") for i in raw if isinstance(i, dict) and type(i.get("Value")) is int}
    for item in raw:
        if not isinstance(item, dict):
            raise bad(f"{what}: every option is an object with Value and Label.")
        value = item.get("Value")
        if value is None:
            value = next_value + len(out)
            while value in seen or value in given:
                value += 1
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad(f"{what}: option Value must be a whole number (got {value!r}).")
        if value in seen:
            raise bad(f"{what}: the option value {value} is used twice.", "0x80047013")
        seen.add(value)
        out.append(
            {
                "Value": value,
                "Label": clean_label(item.get("Label"), f"{what} option {value}"),
                "Description": clean_label(item.get("Description"), "Description", False),
                "Color": item.get("Color"),
                "ExternalValue": item.get("ExternalValue"),
            }
        )
    return out


def build_attribute(
    body: dict[str, Any], entity: str, *, option_prefix: int, custom: bool = True
) -> dict[str, Any]:
    """A new column's stored document from a POST body (400 on what Dataverse refuses)."""
    kind = attribute_type(body.get("@odata.type"))
    name = body.get("SchemaName")
    if custom:
        check_schema_name(name, "The attribute")
    elif not isinstance(name, str) or not name:
        raise bad("The attribute needs a SchemaName.")
    assert isinstance(name, str)
    logical = body.get("LogicalName") or name.lower()
    if logical != name.lower():
        raise bad(f"LogicalName {logical!r} must be the SchemaName in lower case.")
    if kind in ("LookupAttributeMetadata", "UniqueIdentifierAttributeMetadata") and custom:
        raise bad(
            f"A {kind} cannot be created through Attributes: a lookup is created with its "
            "one-to-many relationship (RelationshipDefinitions)."
        )
    attribute_type_name, type_name, _ = TYPES[kind]
    doc: dict[str, Any] = {
        "_type": kind,
        "MetadataId": new_id(),
        "LogicalName": logical,
        "SchemaName": name,
        "EntityLogicalName": entity,
        "AttributeType": attribute_type_name,
        "AttributeTypeName": {"Value": type_name},
        "DisplayName": clean_label(body.get("DisplayName"), f"The attribute {name} DisplayName"),
        "Description": clean_label(body.get("Description"), "Description", False),
        "RequiredLevel": required_level(body.get("RequiredLevel")),
        "IsCustomAttribute": custom,
        "IsPrimaryId": False,
        "IsPrimaryName": bool(body.get("IsPrimaryName", False)),
        "IsSecured": bool(body.get("IsSecured", False)),
        "IsValidForCreate": True,
        "IsValidForRead": True,
        "IsValidForUpdate": True,
        "IsAuditEnabled": _managed(bool((body.get("IsAuditEnabled") or {}).get("Value", True))),
        "CanBeSecuredForCreate": custom,
        "CanBeSecuredForRead": custom,
        "CanBeSecuredForUpdate": custom,
        "IsManaged": False,
        "IsLogical": False,
        "AttributeOf": None,
        "AutoNumberFormat": body.get("AutoNumberFormat") or "",
        "SourceType": body.get("SourceType", 0),
    }
    set_derived(doc, body, option_prefix=option_prefix)
    return doc


def set_derived(doc: dict[str, Any], body: dict[str, Any], *, option_prefix: int) -> None:
    """The derived type's own properties from a POST or PUT body.

    On a PUT (the document has its option set already) a choice column keeps its options and
    the choice it uses: only its DefaultFormValue changes. Options change through the option
    actions (InsertOptionValue, UpdateOptionValue, DeleteOptionValue, OrderOption).
    """
    kind = doc["_type"]
    name = doc["SchemaName"]
    if kind == "StringAttributeMetadata":
        doc["MaxLength"] = _number(body, "MaxLength", 100, 1, 4000)
        doc["DatabaseLength"] = doc["MaxLength"] * 2
        fmt = (body.get("FormatName") or {}).get("Value") or body.get("Format") or "Text"
        if fmt not in _STRING_FORMATS:
            raise bad(f"FormatName {fmt!r} is not one of {', '.join(_STRING_FORMATS)}.")
        doc["FormatName"] = {"Value": fmt}
        doc["Format"] = fmt
        doc["ImeMode"] = body.get("ImeMode", "Auto")
        doc["IsLocalizable"] = False
    elif kind == "MemoAttributeMetadata":
        doc["MaxLength"] = _number(body, "MaxLength", 2000, 1, 1048576)
        fmt = (body.get("FormatName") or {}).get("Value") or body.get("Format") or "TextArea"
        doc["FormatName"] = {"Value": fmt}
        doc["Format"] = fmt
        doc["ImeMode"] = body.get("ImeMode", "Auto")
    elif kind in _LIMITS:
        low, high = _LIMITS[kind]
        doc["MinValue"] = _number(body, "MinValue", low, low, high)
        doc["MaxValue"] = _number(body, "MaxValue", high, low, high)
        if doc["MinValue"] > doc["MaxValue"]:
            raise bad(f"{name}: MinValue {doc['MinValue']} is above MaxValue {doc['MaxValue']}.")
        if kind == "IntegerAttributeMetadata":
            doc["Format"] = body.get("Format") or "None"
        if kind in _PRECISION:
            doc["Precision"] = _number(body, "Precision", 2, 0, _PRECISION[kind])
            doc["ImeMode"] = body.get("ImeMode", "Auto")
        if kind == "MoneyAttributeMetadata":
            doc["PrecisionSource"] = _number(body, "PrecisionSource", 2, 0, 2)
    elif kind == "DateTimeAttributeMetadata":
        fmt = body.get("Format") or "DateOnly"
        if fmt not in ("DateOnly", "DateAndTime"):
            raise bad(f"{name}: Format must be DateOnly or DateAndTime (got {fmt!r}).")
        doc["Format"] = fmt
        behavior = (body.get("DateTimeBehavior") or {}).get("Value") or "UserLocal"
        if behavior not in ("UserLocal", "DateOnly", "TimeZoneIndependent"):
            raise bad(f"{name}: DateTimeBehavior {behavior!r} is not valid.")
        doc["DateTimeBehavior"] = {"Value": behavior}
        doc["CanChangeDateTimeBehavior"] = _managed(True)
        doc["ImeMode"] = body.get("ImeMode", "Inactive")
    elif kind == "BooleanAttributeMetadata":
        option_set = body.get("OptionSet") or {}
        true_option = option_set.get("TrueOption") or {"Value": 1, "Label": label("Yes")}
        false_option = option_set.get("FalseOption") or {"Value": 0, "Label": label("No")}
        doc["OptionSet"] = {
            "_type": "BooleanOptionSetMetadata",
            "MetadataId": new_id(),
            "IsGlobal": False,
            "OptionSetType": "Boolean",
            "Name": f"{doc['EntityLogicalName']}_{doc['LogicalName']}",
            "TrueOption": {
                "Value": 1,
                "Label": clean_label(true_option.get("Label"), "TrueOption"),
            },
            "FalseOption": {
                "Value": 0,
                "Label": clean_label(false_option.get("Label"), "FalseOption"),
            },
        }
        doc["DefaultValue"] = bool(body.get("DefaultValue", False))
    elif kind in _OPTION_TYPES:
        default = body.get("DefaultFormValue", -1)
        if default is not None and (isinstance(default, bool) or not isinstance(default, int)):
            raise bad(f"{name}: DefaultFormValue must be a whole number or null (got {default!r}).")
        doc["DefaultFormValue"] = default
        if "OptionSet" in doc or "_global" in doc:
            # An update: the choice a column uses and its options are not changed by a
            # column PUT (options change only through InsertOptionValue, UpdateOptionValue,
            # DeleteOptionValue and OrderOption), so an OptionSet in the body is ignored.
            return
        bind = body.get("GlobalOptionSet@odata.bind")
        if bind:
            doc["_global"] = str(bind)
        else:
            option_set = body.get("OptionSet") or {}
            if option_set.get("IsGlobal"):
                raise bad(f"{name}: bind a global choice with GlobalOptionSet@odata.bind.")
            doc["OptionSet"] = {
                "_type": "OptionSetMetadata",
                "MetadataId": new_id(),
                "IsGlobal": False,
                "OptionSetType": "Picklist",
                "Name": f"{doc['EntityLogicalName']}_{doc['LogicalName']}",
                "Options": _options(option_set, name, option_prefix * 10000),
            }
    elif kind == "LookupAttributeMetadata":
        doc["Targets"] = list(body.get("Targets") or [])
        doc["Format"] = body.get("Format") or "None"


def show_option_set(option_set: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in option_set.items() if not k.startswith("_")}
    out["@odata.type"] = f"#{NS}{option_set.get('_type', 'OptionSetMetadata')}"
    for name in ("DisplayName", "Description"):
        out[name] = show_label(option_set.get(name))
    if "Options" in option_set:
        out["Options"] = [
            {**o, "Label": show_label(o["Label"]), "Description": show_label(o.get("Description"))}
            for o in option_set["Options"]
        ]
    for name in ("TrueOption", "FalseOption"):
        if name in option_set:
            out[name] = {**option_set[name], "Label": show_label(option_set[name]["Label"])}
    out.setdefault("IsCustomOptionSet", True)
    out.setdefault("IsManaged", False)
    return out


def show_attribute(
    attr: dict[str, Any], derived: bool, names: frozenset[str] | None = None
) -> dict[str, Any]:
    """An attribute as read: base properties only, or with its derived type's (a cast).

    `names`: only these properties (a `$select`; `@odata.type` always), built
    without making the others."""
    kind = attr["_type"]
    out: dict[str, Any] = {"@odata.type": f"#{NS}{kind}"}
    for name in _shown_properties(kind, derived, names):
        if name in _SHOWN_LABELS:
            out[name] = show_label(attr.get(name))
        elif name in attr:
            out[name] = attr[name]
    return out


@functools.lru_cache(maxsize=256)
def _shown_properties(kind: str, derived: bool, names: frozenset[str] | None) -> tuple[str, ...]:
    """The properties an attribute of `kind` shows (worked out once per type and $select)."""
    props = BASE + (TYPES[kind][2] if derived else ())
    return props if names is None else tuple(n for n in props if n in names)


def show_entity(doc: dict[str, Any], names: Collection[str] | None = None) -> dict[str, Any]:
    """A table as read, without its Attributes; `names`: only these properties."""
    out = {
        k: copy.deepcopy(v)
        for k, v in doc.items()
        if not k.startswith("_")
        and k != "Attributes"
        and (names is None or k in names or k.startswith("@odata."))
    }
    for name in ("DisplayName", "DisplayCollectionName", "Description"):
        if names is None or name in names:
            out[name] = show_label(doc.get(name))
    return out


def entity_set_name(logical: str) -> str:
    """Dataverse's collection name: English plural of the logical name."""
    if re.search(r"[^aeiou]y$", logical):
        return logical[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", logical):
        return logical + "es"
    return logical + "s"


VERBS = ("Create", "Read", "Write", "Delete", "Append", "AppendTo", "Assign", "Share")


def privilege_names(schema_name: str, ownership: str) -> list[tuple[str, str]]:
    """(privilege name, PrivilegeType) of a table: eight when user-owned, six otherwise."""
    verbs = VERBS if ownership == "UserOwned" else VERBS[:6]
    return [(f"prv{verb}{schema_name}", verb) for verb in verbs]


def check_label_present(body: dict[str, Any], name: str, what: str) -> None:
    if name not in body:
        raise bad(f"{what}: {name} is required.", INVALID)
