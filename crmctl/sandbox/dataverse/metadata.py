"""Table, column and choice definitions: EntityDefinitions, Attributes, GlobalOptionSetDefinitions.

    GET    EntityDefinitions?$select&$filter&$expand=Attributes($select;$filter)   (not paged)
    POST   EntityDefinitions                     a table with its one primary name column
    GET    EntityDefinitions({id} | LogicalName='x')
    PUT    EntityDefinitions(…)                  the full definition (MSCRM.MergeLabels)
    DELETE EntityDefinitions(…)                  refused while other components depend on it
    GET    EntityDefinitions(…)/Attributes[/Microsoft.Dynamics.CRM.{Type}AttributeMetadata]
    POST   EntityDefinitions(…)/Attributes
    GET    EntityDefinitions(…)/Attributes({id} | LogicalName='y')[/Microsoft.Dynamics.CRM.{Type}]
    PUT    EntityDefinitions(…)/Attributes(…)    the full typed definition; the type cannot change
    DELETE EntityDefinitions(…)/Attributes(…)
    POST   CreateEntities
    GET    RetrieveDependenciesForDelete(ObjectId=…,ComponentType=…)

Global choices, option actions and PublishXml are in `choices`; RetrieveMetadataChanges
in `metadata_changes`; relationships (lookups) in `relationships`.

PATCH on metadata is refused (PUT only). `$expand=Attributes` and an uncast
Attributes collection carry only AttributeMetadata's own properties; a cast,
or one attribute read alone, carries its derived type's too; `OptionSet` and
`GlobalOptionSet` come only with `$expand`. A global choice's options are read
through the `OptionSetMetadata` cast. Unknown names in a metadata `$select`
are left out, not refused (this emulator knows fewer properties than Dataverse).

**Publish.** A PUT's label changes (DisplayName, DisplayCollectionName,
Description) are held as unpublished customizations: reads show the published
labels until `PublishXml` names the table (or `PublishAllXml`). Other changes
(RequiredLevel, MaxLength, IsSecured, IsAuditEnabled …), new columns and
option changes are visible at once. Any change to a table unpublishes its
duplicate detection rules.

**Solutions.** `MSCRM.SolutionUniqueName` (or the actions' `SolutionUniqueName`)
adds the component (1 table, 2 column, 9 choice) to that solution's
`solutioncomponents`; an unknown solution is refused. The solution's publisher
gives new option values their prefix (`customizationoptionvalueprefix` × 10000).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence
from typing import Any

from crmctl.sandbox.dataverse import api, model, seed, state
from crmctl.sandbox.dataverse.api import NS, Context, Response
from crmctl.sandbox.dataverse.odata import (
    DUPLICATE,
    NOT_FOUND,
    QUERY,
    REFERENCED,
    DataverseFault,
    Segment,
    bad,
    evaluate,
    expand_items,
    inner_options,
    parse_filter,
    parse_key,
)
from crmctl.sandbox.dataverse.security import require_customizer

__all__ = ["on_table_changed", "dependencies", "component", "delete_attribute", "find_entity"]

ENTITY, ATTRIBUTE, OPTIONSET, DUPLICATE_RULE = 1, 2, 9, 44
_LABELS = ("DisplayName", "DisplayCollectionName", "Description")


def _ctx_url(ctx: Context, what: str) -> str:
    return f"{ctx.api}/$metadata#{what}"


def _names(text: str | None) -> list[str] | None:
    return [n.strip() for n in text.split(",") if n.strip()] if text else None


def _kept(names: Sequence[str] | None, expanded: Any = ()) -> frozenset[str] | None:
    """The properties a `$select` keeps (MetadataId and expanded ones always); None: all."""
    return frozenset(names) | {"MetadataId"} | frozenset(expanded) if names else None


@functools.lru_cache(maxsize=64)
def _inner_names(options: str) -> tuple[str, ...] | None:
    """The `$select` inside an `$expand` item's options (parsed once, not per attribute)."""
    names = _names(inner_options(options).get("$select"))
    return tuple(names) if names else None


def _select(
    item: dict[str, Any], names: Sequence[str] | None, expanded: Any = ()
) -> dict[str, Any]:
    keep = _kept(names, expanded)
    if keep is None:
        return item
    return {k: v for k, v in item.items() if k in keep or k.startswith("@odata.")}


