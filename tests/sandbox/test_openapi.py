"""The OpenAPI document: served, valid, and in step with the routes and the kinds."""

from __future__ import annotations

import json
from importlib import resources

from openapi_spec_validator import validate

from crmctl.kinds import KINDS
from crmctl.sandbox.apidoc import ITEM_TEMPLATE, document, item_path
from crmctl.sandbox.server import default_routes
from crmctl.schemas import kind_schema
from tests.sandbox.conftest import Sandbox

DOCUMENT = document()
TEMPLATE = json.loads(resources.files("crmctl.sandbox").joinpath("openapi.json").read_text())


def test_the_document_is_served_without_a_token(sandbox: Sandbox) -> None:
    response = sandbox.client(None).get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == DOCUMENT


def test_the_document_is_valid_openapi() -> None:
    validate(DOCUMENT)
    validate(TEMPLATE)  # openapi.json on its own is a (looser) valid document too
    assert DOCUMENT["openapi"] == "3.1.0"


def test_every_route_is_documented_and_every_documented_operation_is_routed() -> None:
    routed = {(r.method, r.pattern) for r in default_routes() if r.pattern.startswith("/api/v1/")}
    per_kind = {item_path(kind): ITEM_TEMPLATE for kind in KINDS}
    documented = {
        (method.upper(), per_kind.get(path, path))
        for path, item in DOCUMENT["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert routed == documented


def test_each_kind_has_its_items_path_with_its_own_name_and_spec_schema() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    assert ITEM_TEMPLATE not in DOCUMENT["paths"]
    for kind in KINDS:
        item = DOCUMENT["paths"][item_path(kind)]
        assert set(item) == {"parameters", "get", "put", "delete"}
        name = kind_schema(kind)["properties"]["metadata"]["properties"]["name"]
        assert schemas[f"{kind}Name"]["pattern"] == name["pattern"]
        body = item["put"]["requestBody"]["content"]["application/json"]["schema"]
        assert body["properties"]["spec"] == {"$ref": f"#/components/schemas/{kind}Spec"}
        spec = schemas[f"{kind}Spec"]
        assert spec["required"] == kind_schema(kind)["properties"]["spec"].get("required", [])
        assert "urn:crmctl" not in json.dumps(spec)  # common.json's parts are in components


def test_public_operations_are_exactly_the_routes_without_auth() -> None:
    public = {
        path
        for path, item in DOCUMENT["paths"].items()
        for method, operation in item.items()
        if method != "parameters" and operation.get("security") == []
    }
    # Only the sandbox's own API: the Salesforce-compatible routes under /services are a
    # separate API, in Salesforce's shapes, documented by Salesforce (crmctl.sandbox.salesforce).
    assert public == {
        r.pattern for r in default_routes() if not r.auth and r.pattern.startswith("/api/v1/")
    }


def test_the_kinds_are_the_manifest_kinds() -> None:
    assert DOCUMENT["components"]["schemas"]["Kind"]["enum"] == list(KINDS)
