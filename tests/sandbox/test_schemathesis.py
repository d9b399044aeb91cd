"""Property-based: generated requests against the served OpenAPI document over real HTTP.

Strict: no answer may be a 5xx; every answer must match the document (status,
content type, headers, body schema); and every request the document calls
valid (positive data) must be accepted, except where the refusal depends on
the CRM's state, which no schema can describe:

- 412 PRECONDITION_FAILED: an If-Match (or batch ifMatch) that is not the
  item's current version;
- 400 INVALID_SPEC with details.stage "references": a spec checked against
  the live configuration (an object, field, role or permission set that does
  not exist, a formula naming an unknown field);
- on /api/v1/records: 400 VALIDATION_FAILED (the record against the object's
  configured fields and rules) and 400 INVALID_QUERY naming a field
  (details.field: a field the object does not have, or a value its type
  cannot hold).

Schemathesis' defaults already accept 401, 403, 404 and 409 for the same
reason. Any other 4xx to positive data means the document is looser than the
server: fix one of them. The fault endpoints are left out: they would make the
server misbehave on purpose.

Hypothesis drives schemathesis' strategies directly: schemathesis' own pytest
plugin does not work with pytest 9 (it reads a node attribute pytest removed).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
import requests

from crmctl.sandbox import SandboxStore, start_server
from crmctl.sandbox.apidoc import document
from tests.sandbox.conftest import org_operations

# One worker runs this whole module (`--dist loadgroup`): schemathesis and hypothesis are
# imported, and the schema loaded, there only, at the first test (not while collecting).
pytestmark = pytest.mark.xdist_group("schemathesis")

DOCUMENT = document()


@cache
def _schema() -> Any:
    import schemathesis

    return schemathesis.openapi.from_dict(DOCUMENT)


def _refused_for_state(path: str, response: Any) -> bool:
    """Whether a refusal of positive data depends on the CRM's state (see the module doc)."""
    if response.status_code not in (400, 412):
        return False
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return False
    code, details = error.get("code"), error.get("details") or {}
    if response.status_code == 412:
        return code == "PRECONDITION_FAILED"
    if code == "INVALID_SPEC":
        return details.get("stage") == "references"
    if path.startswith("/api/v1/records/"):
        return code == "VALIDATION_FAILED" or (code == "INVALID_QUERY" and "field" in details)
    return False


def positive_data_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    """Schemathesis' positive_data_acceptance, less the refusals the CRM's state explains."""
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    if _refused_for_state(case.operation.path, response):
        return None
    return positive_data_acceptance(ctx, response, case)


@cache
def _checks() -> list[Any]:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    return [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        positive_data_accepted,
    ]


OPERATIONS = [
    (path, method, mode)
    for path, item in DOCUMENT["paths"].items()
    if path != "/api/v1/admin/faults"
    for method, operation in item.items()
    if method != "parameters"
    for mode in ("positive", "negative")  # schemathesis' GenerationMode values
    # Negative cases need something to get wrong: parameters or a body.
    if mode == "positive"
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
    ids=[f"{m.upper()} {p} {mode}" for p, m, mode in OPERATIONS],
)
def test_the_api_conforms_to_its_document(
    served: tuple[str, str], path: str, method: str, mode: str
) -> None:
    from hypothesis import HealthCheck, given, settings
    from schemathesis import GenerationMode

    # `conforms` is worded as before the imports were made lazy: with derandomize=True its
    # source seeds the examples, so the same text keeps the same generated requests.
    url, token = served
    mode = GenerationMode(mode)
    CHECKS = _checks()  # noqa: N806
    strategy = _schema()[path][method.upper()].as_strategy(generation_mode=mode)

    @given(case=strategy)
    @settings(
        max_examples=20 if mode is GenerationMode.POSITIVE else 8,
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


#: A value for each path parameter, so that every documented path names something real.
_PARAMETERS = {
    "kind": "Role",
    "name": "CEO",
    "object": "Invoice__c",
    "id": "a00000000000001",
    "write_id": "w1",
}
PATHS = [path for path in DOCUMENT["paths"] if path != "/api/v1/admin/faults"]


@pytest.mark.parametrize("path", PATHS)
def test_trace_is_405_with_exactly_the_documented_methods(
    served: tuple[str, str], path: str
) -> None:
    url, token = served
    concrete = re.sub(r"\{(\w+)\}", lambda m: _PARAMETERS[m.group(1)], path)
    response = requests.request(
        "TRACE", f"{url}{concrete}", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    documented = sorted(m.upper() for m in DOCUMENT["paths"][path] if m != "parameters")
    assert response.status_code == 405
    assert response.headers["Allow"] == ", ".join(documented)
    assert response.json()["error"] == {
        "code": "METHOD_NOT_ALLOWED",
        "message": f"TRACE is not allowed on {concrete}",
        "details": {"allowed": documented},
    }