def _filter(items: list[dict[str, Any]], text: str | None) -> list[dict[str, Any]]:
    if not text:
        return items
    node = parse_filter(text)
    return [i for i in items if evaluate(node, i)]


# Lookups of definitions.


def find_entity(ctx: Context, key: str | None, shown_only: bool = False) -> state.Entity:
    """A table by key; `shown_only`: for a read that never changes it (shared document)."""
    parsed = parse_key(key or "", ctx.aliases())
    if isinstance(parsed, dict):
        name = str(parsed.get("LogicalName", ""))
        if shown_only:
            entity = state.read_entity(ctx.conn, name)
        else:
            entity = state.load_entity(ctx.conn, name)
    elif shown_only:
        name, entity = parsed, state.read_entity(ctx.conn, parsed, by_id=True)
    else:
        name, entity = parsed, state.load_entity_by_id(ctx.conn, parsed)
    if entity is None:
        raise DataverseFault(
            404,
            NOT_FOUND,
            f"Could not find entity with name or id '{name}' "
            "(Entity with this name and namemapping 'Logical' was not found in the MetadataCache).",
        )
    return entity


def _find_attribute(ctx: Context, entity: state.Entity, key: str | None) -> dict[str, Any]:
    parsed = parse_key(key or "", ctx.aliases())
    if isinstance(parsed, dict):
        name = str(parsed.get("LogicalName", ""))
        attr = entity.attribute(name)
    else:
        name, attr = parsed, entity.attribute_by_id(parsed)
    if attr is None:
        raise DataverseFault(
            404,
            NOT_FOUND,
            f"Could not find attribute '{name}' of entity '{entity.logical_name}'.",
        )
    return attr


def find_optionset(ctx: Context, key: str | None) -> dict[str, Any]:
    parsed = parse_key(key or "", ctx.aliases())
    name = str(parsed.get("Name", "")) if isinstance(parsed, dict) else parsed
    found = state.load_optionset(ctx.conn, name)
    if found is None:
        raise DataverseFault(404, NOT_FOUND, f"Could not find optionset '{name}'.")
    return found


def _global_name(ctx: Context, bind: str) -> str:
    path = api.relative(ctx, bind).strip("/")
    segments = [s for s in path.split("/") if s]
    if not segments or not segments[-1].startswith("GlobalOptionSetDefinitions("):
        raise bad(
            f"GlobalOptionSet@odata.bind must name /GlobalOptionSetDefinitions(<id>), got {bind!r}."
        )
    return str(find_optionset(ctx, segments[-1][len("GlobalOptionSetDefinitions(") : -1])["Name"])


# Solutions and side effects.


def _solution(ctx: Context, name: str | None) -> dict[str, Any] | None:
    if not name:
        return None
    for row in state.rows(ctx.conn, "solution"):
        if row["uniquename"].lower() == name.lower():
            return row
    raise DataverseFault(
        404, NOT_FOUND, f"A solution with the unique name '{name}' does not exist."
    )


def _option_prefix(ctx: Context, solution_name: str | None) -> int:
    solution = _solution(ctx, solution_name)
    publisher_id = solution.get("publisherid") if solution else None
    if publisher_id is None:
        for row in state.rows(ctx.conn, "publisher"):
            if row["uniquename"] == "DefaultPublisher":
                publisher_id = row["publisherid"]
    publisher = state.get_row(ctx.conn, "publisher", str(publisher_id)) if publisher_id else None
    return int((publisher or {}).get("customizationoptionvalueprefix") or 10000)


def component(ctx: Context, kind: int, object_id: str, solution_name: str | None = None) -> None:
    solution = _solution(ctx, solution_name or ctx.solution)
    if solution is None:
        return
    for row in state.rows(ctx.conn, "solutioncomponent"):
        if row["objectid"] == object_id and row["solutionid"] == solution["solutionid"]:
            return
    row_id = state.new_id()
    state.put_row(ctx.conn, "solutioncomponent", row_id, {
        "solutioncomponentid": row_id, "componenttype": kind, "objectid": object_id,
        "rootcomponentbehavior": 0, "solutionid": solution["solutionid"]})  # fmt: skip


