"""The Metadata API over SOAP: `POST /services/Soap/m/{version}`.

Operations: listMetadata, retrieve + checkRetrieveStatus, deploy +
checkDeployStatus, in Salesforce's envelopes (SessionHeader in, a
LimitInfoHeader out, `soapenv:Fault` with `sf:CODE` on errors, HTTP 500).
Retrieves and deploys run at once; their status checks answer "not done"
`asyncPolls` times first (a setting), so clients exercise their polling.
"""

from __future__ import annotations

import base64
import binascii
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape

from crmctl.kinds.standard import STANDARD_OBJECTS
from crmctl.model import Resource
from crmctl.providers.salesforce import metadata_xml as mx
from crmctl.providers.salesforce import package
from crmctl.sandbox.salesforce import state
from crmctl.sandbox.salesforce.api import Caller, SalesforceFault, authorise, check_version
from crmctl.sandbox.salesforce.deploy import run_deploy
from crmctl.sandbox.salesforce.sobjects import sf_id
from crmctl.sandbox.server import Request, Route

__all__ = ["routes"]

_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_SUPPORTED = ("CustomObject", "CustomField", "ValidationRule", "PermissionSet", "Role",
              "DuplicateRule", "MatchingRule", "GlobalValueSet")  # fmt: skip
Response = tuple[int, Any, dict[str, str]]


def _add(parent: ET.Element, tag: str, value: Any = None) -> ET.Element:
    element = ET.SubElement(parent, tag)
    if isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = str(value)
    return element


def _envelope(
    body: ET.Element | None, caller: Caller | None, fault: SalesforceFault | None = None
) -> bytes:
    header = ""
    if caller is not None:
        header = (
            "<soapenv:Header><LimitInfoHeader><limitInfo>"
            f"<current>{caller.used}</current><limit>{caller.limit}</limit>"
            "<type>API REQUESTS</type></limitInfo></LimitInfoHeader></soapenv:Header>"
        )
    if fault is not None:
        content = (
            f"<soapenv:Fault><faultcode>sf:{escape(fault.code)}</faultcode>"
            f"<faultstring>{escape(fault.code)}: {escape(fault.message)}</faultstring></soapenv:Fault>"
        )
    else:
        assert body is not None
        content = ET.tostring(body, encoding="unicode")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{_SOAP}" xmlns="{mx.NS}" xmlns:sf="{mx.NS}" '
        f'xmlns:xsi="{_XSI}">{header}<soapenv:Body>{content}</soapenv:Body></soapenv:Envelope>'
    ).encode()


def _soap(request: Request) -> Response:
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    caller = None
    try:
        check_version("v" + request.params["version"])
        try:
            root = mx.parse(request.raw)
        except ET.ParseError:
            raise SalesforceFault(
                500, "INVALID_XML", "the request is not well-formed XML"
            ) from None
        session = root.find("Header/SessionHeader/sessionId")
        body = root.find("Body")
        operation = body[0] if body is not None and len(body) else None
        if operation is None or operation.tag not in _OPERATIONS:
            name = operation.tag if operation is not None else "(none)"
            raise SalesforceFault(
                500, "INVALID_OPERATION", f"No operation available for request {name}"
            )
        caller = authorise(request, session.text if session is not None else None)
        headers["Sforce-Limit-Info"] = f"api-usage={caller.used}/{caller.limit}"
        response = _OPERATIONS[operation.tag](request, caller, operation)
        return 200, _envelope(response, caller), headers
    except SalesforceFault as fault:
        headers.update(fault.headers)
        return 500, _envelope(None, caller, fault), headers


# --- listMetadata ----------------------------------------------------------------------


def _listed(items: list[dict[str, Any]], type_name: str) -> list[tuple[str, str, dict | None]]:
    """(fullName, fileName, store item) of every component of a type."""
    kind = package.KIND_OF.get(type_name)
    out: list[tuple[str, str, dict | None]] = []
    if type_name == "CustomObject":
        out += [(o, f"objects/{o}.object", None) for o in STANDARD_OBJECTS]
    for item in items:
        if item["kind"] != kind:
            continue
        name, obj = item["name"], item["name"].partition(".")[0]
        file_name = {
            "CustomObject": f"objects/{obj}.object",
            "CustomField": f"objects/{obj}.object",
            "ValidationRule": f"objects/{obj}.object",
            "PermissionSet": f"permissionsets/{name}.permissionset",
            "Role": f"roles/{name}.role",
            "DuplicateRule": f"duplicateRules/{name}.duplicateRule",
            "MatchingRule": f"matchingRules/{obj}.matchingRule",
        }[type_name]
        out.append((name, file_name, item))
    return out


