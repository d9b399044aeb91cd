"""Property-based: generated requests against the OpenAPI document over real HTTP.

No answer may be a 5xx, and every answer must match the document (status,
content type, headers, body schema). The fault endpoints are left out: they
would make the server misbehave on purpose.

Hypothesis drives schemathesis' strategies directly: schemathesis' own pytest
plugin does not work with pytest 9 (it reads a node attribute pytest removed).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from crmctl.sandbox import SandboxStore, start_server
from tests.sandbox.conftest import org_operations

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

DOCUMENT = json.loads(resources.files("crmctl.sandbox").joinpath("openapi.json").read_text())
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
OPERATIONS = [
    (path, method, mode)
    for path, item in DOCUMENT["paths"].items()
    if path != "/api/v1/admin/faults"
    for method, operation in item.items()
    if method != "parameters"
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    # Negative cases need something to get wrong: parameters or a body.
    if mode is GenerationMode.POSITIVE
    or operation.get("parameters")
    or item.get("parameters")
    or operation.get("requestBody")
]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    store = SandboxStore.open(tmp_path_factory.mktemp("schemathesis") / "sandbox.db")
    token = store.initialise()
    store.batch(org_operations(), "setup")
    server = start_server(store)
    yield server.url, token
    server.stop()
    store.close()


@pytest.mark.parametrize(
    ("path", "method", "mode"),
    OPERATIONS,
    ids=[f"{m.upper()} {p} {mode.value}" for p, m, mode in OPERATIONS],
)
def test_the_api_conforms_to_its_document(
    served: tuple[str, str], path: str, method: str, mode: GenerationMode
) -> None:
    url, token = served
    strategy = SCHEMA[path][method.upper()].as_strategy(generation_mode=mode)

    @given(case=strategy)
    @settings(
        max_examples=20,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def conforms(case) -> None:
        case.call_and_validate(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS
        )

    conforms()