def on_table_changed(ctx: Context, logical: str) -> None:
    """A table's metadata changed: its published duplicate rules become unpublished."""
    for rule in state.rows(ctx.conn, "duplicaterule"):
        tables = (rule.get("baseentityname"), rule.get("matchingentityname"))
        if logical in tables and rule.get("statuscode") in (1, 2):
            rule.update(statecode=0, statuscode=0)
            state.put_row(ctx.conn, "duplicaterule", rule["duplicateruleid"], rule)


def dependencies(ctx: Context, object_id: str, kind: int) -> list[dict[str, Any]]:
    """What depends on a component (the `dependency` rows of RetrieveDependenciesForDelete)."""
    found: list[tuple[str, int, str | None]] = []
    object_id = object_id.lower()
    if kind == ENTITY:
        entity = state.load_entity_by_id(ctx.conn, object_id)
        if entity is not None:
            for other in state.all_entities(ctx.conn):
                for attr in other.attributes:
                    if (
                        other.logical_name != entity.logical_name
                        and attr["IsCustomAttribute"]
                        and entity.logical_name in (attr.get("Targets") or [])
                    ):  # noqa: E501
                        found.append((attr["MetadataId"], ATTRIBUTE, other.metadata_id))
            for rule in state.rows(ctx.conn, "duplicaterule"):
                if entity.logical_name in (
                    rule.get("baseentityname"),
                    rule.get("matchingentityname"),
                ):
                    found.append((rule["duplicateruleid"], DUPLICATE_RULE, None))
    elif kind == ATTRIBUTE:
        for entity in state.all_entities(ctx.conn):
            found_attr = entity.attribute_by_id(object_id)
            if found_attr is None:
                continue
            attr = found_attr
            for cond in state.rows(ctx.conn, "duplicaterulecondition"):
                rule = (
                    state.get_row(ctx.conn, "duplicaterule", cond.get("regardingobjectid") or "")
                    or {}
                )
                if (
                    rule.get("baseentityname") == entity.logical_name
                    and cond.get("baseattributename") == attr["LogicalName"]
                ) or (  # noqa: E501
                    rule.get("matchingentityname") == entity.logical_name
                    and cond.get("matchingattributename") == attr["LogicalName"]
                ):  # noqa: E501
                    found.append((rule["duplicateruleid"], DUPLICATE_RULE, None))
    elif kind == OPTIONSET:
        option_set = state.load_optionset(ctx.conn, object_id)
        if option_set is not None:
            for entity in state.all_entities(ctx.conn):
                for attr in entity.attributes:
                    if attr.get("_global") == option_set["Name"]:
                        found.append((attr["MetadataId"], ATTRIBUTE, entity.metadata_id))
    out = []
    for dependent, dependent_type, parent in sorted(set(found)):
        out.append({
            "dependencyid": state.new_id(), "dependencytype": 2,
            "dependentcomponentobjectid": dependent, "dependentcomponenttype": dependent_type,
            "dependentcomponentparentid": parent, "requiredcomponentobjectid": object_id,
            "requiredcomponenttype": kind})  # fmt: skip
    return out


def _refuse_if_referenced(ctx: Context, object_id: str, kind: int, what: str) -> None:
    found = dependencies(ctx, object_id, kind)
    if found:
        raise DataverseFault(
            400,
            REFERENCED,
            f"The {what}({object_id}) component cannot be deleted because it is referenced by "
            f"{len(found)} other components. For a list of referenced components, use the "
            "RetrieveDependenciesForDeleteRequest.",
        )


# Showing definitions.


def _show_option_field(ctx: Context, attr: dict[str, Any]) -> dict[str, Any] | None:
    if attr.get("_global"):
        found = state.load_optionset(ctx.conn, attr["_global"])
        return model.show_option_set(found) if found else None
    if "OptionSet" in attr:
        return model.show_option_set(attr["OptionSet"])
    return None


def _show_attribute(ctx: Context, attr: dict[str, Any], derived: bool, expand: dict[str, str], names: frozenset[str] | None = None) -> dict[str, Any]:  # fmt: skip
    out = model.show_attribute(attr, derived, names)
    for name in ("OptionSet", "GlobalOptionSet"):
        if name in expand:
            if name == "GlobalOptionSet" and not attr.get("_global"):
                out[name] = None
            else:
                shown = _show_option_field(ctx, attr)
                out[name] = _select(shown, _inner_names(expand[name])) if shown else None
    return out


