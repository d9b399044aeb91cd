"""Dataverse table and column metadata <-> crmctl CustomObject and CustomField specs.

Only what the Web API stores is read. A field's `classification` has no Dataverse
counterpart but is a governance label: crmctl keeps it in git only (`UNSTORED`),
never sends it and never compares it. The other settings with no counterpart
(`unique`, `externalId`, `helpText`) are refused by `validate` in the Dataverse
dialect (schemas/kinds/CustomField.json), so they never reach a plan. Option values: a crmctl `value`
is the option's label; its integer value is `optionValue`, read back always, sent when the
manifest gives it (else Dataverse assigns one, and the plan takes it as said: `adopt_unsaid`).
"""

from __future__ import annotations

import re
from typing import Any

from crmctl.dialect import publisher_prefix

__all__ = [
    "LANGUAGE",
    "label",
    "label_text",
    "table_spec",
    "column_spec",
    "metadata_type",
    "create_table_body",
    "create_column_body",
    "update_column_body",
    "update_table_body",
    "DERIVED",
    "type_change_refusal",
    "UNSTORED",
]

LANGUAGE = 1033
#: kind -> spec keys Dataverse does not store: labels crmctl keeps in git (governance reads
#: them), carried from the manifests into the live spec before comparing.
UNSTORED: dict[str, frozenset[str]] = {"CustomField": frozenset({"classification"})}
_NS = "Microsoft.Dynamics.CRM."
#: AttributeType -> the derived metadata type whose details crmctl needs (cast queries).
DERIVED = {
    "String": "StringAttributeMetadata",
    "Memo": "MemoAttributeMetadata",
    "Integer": "IntegerAttributeMetadata",
    "Decimal": "DecimalAttributeMetadata",
    "Double": "DoubleAttributeMetadata",
    "Money": "MoneyAttributeMetadata",
    "DateTime": "DateTimeAttributeMetadata",
    "Boolean": "BooleanAttributeMetadata",
    "Picklist": "PicklistAttributeMetadata",
    "Virtual": "MultiSelectPicklistAttributeMetadata",
    "Lookup": "LookupAttributeMetadata",
}
#: Which derived types need their option sets expanded.
OPTION_TYPES = (
    "PicklistAttributeMetadata",
    "MultiSelectPicklistAttributeMetadata",
    "BooleanAttributeMetadata",
)
_STRING_FORMATS = {"Email": "Email", "Phone": "Phone", "Url": "Url", "TextArea": "LongTextArea"}
_FORMAT_OF = {"Email": "Email", "Phone": "Phone", "Url": "Url", "Text": "Text"}
_LEVELS = {
    "None": None,
    "Recommended": "recommended",
    "ApplicationRequired": "required",
    "SystemRequired": "required",
}


def label(text: str | None) -> dict[str, Any]:
    """A Dataverse Label in the environment's language."""
    if not text:
        return {"LocalizedLabels": []}
    return {
        "@odata.type": f"{_NS}Label",
        "LocalizedLabels": [
            {"@odata.type": f"{_NS}LocalizedLabel", "Label": text, "LanguageCode": LANGUAGE}
        ],
    }


def label_text(value: Any) -> str | None:
    """The text of a Label (the user's label, else the 1033 one, else the first)."""
    if not isinstance(value, dict):
        return None
    user = value.get("UserLocalizedLabel")
    if isinstance(user, dict) and user.get("Label"):
        return str(user["Label"])
    labels = [x for x in value.get("LocalizedLabels") or [] if isinstance(x, dict)]
    for item in labels:
        if item.get("LanguageCode") == LANGUAGE and item.get("Label"):
            return str(item["Label"])
    return next((str(x["Label"]) for x in labels if x.get("Label")), None)


def _set_label(value: Any, text: str | None) -> dict[str, Any]:
    """`value` (a Label as read) with the 1033 text replaced; other languages kept."""
    if not isinstance(value, dict):
        return label(text)
    others = [
        x
        for x in value.get("LocalizedLabels") or []
        if isinstance(x, dict) and x.get("LanguageCode") != LANGUAGE
    ]
    mine = label(text)["LocalizedLabels"]
    out = dict(value)
    out["LocalizedLabels"] = others + mine
    out["UserLocalizedLabel"] = mine[0] if mine else None
    return out