def _file_properties(parent: ET.Element, tag: str, type_name: str, entry: tuple) -> None:
    full_name, file_name, item = entry
    element = _add(parent, tag)
    by = (item or {}).get("updatedBy", "Salesforce")
    at = (item or {}).get("updatedAt", "2000-01-01T00:00:00.000Z")
    for key, value in (
        ("createdById", sf_id("User", by)), ("createdByName", by), ("createdDate", at),
        ("fileName", file_name), ("fullName", full_name), ("id", sf_id("Profile", f"{type_name}/{full_name}")),
        ("lastModifiedById", sf_id("User", by)), ("lastModifiedByName", by),
        ("lastModifiedDate", at), ("manageableState", "unmanaged"), ("type", type_name),
    ):  # fmt: skip
        _add(element, key, value)


def _list_metadata(request: Request, caller: Caller, operation: ET.Element) -> ET.Element:
    caller.require_view_setup("listMetadata")
    types = [mx.text(q, "type") or "" for q in mx.children(operation, "queries")]
    if len(types) > 3:
        raise SalesforceFault(500, "INVALID_TYPE", "listMetadata takes at most 3 queries")
    items = request.store.list_all_config()
    response = ET.Element("listMetadataResponse")
    for type_name in types:
        if type_name in _SUPPORTED:
            for entry in _listed(items, type_name):
                _file_properties(response, "result", type_name, entry)
    return response


# --- retrieve --------------------------------------------------------------------------


def _retrieve(request: Request, caller: Caller, operation: ET.Element) -> ET.Element:
    caller.require_admin("the Metadata API")
    retrieve = mx.child(operation, "retrieveRequest")
    unpackaged = mx.child(retrieve, "unpackaged") if retrieve is not None else None
    if unpackaged is None:
        raise SalesforceFault(
            500,
            "INVALID_CROSS_REFERENCE_KEY",
            "retrieve needs an unpackaged package (packageNames are not supported)",
        )
    members = mx.package_members(unpackaged)
    items = request.store.list_all_config()
    chosen: dict[str, Resource] = {}
    properties: list[tuple[str, tuple]] = []
    messages: list[tuple[str, str]] = []
    for type_name, names in members.items():
        if type_name not in _SUPPORTED:
            messages.append(("package.xml", f"Entity type: '{type_name}' is unknown"))
            continue
        listed = {e[0].lower(): e for e in _listed(items, type_name)}
        wanted = [e[0] for e in listed.values() if e[2] is not None] if "*" in names else names
        for name in wanted:
            entry = listed.get(name.lower())
            obj, _, rest = name.partition(".")
            if entry is None and obj in STANDARD_OBJECTS and not rest.endswith("__c"):
                continue  # a standard object or field: Salesforce's own, not kept by the sandbox
            if entry is None:
                messages.append(
                    ("package.xml", f"Entity of type '{type_name}' named '{name}' cannot be found")
                )
                continue
            if entry[2] is not None:
                item = entry[2]
                chosen[f"{item['kind']}/{item['name']}"] = Resource(
                    item["kind"], item["name"], item["spec"]
                )
                properties.append((type_name, entry))
    zip_bytes = package.retrieve_zip(chosen.values(), version=request.params["version"])
    result = {
        "zipFile": base64.b64encode(zip_bytes).decode("ascii"),
        "messages": messages,
        "fileProperties": [(t, list(e[:2])) for t, e in properties],
    }
    with request.store.transaction() as conn:
        job = state.save_job(conn, "09S", "retrieve", result, request.store.now())
    return _async_result("retrieveResponse", job)


def _async_result(tag: str, job: str) -> ET.Element:
    response = ET.Element(tag)
    result = _add(response, "result")
    _add(result, "done", False)
    _add(result, "id", job)
    _add(result, "state", "Queued")
    return response


def _job(request: Request, operation: ET.Element, kind: str) -> tuple[str, dict[str, Any]]:
    job = mx.text(operation, "asyncProcessId") or ""
    with request.store.transaction() as conn:
        found = state.take_job(conn, job, kind)
    if found is None:
        raise SalesforceFault(500, "INVALID_ID_FIELD", f"Invalid id: {job}")
    return job, found