def _attributes(ctx: Context, entity: state.Entity, cast: str | None, options: dict[str, str]) -> list[dict[str, Any]]:  # fmt: skip
    expand = expand_items(options.get("$expand"))
    kind = model.attribute_type(cast) if cast else None
    if cast and cast.removeprefix(NS) not in model.TYPES:
        raise bad(f"The type '{cast}' is not an attribute metadata type.", QUERY, 404)
    names = _names(options.get("$select"))
    if not options.get("$filter"):
        # Without a $filter, only the selected properties are made at all.
        keep = _kept(names, expand)
        return [
            _show_attribute(ctx, a, kind is not None, expand, keep)
            for a in entity.doc.get("Attributes", [])
            if kind is None or a["_type"] == kind
        ]
    items = [
        _show_attribute(ctx, a, kind is not None, expand)
        for a in entity.doc.get("Attributes", [])
        if kind is None or a["_type"] == kind
    ]
    items = _filter(items, options.get("$filter"))
    return [_select(i, names, expand) for i in items]


def _show_entity(ctx: Context, entity: state.Entity, options: dict[str, str]) -> dict[str, Any]:
    expand = expand_items(options.get("$expand"))
    out = model.show_entity(entity.doc, _kept(_names(options.get("$select")), expand))
    if "Attributes" in expand:
        out["Attributes"] = _attributes(ctx, entity, None, inner_options(expand["Attributes"]))
    return out


# EntityDefinitions.


def _entity_definitions(ctx: Context, method: str, segments: list[Segment], body: Any) -> Response:
    head = segments[0]
    if method == "PATCH":
        raise bad("PATCH is not supported for metadata: send the full definition with PUT.",
                  QUERY, 405)  # fmt: skip
    if head.key is None:
        if len(segments) > 1:
            raise bad(f"Resource not found for the segment '{segments[1].name}'.", QUERY, 404)
        if method == "GET":
            entities = state.read_entities(ctx.conn)
            if ctx.query.get("$filter"):
                node = parse_filter(ctx.query["$filter"])
                entities = [e for e in entities if evaluate(node, model.show_entity(e.doc))]
            out = [_show_entity(ctx, entity, ctx.query) for entity in entities]
            return 200, {"@odata.context": _ctx_url(ctx, "EntityDefinitions"), "value": out}, {}
        if method == "POST":
            require_customizer(ctx)
            entity = _create_entity(ctx, api.check_keys(body, "EntityDefinitions"), ctx.solution)
            url = f"{ctx.api}/EntityDefinitions({entity.metadata_id})"
            return 204, None, {"OData-EntityId": url}
        raise bad(f"The HTTP method {method} is not allowed on EntityDefinitions.", QUERY, 405)
    entity = find_entity(ctx, head.key, shown_only=method == "GET")
    if len(segments) == 1:
        if method == "GET":
            shown = _show_entity(ctx, entity, ctx.query)
            shown["@odata.context"] = _ctx_url(ctx, "EntityDefinitions/$entity")
            return 200, shown, {}
        require_customizer(ctx)
        if method == "PUT":
            _put_entity(ctx, entity, api.check_keys(body, "EntityDefinitions"))
            return 204, None, {}
        if method == "DELETE":
            _delete_entity(ctx, entity)
            return 204, None, {}
        raise bad(f"The HTTP method {method} is not allowed here.", QUERY, 405)
    if segments[1].name in ("OneToManyRelationships", "ManyToOneRelationships") and method == "GET":
        from crmctl.sandbox.dataverse.relationships import for_entity

        value = for_entity(ctx.conn, entity.logical_name, segments[1].name)
        return 200, {"@odata.context": _ctx_url(ctx, segments[1].name), "value": value}, {}
    if segments[1].name != "Attributes":
        raise bad(f"Resource not found for the segment '{segments[1].name}'.", QUERY, 404)
    return _attributes_path(ctx, method, entity, segments, body)


