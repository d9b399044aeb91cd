"""Global choices (GlobalOptionSetDefinitions), option actions, and publishing.

    GET/POST GlobalOptionSetDefinitions; GET/PUT/DELETE GlobalOptionSetDefinitions({id} | Name='x')
    GET    GlobalOptionSetDefinitions(…)/Microsoft.Dynamics.CRM.OptionSetMetadata   (with Options)
    POST   InsertOptionValue, UpdateOptionValue, DeleteOptionValue, OrderOption
    POST   PublishXml, PublishAllXml

Options change only through the actions (a PUT of a choice changes its labels only);
`$filter` is refused on GlobalOptionSetDefinitions, as the documentation says. See
crmctl.sandbox.dataverse.metadata for publishing and solutions.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from crmctl.sandbox.dataverse import api, model, state
from crmctl.sandbox.dataverse.api import NS, Context, Response
from crmctl.sandbox.dataverse.metadata import (
    OPTIONSET,
    _ctx_url,
    _find_attribute,
    _names,
    _option_prefix,
    _refuse_if_referenced,
    _same_name,
    _save_attribute,
    _select,
    component,
    find_entity,
    find_optionset,
    on_table_changed,
)
from crmctl.sandbox.dataverse.odata import DUPLICATE, NOT_FOUND, QUERY, DataverseFault, Segment, bad
from crmctl.sandbox.dataverse.security import require_customizer

# Global choices.


def _optionsets(ctx: Context, method: str, segments: list[Segment], body: Any) -> Response:
    head = segments[0]
    if method == "PATCH":
        raise bad("PATCH is not supported for metadata: use PUT.", QUERY, 405)
    if head.key is None:
        if method == "GET":
            if ctx.query.get("$filter"):
                raise bad(
                    "The $filter query option is not supported on GlobalOptionSetDefinitions.",
                    QUERY,
                )  # noqa: E501
            items = [_show_optionset(o, False) for o in state.all_optionsets(ctx.conn)]
            items = [_select(i, _names(ctx.query.get("$select"))) for i in items]
            return (
                200,
                {"@odata.context": _ctx_url(ctx, "GlobalOptionSetDefinitions"), "value": items},
                {},
            )  # noqa: E501
        if method == "POST":
            require_customizer(ctx)
            doc = _create_optionset(ctx, api.check_keys(body, "GlobalOptionSetDefinitions"))
            return (
                204,
                None,
                {"OData-EntityId": f"{ctx.api}/GlobalOptionSetDefinitions({doc['MetadataId']})"},
            )  # noqa: E501
        raise bad(f"The HTTP method {method} is not allowed here.", QUERY, 405)
    doc = find_optionset(ctx, head.key)
    if method == "GET":
        cast = segments[1].name.removeprefix(NS) if len(segments) > 1 else None
        if cast not in (None, "OptionSetMetadata", "BooleanOptionSetMetadata"):
            raise bad(f"Resource not found for the segment '{segments[1].name}'.", QUERY, 404)
        shown = _select(_show_optionset(doc, cast is not None), _names(ctx.query.get("$select")))
        shown["@odata.context"] = _ctx_url(ctx, "GlobalOptionSetDefinitions/$entity")
        return 200, shown, {}
    require_customizer(ctx)
    if method == "PUT":
        body = api.check_keys(body, "GlobalOptionSetDefinitions")
        _same_name(doc["Name"], {"SchemaName": body.get("Name")}, "the choice")
        for name in ("DisplayName", "Description"):
            if body.get(name) is not None:
                new = model.clean_label(body[name], name, required=name == "DisplayName")
                doc[name] = model.merge_label(doc.get(name), new, ctx.merge_labels)
        state.save_optionset(ctx.conn, doc)
        component(ctx, OPTIONSET, doc["MetadataId"])
        return 204, None, {}
    if method == "DELETE":
        _refuse_if_referenced(ctx, doc["MetadataId"], OPTIONSET, "OptionSet")
        state.delete_optionset(ctx.conn, doc["Name"])
        return 204, None, {}
    raise bad(f"The HTTP method {method} is not allowed here.", QUERY, 405)


def _show_optionset(doc: dict[str, Any], with_options: bool) -> dict[str, Any]:
    shown = model.show_option_set(doc)
    if not with_options:
        shown.pop("Options", None)
    return shown


def _create_optionset(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    name = body.get("Name")
    model.check_schema_name(name, "The choice")
    assert isinstance(name, str)
    if state.load_optionset(ctx.conn, name.lower()) is not None:
        raise bad(f"An option set with the name {name} already exists.", DUPLICATE)
    holder: dict[str, Any] = {"_type": "PicklistAttributeMetadata", "SchemaName": name, "EntityLogicalName": "",
              "LogicalName": name.lower()}  # fmt: skip
    model.set_derived(holder, {"OptionSet": {**body, "IsGlobal": False}},
                      option_prefix=_option_prefix(ctx, ctx.solution))  # fmt: skip
    doc: dict[str, Any] = {
        "_type": "OptionSetMetadata",
        "MetadataId": state.new_id(),
        "Name": name.lower(),
        "DisplayName": model.clean_label(body.get("DisplayName"), f"The choice {name} DisplayName"),
        "Description": model.clean_label(body.get("Description"), "Description", False),
        "IsGlobal": True,
        "IsCustomOptionSet": True,
        "OptionSetType": body.get("OptionSetType") or "Picklist",
        "Options": holder["OptionSet"]["Options"],
    }
    state.save_optionset(ctx.conn, doc)
    component(ctx, OPTIONSET, doc["MetadataId"])
    return doc


# Option actions and publishing.


def _target_options(ctx: Context, body: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """The option set an option action names, and how to save it."""
    if body.get("OptionSetName"):
        doc = find_optionset(ctx, f"Name='{body['OptionSetName']}'")
        return doc, lambda: state.save_optionset(ctx.conn, doc)
    entity_name, attr_name = body.get("EntityLogicalName"), body.get("AttributeLogicalName")
    if not entity_name or not attr_name:
        raise bad("Name the choice: OptionSetName, or EntityLogicalName and AttributeLogicalName.")
    entity = find_entity(ctx, f"LogicalName='{entity_name}'")
    attr = _find_attribute(ctx, entity, f"LogicalName='{attr_name}'")
    if attr.get("_global"):
        raise bad(
            f"The column {attr_name} uses the global choice {attr['_global']}: name it with OptionSetName."
        )  # noqa: E501
    if "OptionSet" not in attr or "Options" not in attr["OptionSet"]:
        raise bad(f"The column {attr_name} has no options.")

    def save() -> None:
        _save_attribute(ctx, entity, attr)
        on_table_changed(ctx, entity.logical_name)

    return attr["OptionSet"], save


def _option_action(name: str) -> Any:
    def run(ctx: Context, method: str, segments: list[Segment], body: Any) -> Response:
        if method != "POST":
            raise bad("Actions are called with POST.", QUERY, 405)
        require_customizer(ctx)
        body = api.check_keys(body, name)
        doc, save = _target_options(ctx, body)
        options = doc["Options"]
        values = [o["Value"] for o in options]
        result: Any = None
        value = body.get("Value")
        if name == "InsertOptionValue":
            if value is None:
                value = _option_prefix(ctx, body.get("SolutionUniqueName")) * 10000
                while value in values:
                    value += 1
            if value in values:
                raise bad(f"An option with the value {value} already exists.", DUPLICATE)
            options.append({"Value": value, "Label": model.clean_label(body.get("Label"), "Label"),
                            "Description": model.clean_label(body.get("Description"), "Description", False),  # noqa: E501
                            "Color": None, "ExternalValue": None})  # fmt: skip
            result = {
                "@odata.context": _ctx_url(ctx, f"{NS}InsertOptionValueResponse"),
                "NewOptionValue": value,
            }  # noqa: E501
        elif name in ("UpdateOptionValue", "DeleteOptionValue"):
            if value not in values:
                raise DataverseFault(404, NOT_FOUND, f"The option value {value} does not exist.")
            index = values.index(value)
            if name == "DeleteOptionValue":
                options.pop(index)
            else:
                merge = bool(body.get("MergeLabels"))
                for field in ("Label", "Description"):
                    if body.get(field) is not None:
                        new = model.clean_label(body[field], field, required=field == "Label")
                        options[index][field] = model.merge_label(
                            options[index].get(field), new, merge
                        )
        else:  # OrderOption
            wanted = body.get("Values")
            if not isinstance(wanted, list) or sorted(wanted) != sorted(values):
                raise bad("OrderOption takes Values: every option value of the choice, once each.")
            doc["Options"] = [options[values.index(v)] for v in wanted]
        save()
        component(ctx, OPTIONSET, doc["MetadataId"], body.get("SolutionUniqueName"))
        return (200, result, {}) if result else (204, None, {})

    return run


def _publish(ctx: Context, names: set[str] | None) -> None:
    for entity in state.all_entities(ctx.conn):
        if names is not None and entity.logical_name not in names:
            continue
        changed = False
        for doc in [entity.doc, *entity.doc["Attributes"]]:
            pending = doc.pop("_pending", None)
            if pending:
                doc.update(pending)
                changed = True
        if changed:
            state.save_entity(ctx.conn, entity)


def _publish_xml(ctx: Context, method: str, segments: list[Segment], body: Any) -> Response:
    if method != "POST":
        raise bad("Actions are called with POST.", QUERY, 405)
    require_customizer(ctx)
    text = api.check_keys(body, "PublishXml").get("ParameterXml")
    try:
        root = ET.fromstring(text) if isinstance(text, str) else None
    except ET.ParseError as exc:
        raise bad(f"ParameterXml is not well-formed XML: {exc}") from None
    if root is None or root.tag.lower() != "importexportxml":
        raise bad("ParameterXml must be <importexportxml> naming <entities>, <optionsets> …")
    names = {(e.text or "").strip().lower() for e in root.iter() if e.tag.lower() == "entity"}
    for name in names:
        find_entity(ctx, f"LogicalName='{name}'")
    _publish(ctx, names)
    return 204, None, {}


def _publish_all(ctx: Context, method: str, segments: list[Segment], body: Any) -> Response:
    require_customizer(ctx)
    _publish(ctx, None)
    return 204, None, {}


api.RESOURCES["GlobalOptionSetDefinitions"] = _optionsets
for _name in ("InsertOptionValue", "UpdateOptionValue", "DeleteOptionValue", "OrderOption"):
    api.OPERATIONS[_name] = _option_action(_name)
api.OPERATIONS["PublishXml"] = _publish_xml
api.OPERATIONS["PublishAllXml"] = _publish_all
