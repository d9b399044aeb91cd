"""RetrieveMetadataChanges: many tables with their typed columns in one request, and deltas.

    GET RetrieveMetadataChanges(Query=@p1[,ClientVersionStamp=@p2,DeletedMetadataFilters=@p3])

`Query` is an EntityQueryExpression in JSON (Properties, Criteria, AttributeQuery);
columns come with their derived type's properties and their options. The answer's
`ServerVersionStamp`, sent back as `ClientVersionStamp`, limits the next answer to tables
changed since, and with `DeletedMetadataFilters` it lists deleted tables.
"""

from __future__ import annotations

import json
from typing import Any

from crmctl.sandbox.dataverse import api, model, state
from crmctl.sandbox.dataverse.api import NS, Context, Response
from crmctl.sandbox.dataverse.metadata import _ctx_url, _show_option_field
from crmctl.sandbox.dataverse.odata import Segment, bad, parse_key

_CONDITIONS = {
    "Equals": lambda a, b: a == b,
    "NotEquals": lambda a, b: a != b,
    "In": lambda a, b: a in (b or []),
    "NotIn": lambda a, b: a not in (b or []),
    "GreaterThan": lambda a, b: a is not None and a > b,
    "LessThan": lambda a, b: a is not None and a < b,
}


def _matches_criteria(item: dict[str, Any], criteria: Any) -> bool:
    if not isinstance(criteria, dict):
        return True
    results = []
    for cond in criteria.get("Conditions") or []:
        test = _CONDITIONS.get(cond.get("ConditionOperator", "Equals"))
        if test is None:
            raise bad(f"ConditionOperator {cond.get('ConditionOperator')!r} is not supported.")
        value = cond.get("Value")
        value = value.get("Value") if isinstance(value, dict) else value
        actual = item.get(cond.get("PropertyName"))
        if isinstance(actual, dict) and "Value" in actual:
            actual = actual["Value"]
        if isinstance(actual, str) and isinstance(value, str):
            actual, value = actual.lower(), value.lower()
        results.append(bool(test(actual, value)))
    if not results:
        return True
    return any(results) if criteria.get("FilterOperator") == "Or" else all(results)


def _projected(item: dict[str, Any], properties: Any) -> dict[str, Any]:
    if not isinstance(properties, dict) or properties.get("AllProperties"):
        return item
    names = set(properties.get("PropertyNames") or []) | {"MetadataId", "@odata.type"}
    return {k: v for k, v in item.items() if k in names}


def _attributes(ctx: Context, entity: state.Entity, query: dict[str, Any]) -> list[dict[str, Any]]:
    """A table's columns as their derived types, filtered and projected by an AttributeQuery.

    Without Criteria, only the asked properties are built (a large table's columns are
    built once, and not one property more than the client reads)."""
    properties, criteria = query.get("Properties"), query.get("Criteria")
    names: frozenset[str] | None = None
    if not criteria and isinstance(properties, dict) and not properties.get("AllProperties"):
        names = frozenset(properties.get("PropertyNames") or []) | {"MetadataId"}
    out = []
    for doc in entity.attributes:
        attr = model.show_attribute(doc, True, names)
        if names is None or "OptionSet" in names:
            option_set = _show_option_field(ctx, doc)
            if option_set is not None:
                attr["OptionSet"] = option_set
        if names is None:
            if not _matches_criteria(attr, criteria):
                continue
            attr = _projected(attr, properties)
        out.append(attr)
    return out


def _stamp(text: Any) -> int:
    head = str(text or "").partition("!")[0]
    if not head.isdigit():
        raise bad(
            f"ClientVersionStamp {text!r} is not a stamp this environment gave.", "0x80044352"
        )
    return int(head)


def _retrieve_metadata_changes(ctx: Context, method: str, segments: list[Segment], body: Any) -> Response:  # fmt: skip
    params = parse_key(segments[0].key or "", None) if segments[0].key else {}
    raw = {k: ctx.aliases().get(str(v), v) if isinstance(v, str) and v.startswith("@") else v
           for k, v in (params.items() if isinstance(params, dict) else [])}  # fmt: skip
    query = raw.get("Query")
    try:
        query = json.loads(query) if isinstance(query, str) else query
    except ValueError:
        raise bad("Query must be an EntityQueryExpression in JSON.") from None
    if not isinstance(query, dict):
        raise bad("RetrieveMetadataChanges takes Query: an EntityQueryExpression.")
    since = (
        _stamp(str(raw["ClientVersionStamp"]).strip("'")) if raw.get("ClientVersionStamp") else None
    )  # noqa: E501
    entity_props = query.get("Properties") or {}
    wants_attributes = entity_props.get("AllProperties") or "Attributes" in (
        entity_props.get("PropertyNames") or []
    )  # noqa: E501
    attribute_query = query.get("AttributeQuery") or {}
    out = []
    for entity in state.read_entities(ctx.conn):
        if since is not None and entity.doc.get("_version", 0) <= since:
            continue
        shown = model.show_entity(entity.doc)
        if not _matches_criteria(shown, query.get("Criteria")):
            continue
        item = _projected(shown, entity_props)
        if wants_attributes:
            item["Attributes"] = _attributes(ctx, entity, attribute_query)
        item["HasChanged"] = None
        out.append(item)
    version = int(state.get_meta(ctx.conn, "metadata_version", 0))
    result: dict[str, Any] = {
        "@odata.context": _ctx_url(ctx, f"{NS}RetrieveMetadataChangesResponse"),
        "EntityMetadata": out,
        "ServerVersionStamp": f"{version}!{ctx.now.strftime('%m/%d/%Y %H:%M:%S')}",
    }
    if since is not None and raw.get("DeletedMetadataFilters"):
        deleted = [i for i, v in state.get_meta(ctx.conn, "deleted_entities", []) if v > since]
        result["DeletedMetadata"] = {"Keys": ["Entity"], "Values": [deleted]}
    return 200, result, {}


api.OPERATIONS["RetrieveMetadataChanges"] = _retrieve_metadata_changes