def _value(item: Any) -> Any:
    """A managed property's value ({"Value": x}) or the plain value."""
    return item.get("Value") if isinstance(item, dict) else item


# --- reading ---------------------------------------------------------------------------
def table_spec(entity: dict[str, Any], primary: dict[str, Any] | None) -> dict[str, Any]:
    """A custom table as a CustomObject spec."""
    spec: dict[str, Any] = {"label": label_text(entity.get("DisplayName")) or entity["LogicalName"]}
    plural = label_text(entity.get("DisplayCollectionName"))
    if plural:
        spec["pluralLabel"] = plural
    description = label_text(entity.get("Description"))
    if description:
        spec["description"] = description
    if primary is not None:
        spec["recordName"] = {"label": label_text(primary.get("DisplayName")) or "Name"}
        spec["primaryColumn"] = primary["LogicalName"]
    return spec


def column_spec(attribute: dict[str, Any], detail: dict[str, Any] | None) -> dict[str, Any] | None:
    """A custom column as a CustomField spec; None for a type crmctl has no field type for."""
    kind = attribute.get("AttributeType")
    detail = detail or {}
    spec: dict[str, Any] = {}
    if kind == "String":
        fmt = _value(detail.get("FormatName")) or "Text"
        if detail.get("AutoNumberFormat"):
            spec["type"] = "AutoNumber"
            spec["displayFormat"] = _display_format(str(detail["AutoNumberFormat"]))
        elif fmt in _STRING_FORMATS:
            spec["type"] = _STRING_FORMATS[fmt]
            if fmt == "TextArea":
                spec["length"] = detail.get("MaxLength")
        else:
            spec["type"] = "Text"
            spec["length"] = detail.get("MaxLength")
    elif kind == "Memo":
        spec["type"] = "LongTextArea"
        spec["length"] = detail.get("MaxLength")
    elif kind in ("Integer", "BigInt"):
        spec.update(type="Number", scale=0)
    elif kind in ("Decimal", "Double", "Money"):
        spec["type"] = "Currency" if kind == "Money" else "Number"
        spec["scale"] = detail.get("Precision", 2)
    elif kind == "DateTime":
        spec["type"] = "Date" if detail.get("Format") == "DateOnly" else "DateTime"
    elif kind == "Boolean":
        spec["type"] = "Checkbox"
        if detail.get("DefaultValue") is True:
            spec["defaultValue"] = True
    elif kind in ("Picklist", "Virtual") and detail.get("OptionSet") is not None:
        spec["type"] = "Picklist" if kind == "Picklist" else "MultiPicklist"
        option_set = detail.get("GlobalOptionSet") or detail["OptionSet"]
        default = detail.get("DefaultFormValue")
        values = []
        for option in option_set.get("Options") or []:
            text = label_text(option.get("Label")) or str(option.get("Value"))
            entry: dict[str, Any] = {"value": text}
            if default is not None and default != -1 and option.get("Value") == default:
                entry["default"] = True
            if type(option.get("Value")) is int:
                entry["optionValue"] = option["Value"]
            values.append(entry)
        spec["values"] = values
        if option_set.get("IsGlobal"):
            spec["globalOptionSet"] = option_set.get("Name")
    elif kind == "Lookup":
        targets = detail.get("Targets") or attribute.get("Targets") or []
        if len(targets) != 1:
            return None
        spec.update(type="Lookup", referenceTo=targets[0])
    else:
        return None
    spec["label"] = label_text(attribute.get("DisplayName")) or attribute["LogicalName"]
    description = label_text(attribute.get("Description"))
    if description:
        spec["description"] = description
    level = _LEVELS.get(str(_value(attribute.get("RequiredLevel")) or "None"))
    if level == "required":
        spec["required"] = True
    elif level == "recommended":
        spec["requiredLevel"] = "recommended"
    return {k: v for k, v in spec.items() if v is not None}


def _display_format(auto: str) -> str:
    """Dataverse `INV-{SEQNUM:4}` -> crmctl `INV-{0000}`."""
    return re.sub(r"\{SEQNUM:(\d+)\}", lambda m: "{" + "0" * int(m.group(1)) + "}", auto)