def _create_entity(ctx: Context, body: dict[str, Any], solution: str | None) -> state.Entity:
    prefix = _option_prefix(ctx, solution)
    entity = seed.create_table(ctx.conn, body, custom=True, option_prefix=prefix)
    component(ctx, ENTITY, entity.metadata_id, solution)
    for attr in entity.attributes:
        if attr["IsCustomAttribute"]:
            component(ctx, ATTRIBUTE, attr["MetadataId"], solution)
    return entity


def _pending(
    doc: dict[str, Any], body: dict[str, Any], merge: bool, names: tuple[str, ...]
) -> None:
    pending = doc.setdefault("_pending", {})
    for name in names:
        if name in body and body[name] is not None:
            new = model.clean_label(body[name], name, required=name != "Description")
            base = pending.get(name, doc.get(name))
            merged = model.merge_label(base, new, merge)
            if merged != doc.get(name):
                pending[name] = merged
            else:
                pending.pop(name, None)
    if not pending:
        doc.pop("_pending", None)


def _same_name(current: str, body: dict[str, Any], what: str) -> None:
    for name in ("SchemaName", "LogicalName"):
        given = body.get(name)
        if given is not None and str(given).lower() != current.lower():
            raise bad(f"The {name} of {what} {current} cannot be changed (got {given}).")


def _put_entity(ctx: Context, entity: state.Entity, body: dict[str, Any]) -> None:
    doc = entity.doc
    _same_name(doc["SchemaName"], body, "the table")
    for name in ("OwnershipType", "IsActivity"):
        if name in body and body[name] != doc[name]:
            raise bad(f"{name} of the table {doc['SchemaName']} cannot be changed.")
    for name in ("HasNotes", "HasActivities"):
        if name in body:
            if doc[name] and not body[name]:
                raise bad(f"{name} cannot be turned off once on.")
            doc[name] = bool(body[name])
    if isinstance(body.get("IsAuditEnabled"), dict):
        doc["IsAuditEnabled"] = {"Value": bool(body["IsAuditEnabled"].get("Value"))}
    if "ChangeTrackingEnabled" in body:
        doc["ChangeTrackingEnabled"] = bool(body["ChangeTrackingEnabled"])
    _pending(doc, body, ctx.merge_labels, _LABELS)
    state.save_entity(ctx.conn, entity)
    component(ctx, ENTITY, entity.metadata_id)
    on_table_changed(ctx, entity.logical_name)


def _delete_entity(ctx: Context, entity: state.Entity) -> None:
    if not entity.doc["IsCustomEntity"]:
        raise bad(f"The system table {entity.logical_name} cannot be deleted.", "0x80040203")
    _refuse_if_referenced(ctx, entity.metadata_id, ENTITY, "Entity")
    for privilege in state.rows(ctx.conn, "privilege"):
        if privilege.get("_entity") == entity.logical_name:
            state.delete_row(ctx.conn, "privilege", privilege["privilegeid"])
            ctx.conn.execute(
                "DELETE FROM dv_role_privileges WHERE privilege_id = ?", (privilege["privilegeid"],)
            )
    ids = {entity.metadata_id.lower()} | {a["MetadataId"].lower() for a in entity.attributes}
    for row in state.rows(ctx.conn, "solutioncomponent"):
        if str(row["objectid"]).lower() in ids:
            state.delete_row(ctx.conn, "solutioncomponent", row["solutioncomponentid"])
    from crmctl.sandbox.dataverse.relationships import drop_for_entity

    drop_for_entity(ctx.conn, entity.logical_name)
    state.delete_entity(ctx.conn, entity.logical_name)


# Attributes.


