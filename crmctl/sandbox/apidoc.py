"""The sandbox's OpenAPI document as served: openapi.json plus each kind's own schemas.

`openapi.json` describes every endpoint. Its configuration item path,
`/api/v1/config/{kind}/{name}`, is a template: the name pattern and the spec
schema differ per kind, and a request body cannot depend on a path
parameter. So the served document has one path per kind
(`/api/v1/config/Role/{name}` …), each with the kind's name pattern and spec
schema taken from crmctl's kind schemas (`schemas/kinds/<Kind>.json`, the
same schemas the server validates with), and a batch operation is one of
"delete" or a "put" of one kind with that kind's name and spec. The kind
schemas are read when the document is built, so the two cannot drift apart.

What the document cannot say is what depends on the CRM's state: a
reference to an item that does not exist, a formula naming an unknown
field (400 INVALID_SPEC with details.stage "references"), a stale If-Match
(412), a name in use in another case or an item still in use (409).
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from typing import Any

from crmctl.schemas import KINDS, dialect_schema, schema_dir

__all__ = ["document", "document_bytes", "ITEM_TEMPLATE", "item_path"]

#: The path in openapi.json that stands for one path per kind.
ITEM_TEMPLATE = "/api/v1/config/{kind}/{name}"
_COMMON = "urn:crmctl:v1:common#/$defs/"


def item_path(kind: str) -> str:
    """The served path of a kind's items, e.g. /api/v1/config/Role/{name}."""
    return f"/api/v1/config/{kind}/{{name}}"


def _common_name(definition: str) -> str:
    return "Common" + definition[:1].upper() + definition[1:]


def _rewrite(node: Any) -> Any:
    """A kind schema fragment with its references to common.json pointing into components."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(_COMMON):
                value = f"#/components/schemas/{_common_name(value[len(_COMMON) :])}"
            out[key] = _rewrite(value)
        return out
    if isinstance(node, list):
        return [_rewrite(v) for v in node]
    return node


def _name_schema(kind: str) -> dict[str, Any]:
    """Every rule a name of the kind must meet: common.json's and the kind's own."""
    common = json.loads((schema_dir() / "common.json").read_text(encoding="utf-8"))
    base = common["$defs"]["metadata"]["properties"]["name"]
    own = dialect_schema(kind)["properties"]["metadata"]["properties"]["name"]
    merged = {**base, **own}
    merged.pop("x-message", None)
    merged["description"] = f"The {kind}'s name, exact (case-sensitive): {own['x-message']}."
    return merged


def _kind_parts(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    common = json.loads((schema_dir() / "common.json").read_text(encoding="utf-8"))
    for definition, schema in common["$defs"].items():
        schemas[_common_name(definition)] = _rewrite(schema)
    for kind in KINDS:
        spec = _rewrite(copy.deepcopy(dialect_schema(kind)["properties"]["spec"]))
        spec["description"] = (
            f"A {kind}'s spec as in a manifest (crmctl's schemas/kinds/{kind}.json). Read back "
            "in canonical form (defaults filled in, order-free lists sorted)."
        )
        schemas[f"{kind}Spec"] = spec
        schemas[f"{kind}Name"] = _name_schema(kind)


def _item_paths(doc: dict[str, Any]) -> None:
    paths = doc["paths"]
    template = paths.pop(ITEM_TEMPLATE)
    expanded = {}
    for kind in KINDS:
        item = copy.deepcopy(template)
        item["parameters"] = [
            {
                "name": "name",
                "in": "path",
                "required": True,
                "schema": {"$ref": f"#/components/schemas/{kind}Name"},
            }
        ]
        for method, operation in item.items():
            if method == "parameters":
                continue
            operation["operationId"] = f"{operation['operationId']}{kind}"
            operation["tags"] = [kind]
            body = operation.get("requestBody")
            if body is not None:
                body["content"]["application/json"]["schema"] = {
                    "type": "object",
                    "required": ["spec"],
                    "properties": {"spec": {"$ref": f"#/components/schemas/{kind}Spec"}},
                }
        expanded[item_path(kind)] = item
    # Keep the document's order: the kinds' paths where the template was.
    ordered: dict[str, Any] = {}
    for path, item in paths.items():
        ordered[path] = item
        if path == "/api/v1/config/{kind}":
            ordered.update(expanded)
    if len(ordered) == len(paths):
        ordered.update(expanded)
    doc["paths"] = ordered


def _batch_operation(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    template = schemas["BatchOperation"]
    if_match = template["properties"]["ifMatch"]
    delete = {
        "type": "object",
        "required": ["op", "kind", "name"],
        "properties": {
            "op": {"const": "delete"},
            "kind": {"$ref": "#/components/schemas/Kind"},
            "name": {"type": "string", "minLength": 1},
            "ifMatch": if_match,
        },
    }
    puts = [
        {
            "type": "object",
            "required": ["op", "kind", "name", "spec"],
            "properties": {
                "op": {"const": "put"},
                "kind": {"const": kind},
                "name": {"$ref": f"#/components/schemas/{kind}Name"},
                "spec": {"$ref": f"#/components/schemas/{kind}Spec"},
                "ifMatch": if_match,
            },
        }
        for kind in KINDS
    ]
    schemas["BatchOperation"] = {
        "description": "A delete (of any name), or a put carrying its kind's name and spec.",
        "oneOf": [delete, *puts],
    }


@cache
def document_bytes() -> bytes:
    """The served document, as JSON."""
    return json.dumps(document(), ensure_ascii=False, indent=1).encode("utf-8")


def document() -> dict[str, Any]:
    """The served OpenAPI document (a new copy each call)."""
    doc = json.loads(resources.files("crmctl.sandbox").joinpath("openapi.json").read_text())
    _kind_parts(doc)
    _item_paths(doc)
    _batch_operation(doc)
    _early_refusals(doc)
    return doc


_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def _early_refusals(doc: dict[str, Any]) -> None:
    """Every operation may be refused before it is routed: a request line or headers too long."""
    for item in doc["paths"].values():
        for method in _METHODS:
            if method in item:
                responses = item[method].setdefault("responses", {})
                responses.setdefault("414", {"$ref": "#/components/responses/UriTooLong"})
                responses.setdefault("431", {"$ref": "#/components/responses/HeadersTooLarge"})