def _auto_format(display: str) -> str:
    """crmctl `INV-{0000}` -> Dataverse `INV-{SEQNUM:4}`."""
    return re.sub(r"\{(0+)\}", lambda m: "{SEQNUM:" + str(len(m.group(1))) + "}", display)


# --- writing ---------------------------------------------------------------------------
def metadata_type(spec: dict[str, Any]) -> str:
    """The derived metadata type a CustomField spec is stored as."""
    ftype = spec.get("type")
    if ftype in ("Text", "Email", "Phone", "Url", "AutoNumber"):
        return "StringAttributeMetadata"
    if ftype == "LongTextArea":
        return "MemoAttributeMetadata"
    if ftype == "Number":
        return "IntegerAttributeMetadata" if not spec.get("scale") else "DecimalAttributeMetadata"
    if ftype in ("Currency",):
        return "MoneyAttributeMetadata"
    if ftype in ("Date", "DateTime"):
        return "DateTimeAttributeMetadata"
    if ftype == "Checkbox":
        return "BooleanAttributeMetadata"
    if ftype == "Picklist":
        return "PicklistAttributeMetadata"
    if ftype == "MultiPicklist":
        return "MultiSelectPicklistAttributeMetadata"
    if ftype == "Lookup":
        return "LookupAttributeMetadata"
    return ""


def type_change_refusal(before: dict[str, Any], after: dict[str, Any]) -> str | None:
    """Why Dataverse cannot make this CustomField change in place, or None."""
    old, new = metadata_type(before), metadata_type(after)
    if old != new:
        return (
            f"Dataverse cannot change a column's data type after it is created ({before.get('type')} "
            f"-> {after.get('type')}: {old or 'unsupported'} -> {new or 'unsupported'}); only a "
            "text column can become an autonumber column"
        )
    if old == "LookupAttributeMetadata" and before.get("referenceTo") != after.get("referenceTo"):
        return "Dataverse cannot point a lookup column at another table after it is created"
    if before.get("type") == "AutoNumber" and after.get("type") != "AutoNumber":
        return "Dataverse cannot turn an autonumber column back into a plain text column"
    if before.get("globalOptionSet") != after.get("globalOptionSet") and old in (
        "PicklistAttributeMetadata",
        "MultiSelectPicklistAttributeMetadata",
    ):
        return "Dataverse cannot move a choice column to another (or no) global choice after it is created"
    return None


def _required(spec: dict[str, Any]) -> dict[str, Any]:
    level = "None"
    if spec.get("required"):
        level = "ApplicationRequired"
    elif spec.get("requiredLevel") == "recommended":
        level = "Recommended"
    return {
        "Value": level,
        "CanBeChanged": True,
        "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings",
    }


def _typed(spec: dict[str, Any], body: dict[str, Any]) -> None:
    """Set the derived-type properties a spec decides."""
    ftype = spec.get("type")
    if ftype in ("Text", "Email", "Phone", "Url"):
        body["MaxLength"] = spec.get("length") or 100
        body["FormatName"] = {"Value": _FORMAT_OF[ftype]}
        if ftype != "Text":
            body["MaxLength"] = spec.get("length") or 100
    elif ftype == "AutoNumber":
        body["MaxLength"] = spec.get("length") or 100
        body["FormatName"] = {"Value": "Text"}
        body["AutoNumberFormat"] = _auto_format(str(spec.get("displayFormat") or "{0000}"))
    elif ftype == "LongTextArea":
        body["MaxLength"] = spec.get("length") or 2000
        body["Format"] = "TextArea"
    elif ftype == "Number" and spec.get("scale"):
        body["Precision"] = spec["scale"]
    elif ftype == "Currency":
        body["Precision"] = spec.get("scale", 2)
        body["PrecisionSource"] = 0
    elif ftype in ("Date", "DateTime"):
        body["Format"] = "DateOnly" if ftype == "Date" else "DateAndTime"
    elif ftype == "Checkbox":
        body["DefaultValue"] = bool(spec.get("defaultValue"))
    elif ftype in ("Picklist", "MultiPicklist"):
        default = next(
            (
                i
                for i, v in enumerate(spec.get("values") or [])
                if isinstance(v, dict) and v.get("default")
            ),
            None,
        )
        body["DefaultFormValue"] = -1 if default is None else None  # set after the options exist


