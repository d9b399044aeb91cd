"""One-to-many relationships, and the lookup column each one brings.

    GET    RelationshipDefinitions[/Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata]
    POST   RelationshipDefinitions         OneToManyRelationshipMetadata with its Lookup
    GET    RelationshipDefinitions({id} | SchemaName='x')
    DELETE RelationshipDefinitions(…)      removes the lookup column too
    GET    EntityDefinitions(…)/OneToManyRelationships, …/ManyToOneRelationships

A lookup column is created only this way (POST …/Attributes refuses a
LookupAttributeMetadata). Many-to-many relationships are not modelled (400).
"""

from __future__ import annotations

from typing import Any

from crmctl.sandbox.dataverse import api, model, state
from crmctl.sandbox.dataverse.api import NS, Context, Response
from crmctl.sandbox.dataverse.odata import (
    DUPLICATE,
    NOT_FOUND,
    QUERY,
    DataverseFault,
    Segment,
    bad,
    evaluate,
    parse_filter,
    parse_key,
)
from crmctl.sandbox.dataverse.security import require_customizer

__all__ = ["relationships", "for_entity", "drop_for_attribute", "drop_for_entity"]

ONE_TO_MANY = "OneToManyRelationshipMetadata"
RELATIONSHIP = 10  # solution component type: entity relationship


def relationships(conn: Any) -> list[dict[str, Any]]:
    return list(state.get_meta(conn, "relationships", []))


def _save(conn: Any, items: list[dict[str, Any]]) -> None:
    state.set_meta(conn, "relationships", items)


def _show(item: dict[str, Any]) -> dict[str, Any]:
    return {"@odata.type": f"#{NS}{ONE_TO_MANY}", **item}


def for_entity(conn: Any, logical: str, side: str) -> list[dict[str, Any]]:
    """`OneToManyRelationships` (the table is referenced) or `ManyToOneRelationships`."""
    key = "ReferencedEntity" if side == "OneToManyRelationships" else "ReferencingEntity"
    return [_show(r) for r in relationships(conn) if r[key] == logical]


def drop_for_attribute(conn: Any, entity: str, attribute: str) -> None:
    _save(conn, [r for r in relationships(conn)
                 if (r["ReferencingEntity"], r["ReferencingAttribute"]) != (entity, attribute)])  # fmt: skip


def drop_for_entity(conn: Any, entity: str) -> None:
    _save(conn, [r for r in relationships(conn) if r["ReferencingEntity"] != entity])


def _find(ctx: Context, key: str | None) -> dict[str, Any]:
    parsed = parse_key(key or "", ctx.aliases())
    for item in relationships(ctx.conn):
        if isinstance(parsed, dict):
            if item["SchemaName"].lower() == str(parsed.get("SchemaName", "")).lower():
                return item
        elif item["MetadataId"] == parsed:
            return item
    raise DataverseFault(404, NOT_FOUND, f"Could not find relationship '{key}'.")