def _attributes_path(ctx: Context, method: str, entity: state.Entity, segments: list[Segment], body: Any) -> Response:  # fmt: skip
    attrs = segments[1]
    rest = segments[2:]
    if attrs.key is None:
        cast = rest[0].name if rest else None
        if method == "GET":
            value = _attributes(ctx, entity, cast, ctx.query)
            return (
                200,
                {"@odata.context": _ctx_url(ctx, "EntityDefinitions/Attributes"), "value": value},
                {},
            )  # noqa: E501
        if method == "POST" and not rest:
            require_customizer(ctx)
            attr = _create_attribute(ctx, entity, api.check_keys(body, "Attributes"))
            url = f"{ctx.api}/EntityDefinitions({entity.metadata_id})/Attributes({attr['MetadataId']})"
            return 204, None, {"OData-EntityId": url}
        raise bad(f"The HTTP method {method} is not allowed here.", QUERY, 405)
    attr = _find_attribute(ctx, entity, attrs.key)
    if method == "GET":
        if rest:
            kind = model.attribute_type(rest[0].name)
            if kind != attr["_type"]:
                raise bad(
                    f"The attribute {attr['LogicalName']} is a {attr['_type']}, not a {kind}.",
                    QUERY,
                    404,
                )
        expand = expand_items(ctx.query.get("$expand"))
        shown = _select(
            _show_attribute(ctx, attr, True, expand), _names(ctx.query.get("$select")), expand
        )
        shown["@odata.context"] = _ctx_url(ctx, "EntityDefinitions/Attributes/$entity")
        return 200, shown, {}
    require_customizer(ctx)
    if method == "PUT":
        _put_attribute(ctx, entity, attr, api.check_keys(body, "Attributes"))
        return 204, None, {}
    if method == "DELETE":
        delete_attribute(ctx, entity, attr)
        return 204, None, {}
    raise bad(f"The HTTP method {method} is not allowed here.", QUERY, 405)


def _create_attribute(ctx: Context, entity: state.Entity, body: dict[str, Any]) -> dict[str, Any]:
    if not entity.doc.get("CanCreateAttributes", {}).get("Value", True):
        raise bad(f"The table {entity.logical_name} does not accept new columns (CanCreateAttributes is false).")  # fmt: skip
    if body.get("IsPrimaryName"):
        raise bad("A table has one primary name column, made with the table.")
    attr = model.build_attribute(
        body, entity.logical_name, option_prefix=_option_prefix(ctx, ctx.solution)
    )  # noqa: E501
    if attr.get("_global"):
        attr["_global"] = _global_name(ctx, attr["_global"])
        attr.pop("OptionSet", None)
    if entity.attribute(attr["LogicalName"]) is not None:
        raise bad(
            f"An attribute with the specified name {attr['SchemaName']} already exists.", DUPLICATE
        )  # noqa: E501
    entity.doc["Attributes"].append(attr)
    state.save_entity(ctx.conn, entity)
    component(ctx, ATTRIBUTE, attr["MetadataId"])
    on_table_changed(ctx, entity.logical_name)
    return attr


def _save_attribute(ctx: Context, entity: state.Entity, attr: dict[str, Any]) -> None:
    entity.doc["Attributes"] = [
        attr if a["MetadataId"] == attr["MetadataId"] else a for a in entity.doc["Attributes"]
    ]
    state.save_entity(ctx.conn, entity)