def create_column_body(
    name: str, spec: dict[str, Any], global_id: str | None = None
) -> dict[str, Any]:
    """The POST body that creates a column (choice options: `options_body`)."""
    column = name.partition(".")[2]
    kind = metadata_type(spec)
    body: dict[str, Any] = {
        "@odata.type": f"{_NS}{kind}",
        "SchemaName": column,
        "DisplayName": label(spec.get("label")),
        "Description": label(spec.get("description")),
        "RequiredLevel": _required(spec),
    }
    _typed(spec, body)
    if kind == "BooleanAttributeMetadata":
        body["OptionSet"] = {
            "@odata.type": f"{_NS}BooleanOptionSetMetadata",
            "TrueOption": {"Value": 1, "Label": label("Yes")},
            "FalseOption": {"Value": 0, "Label": label("No")},
            "OptionSetType": "Boolean",
        }
    if kind in ("PicklistAttributeMetadata", "MultiSelectPicklistAttributeMetadata"):
        if global_id is not None:
            body["GlobalOptionSet@odata.bind"] = f"/GlobalOptionSetDefinitions({global_id})"
        else:
            body["OptionSet"] = {
                "@odata.type": f"{_NS}OptionSetMetadata",
                "IsGlobal": False,
                "OptionSetType": "Picklist",
                "Options": options_body(spec),
            }
        body.pop("DefaultFormValue", None)
    return body


def options_body(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """A choice's options to create: the manifest's `optionValue`, else null (Dataverse
    assigns the next value with the publisher's prefix)."""
    return [
        {
            "Value": v.get("optionValue") if isinstance(v, dict) else None,
            "Label": label(_text_of(v)),
        }
        for v in spec.get("values") or []
    ]


def _text_of(value: Any) -> str:
    return str(value.get("value")) if isinstance(value, dict) else str(value)


def update_column_body(live: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """The full definition for PUT: the column as read, with what the spec decides changed."""
    body = {k: v for k, v in live.items() if not k.startswith("@odata.context")}
    body["@odata.type"] = live.get("@odata.type") or f"{_NS}{metadata_type(spec)}"
    body["DisplayName"] = _set_label(live.get("DisplayName"), spec.get("label"))
    body["Description"] = _set_label(live.get("Description"), spec.get("description"))
    required = dict(live.get("RequiredLevel") or {})
    required["Value"] = _required(spec)["Value"]
    body["RequiredLevel"] = required
    _typed(spec, body)
    if body.get("DefaultFormValue") is None:
        body.pop("DefaultFormValue", None)
    for nav in ("OptionSet", "GlobalOptionSet"):
        body.pop(nav, None)  # options change only through the option actions
    return body


def create_table_body(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """The POST body that creates a table with its primary name column."""
    primary = (
        spec.get("primaryColumn") or f"{publisher_prefix(name) or name.partition('_')[0]}_name"
    )
    record = spec.get("recordName") or {}
    return {
        "@odata.type": f"{_NS}EntityMetadata",
        "SchemaName": name,
        "DisplayName": label(spec.get("label")),
        "DisplayCollectionName": label(spec.get("pluralLabel") or f"{spec.get('label')}s"),
        "Description": label(spec.get("description")),
        "OwnershipType": "UserOwned",
        "IsActivity": False,
        "HasActivities": False,
        "HasNotes": False,
        "Attributes": [
            {
                "@odata.type": f"{_NS}StringAttributeMetadata",
                "SchemaName": primary,
                "IsPrimaryName": True,
                "RequiredLevel": {"Value": "None", "CanBeChanged": True},
                "MaxLength": 100,
                "FormatName": {"Value": "Text"},
                "DisplayName": label(record.get("label") or f"{spec.get('label')} Name"),
                "Description": label(None),
            }
        ],
    }


def update_table_body(live: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """The full table definition for PUT, with labels and description from the spec."""
    body = {
        k: v for k, v in live.items() if not k.startswith("@odata.context") and k != "Attributes"
    }
    body["DisplayName"] = _set_label(live.get("DisplayName"), spec.get("label"))
    body["DisplayCollectionName"] = _set_label(
        live.get("DisplayCollectionName"), spec.get("pluralLabel") or f"{spec.get('label')}s"
    )
    body["Description"] = _set_label(live.get("Description"), spec.get("description"))
    return body