def _create(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    from crmctl.sandbox.dataverse import metadata

    kind = str(body.get("@odata.type", "")).lstrip("#").removeprefix(NS)
    if kind != ONE_TO_MANY:
        raise bad(f"Only {ONE_TO_MANY} is supported here (got {body.get('@odata.type')!r}).")
    schema = body.get("SchemaName")
    model.check_schema_name(schema, "The relationship")
    assert isinstance(schema, str)
    if any(r["SchemaName"].lower() == schema.lower() for r in relationships(ctx.conn)):
        raise bad(f"A relationship named {schema} already exists.", DUPLICATE)
    referenced = metadata.find_entity(ctx, f"LogicalName='{body.get('ReferencedEntity')}'")
    referencing = metadata.find_entity(ctx, f"LogicalName='{body.get('ReferencingEntity')}'")
    referenced_attribute = body.get("ReferencedAttribute") or referenced.primary_id
    if referenced_attribute != referenced.primary_id:
        raise bad(f"ReferencedAttribute must be {referenced.primary_id}, the table's primary key.")
    lookup = body.get("Lookup")
    if not isinstance(lookup, dict) or "Lookup" not in str(lookup.get("@odata.type", "")):
        raise bad("A one-to-many relationship carries its Lookup (a LookupAttributeMetadata).")
    model.check_schema_name(lookup.get("SchemaName"), "The lookup")
    attr = model.build_attribute(lookup, referencing.logical_name, option_prefix=1, custom=False)
    attr.update(IsCustomAttribute=True, Targets=[referenced.logical_name],
                CanBeSecuredForCreate=True, CanBeSecuredForRead=True, CanBeSecuredForUpdate=True)  # fmt: skip
    if referencing.attribute(attr["LogicalName"]) is not None:
        raise bad(
            f"An attribute with the specified name {attr['SchemaName']} already exists.", DUPLICATE
        )  # noqa: E501
    referencing.doc["Attributes"].append(attr)
    state.save_entity(ctx.conn, referencing)
    item = {
        "MetadataId": state.new_id(), "SchemaName": schema,
        "RelationshipType": "OneToManyRelationship", "IsCustomRelationship": True,
        "IsManaged": False, "ReferencedEntity": referenced.logical_name,
        "ReferencedAttribute": referenced_attribute,
        "ReferencingEntity": referencing.logical_name,
        "ReferencingAttribute": attr["LogicalName"],
        "ReferencedEntityNavigationPropertyName": schema,
        "ReferencingEntityNavigationPropertyName": attr["SchemaName"],
        "CascadeConfiguration": body.get("CascadeConfiguration") or {},
    }  # fmt: skip
    _save(ctx.conn, [*relationships(ctx.conn), item])
    metadata.component(ctx, RELATIONSHIP, item["MetadataId"])
    metadata.component(ctx, metadata.ATTRIBUTE, attr["MetadataId"])
    metadata.on_table_changed(ctx, referencing.logical_name)
    return item


def _delete(ctx: Context, item: dict[str, Any]) -> None:
    from crmctl.sandbox.dataverse import metadata

    entity = state.load_entity(ctx.conn, item["ReferencingEntity"])
    if entity is not None:
        attr = entity.attribute(item["ReferencingAttribute"])
        if attr is not None:
            metadata.delete_attribute(ctx, entity, attr)
    drop_for_attribute(ctx.conn, item["ReferencingEntity"], item["ReferencingAttribute"])


def _handle(ctx: Context, method: str, segments: list[Segment], body: Any) -> Response:
    head = segments[0]
    context = f"{ctx.api}/$metadata#RelationshipDefinitions"
    if head.key is None:
        if method == "GET":
            if len(segments) > 1 and segments[1].name.removeprefix(NS) != ONE_TO_MANY:
                return 200, {"@odata.context": context, "value": []}, {}
            items = [_show(r) for r in relationships(ctx.conn)]
            if ctx.query.get("$filter"):
                node = parse_filter(ctx.query["$filter"])
                items = [i for i in items if evaluate(node, i)]
            names = [n.strip() for n in (ctx.query.get("$select") or "").split(",") if n.strip()]
            if names:
                keep = set(names) | {"MetadataId", "@odata.type"}
                items = [{k: v for k, v in i.items() if k in keep} for i in items]
            return 200, {"@odata.context": context, "value": items}, {}
        if method == "POST":
            require_customizer(ctx)
            item = _create(ctx, api.check_keys(body, "RelationshipDefinitions"))
            url = f"{ctx.api}/RelationshipDefinitions({item['MetadataId']})"
            return 204, None, {"OData-EntityId": url}
        raise bad(f"The HTTP method {method} is not allowed here.", QUERY, 405)
    item = _find(ctx, head.key)
    if method == "GET":
        return 200, {"@odata.context": f"{context}/$entity", **_show(item)}, {}
    if method == "DELETE":
        require_customizer(ctx)
        _delete(ctx, item)
        return 204, None, {}
    raise bad(f"The HTTP method {method} is not allowed here.", QUERY, 405)


api.RESOURCES["RelationshipDefinitions"] = _handle