def _put_attribute(ctx: Context, entity: state.Entity, attr: dict[str, Any], body: dict[str, Any]) -> None:  # fmt: skip
    kind = model.attribute_type(body.get("@odata.type"))
    if kind != attr["_type"]:
        raise bad(
            f"The type of the column {entity.logical_name}.{attr['LogicalName']} cannot be "
            f"changed: it is {attr['_type']}, the request sends {kind}. Only a text column "
            "can become an autonumber column (AutoNumberFormat on StringAttributeMetadata).",
            "0x80048405",
        )
    _same_name(attr["SchemaName"], body, "the column")
    new = copy.deepcopy(attr)
    if "RequiredLevel" in body:
        new["RequiredLevel"] = model.required_level(body["RequiredLevel"])
    if "IsSecured" in body:
        if body["IsSecured"] and not attr.get("CanBeSecuredForRead"):
            raise bad(f"The column {attr['LogicalName']} cannot be secured.")
        new["IsSecured"] = bool(body["IsSecured"])
    if isinstance(body.get("IsAuditEnabled"), dict):
        new["IsAuditEnabled"] = {
            **attr["IsAuditEnabled"],
            "Value": bool(body["IsAuditEnabled"].get("Value")),
        }  # noqa: E501
    if "AutoNumberFormat" in body:
        if body["AutoNumberFormat"] and kind != "StringAttributeMetadata":
            raise bad("Only a text column can be an autonumber column.")
        new["AutoNumberFormat"] = body["AutoNumberFormat"] or ""
    derived = {
        k: v for k, v in body.items() if k not in ("OptionSet", "GlobalOptionSet@odata.bind")
    }
    for name in model.TYPES[kind][2]:
        derived.setdefault(name, attr.get(name))
    if kind == "BooleanAttributeMetadata":
        derived["OptionSet"] = {k: v for k, v in attr["OptionSet"].items()}
    model.set_derived(new, derived, option_prefix=10000)
    if (
        kind in ("StringAttributeMetadata", "MemoAttributeMetadata")
        and new["MaxLength"] < attr["MaxLength"]
    ):
        longest = max(
            (
                len(r.get(attr["LogicalName"]) or "")
                for r in state.rows(ctx.conn, entity.logical_name)
            ),
            default=0,
        )  # noqa: E501
        if longest > new["MaxLength"]:
            raise bad(
                f"MaxLength of {attr['LogicalName']} cannot be lowered to {new['MaxLength']}: "
                f"a row holds {longest} characters.",
            )
    if kind == "DateTimeAttributeMetadata":
        old_b, new_b = attr["DateTimeBehavior"]["Value"], new["DateTimeBehavior"]["Value"]
        if old_b != new_b and old_b != "UserLocal":
            raise bad(
                f"DateTimeBehavior {old_b} cannot be changed (only UserLocal can change, once)."
            )
    _pending(new, body, ctx.merge_labels, ("DisplayName", "Description"))
    _save_attribute(ctx, entity, new)
    component(ctx, ATTRIBUTE, attr["MetadataId"])
    on_table_changed(ctx, entity.logical_name)


def delete_attribute(ctx: Context, entity: state.Entity, attr: dict[str, Any]) -> None:
    if not attr["IsCustomAttribute"] or attr["IsPrimaryName"]:
        raise bad(
            f"The column {attr['LogicalName']} is a system or primary column and cannot be deleted."
        )  # noqa: E501
    _refuse_if_referenced(ctx, attr["MetadataId"], ATTRIBUTE, "Attribute")
    entity.doc["Attributes"] = [
        a for a in entity.doc["Attributes"] if a["MetadataId"] != attr["MetadataId"]
    ]  # noqa: E501
    state.save_entity(ctx.conn, entity)
    from crmctl.sandbox.dataverse.relationships import drop_for_attribute

    drop_for_attribute(ctx.conn, entity.logical_name, attr["LogicalName"])
    for row in state.rows(ctx.conn, entity.logical_name):
        if attr["LogicalName"] in row:
            del row[attr["LogicalName"]]
            state.put_row(ctx.conn, entity.logical_name, row[entity.primary_id], row)
    on_table_changed(ctx, entity.logical_name)


def _create_entities(ctx: Context, method: str, segments: list[Segment], body: Any) -> Response:
    require_customizer(ctx)
    entities = api.check_keys(body, "CreateEntities").get("Entities")
    if not isinstance(entities, list) or not entities:
        raise bad("CreateEntities takes Entities: a list of ComplexEntityMetadata.")
    solution = ctx.query.get("SolutionUniqueName") or ctx.solution
    ids = [
        _create_entity(ctx, api.check_keys(e, "an entity"), solution).metadata_id for e in entities
    ]
    return (
        200,
        {"@odata.context": _ctx_url(ctx, f"{NS}CreateEntitiesResponse"), "EntityIds": ids},
        {},
    )


def _retrieve_dependencies(
    ctx: Context, method: str, segments: list[Segment], body: Any
) -> Response:
    params = parse_key(segments[0].key or "", ctx.aliases())
    if not isinstance(params, dict) or "ObjectId" not in params or "ComponentType" not in params:
        raise bad("RetrieveDependenciesForDelete takes ObjectId and ComponentType.")
    kind = int(params["ComponentType"])
    value = dependencies(ctx, str(params["ObjectId"]), kind)
    return 200, {"@odata.context": _ctx_url(ctx, "dependencies"), "value": value}, {}


api.RESOURCES["EntityDefinitions"] = _entity_definitions
api.OPERATIONS["CreateEntities"] = _create_entities
api.OPERATIONS["RetrieveDependenciesForDelete"] = _retrieve_dependencies