def _check_retrieve(request: Request, caller: Caller, operation: ET.Element) -> ET.Element:
    job, found = _job(request, operation, "retrieve")
    response = ET.Element("checkRetrieveStatusResponse")
    result = _add(response, "result")
    if not found:
        _add(result, "done", False)
        _add(result, "id", job)
        _add(result, "status", "InProgress")
        _add(result, "success", False)
        return response
    _add(result, "done", True)
    for type_name, (full_name, file_name) in found["fileProperties"]:
        _file_properties(result, "fileProperties", type_name, (full_name, file_name, None))
    _add(result, "id", job)
    for file_name, problem in found["messages"]:
        message = _add(result, "messages")
        _add(message, "fileName", file_name)
        _add(message, "problem", problem)
    _add(result, "status", "Succeeded")
    _add(result, "success", True)
    if mx.text(operation, "includeZip") != "false":
        _add(result, "zipFile", found["zipFile"])
    return response


# --- deploy ----------------------------------------------------------------------------


def _deploy(request: Request, caller: Caller, operation: ET.Element) -> ET.Element:
    caller.require_admin("the Metadata API")
    options = mx.child(operation, "DeployOptions")
    flag = (
        (lambda tag, default: (mx.text(options, tag) or str(default)).lower() == "true")
        if options is not None
        else (lambda tag, default: default)
    )
    try:
        data = base64.b64decode(mx.text(operation, "ZipFile") or "", validate=True)
    except (binascii.Error, ValueError):
        raise SalesforceFault(500, "INVALID_ZIP", "ZipFile is not base64") from None
    result = run_deploy(
        request.store,
        caller.principal.username,
        data,
        check_only=flag("checkOnly", False),
        rollback_on_error=flag("rollbackOnError", True),
    )
    with request.store.transaction() as conn:
        job = state.save_job(conn, "0Af", "deploy", result, request.store.now())
    return _async_result("deployResponse", job)


def _check_deploy(request: Request, caller: Caller, operation: ET.Element) -> ET.Element:
    job, found = _job(request, operation, "deploy")
    response = ET.Element("checkDeployStatusResponse")
    result = _add(response, "result")
    if not found:
        for tag, value in (
            ("checkOnly", False),
            ("done", False),
            ("id", job),
            ("status", "InProgress"),
            ("success", False),
        ):
            _add(result, tag, value)
        return response
    _add(result, "checkOnly", found["checkOnly"])
    _add(result, "completedDate", found["completedDate"])
    _add(result, "createdBy", sf_id("User", caller.principal.username))
    _add(result, "createdByName", caller.principal.username)
    _add(result, "createdDate", found["createdDate"])
    if mx.text(operation, "includeDetails") == "true":
        details = _add(result, "details")
        for tag in ("componentFailures", "componentSuccesses"):
            for message in found[tag]:
                element = _add(details, tag)
                for key in sorted(message):
                    _add(element, key, message[key])
    _add(result, "done", True)
    if found["errorMessage"]:
        _add(result, "errorMessage", found["errorMessage"])
        _add(result, "errorStatusCode", "UNKNOWN_EXCEPTION")
    _add(result, "id", job)
    _add(result, "ignoreWarnings", False)
    _add(result, "lastModifiedDate", found["completedDate"])
    for key in ("numberComponentErrors", "numberComponentsDeployed", "numberComponentsTotal"):
        _add(result, key, found[key])
    for key in ("numberTestErrors", "numberTestsCompleted", "numberTestsTotal"):
        _add(result, key, 0)
    _add(result, "rollbackOnError", found["rollbackOnError"])
    _add(result, "runTestsEnabled", False)
    _add(result, "startDate", found["startDate"])
    _add(result, "status", found["status"])
    _add(result, "success", found["success"])
    return response


_OPERATIONS: dict[str, Callable[[Request, Caller, ET.Element], ET.Element]] = {
    "listMetadata": _list_metadata,
    "retrieve": _retrieve,
    "checkRetrieveStatus": _check_retrieve,
    "deploy": _deploy,
    "checkDeployStatus": _check_deploy,
}


def routes() -> list[Route]:
    # The session id travels inside the SOAP envelope, so the body is read before it is
    # checked; a deploy's zip can be large, so this public route takes the server's limit.
    return [
        Route(
            "POST",
            "/services/Soap/m/{version}",
            _soap,
            auth=False,
            json_body=False,
            public_body=True,
        )
    ]
