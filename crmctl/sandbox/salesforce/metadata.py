"""The Metadata API over SOAP: `POST /services/Soap/m/{version}`.

Operations: listMetadata, readMetadata, retrieve + checkRetrieveStatus, deploy +
checkDeployStatus, in Salesforce's envelopes (SessionHeader in, a
LimitInfoHeader out, `soapenv:Fault` with `sf:CODE` on errors, HTTP 500).
A retrieve answers the org's components as stored (`catalog`). A deploy is
queued: its id comes back at once and it runs in the background, one deploy
at a time; checkDeployStatus reports it Pending while it waits its turn,
InProgress while it runs, then its result (per component with
includeDetails). Status
checks answer "not done" at least `asyncPolls` times (a setting), so
clients exercise their polling.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape

from crmctl.kinds.standard import STANDARD_OBJECTS
from crmctl.sandbox.salesforce import catalog, components, mdxml, state
from crmctl.sandbox.salesforce.api import Caller, SalesforceFault, authorise, check_version
from crmctl.sandbox.salesforce.deploy import run_deploy
from crmctl.sandbox.salesforce.ids import metadata_id, sf_id
from crmctl.sandbox.server import Request, Route

__all__ = ["routes", "deploy_queue"]

_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_QUEUES: dict[int, threading.Lock] = {}  # per org: one deploy at a time, the others wait
_QUEUES_LOCK = threading.Lock()


def deploy_queue(store: object) -> threading.Lock:
    """The lock a deploy holds while it runs in `store`'s org (held: later deploys wait)."""
    with _QUEUES_LOCK:
        return _QUEUES.setdefault(id(store), threading.Lock())


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
        f'<soapenv:Envelope xmlns:soapenv="{_SOAP}" xmlns="{mdxml.NS}" xmlns:sf="{mdxml.NS}" '
        f'xmlns:xsi="{_XSI}">{header}<soapenv:Body>{content}</soapenv:Body></soapenv:Envelope>'
    ).encode()


def _soap(request: Request) -> Response:
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    caller = None
    try:
        check_version("v" + request.params["version"])
        try:
            root = mdxml.parse(request.raw)
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


def _file_properties(
    parent: ET.Element, tag: str, type_name: str, full_name: str, by: str, at: str
) -> None:
    element = _add(parent, tag)
    for key, value in (
        ("createdById", sf_id("User", by)), ("createdByName", by), ("createdDate", at),
        ("fileName", components.file_name(type_name, full_name)), ("fullName", full_name),
        ("id", "" if by == "Salesforce" else metadata_id(type_name, full_name)),
        ("lastModifiedById", sf_id("User", by)), ("lastModifiedByName", by),
        ("lastModifiedDate", at), ("manageableState", "unmanaged"), ("type", type_name),
    ):  # fmt: skip
        _add(element, key, value)


_STANDARD_AT = "2000-01-01T00:00:00.000Z"


def _list_metadata(request: Request, caller: Caller, operation: ET.Element) -> ET.Element:
    caller.require_view_setup("listMetadata")
    types = [mdxml.text(q, "type") or "" for q in operation.findall("queries")]
    if len(types) > 3:
        raise SalesforceFault(500, "INVALID_TYPE", "listMetadata takes at most 3 queries")
    org = catalog.org_components(request.store)
    response = ET.Element("listMetadataResponse")
    for type_name in types:
        if type_name not in components.ACCEPTED:
            continue
        listed = {c.full_name.lower() for c in org.values() if c.type == type_name}
        if type_name == "CustomObject":
            for obj in STANDARD_OBJECTS:
                if obj.lower() not in listed:
                    _file_properties(response, "result", type_name, obj, "Salesforce", _STANDARD_AT)
        for component in org.values():
            if component.type == type_name:
                _file_properties(response, "result", type_name, component.full_name,
                                 component.updated_by, component.updated_at)  # fmt: skip
    return response


# --- retrieve --------------------------------------------------------------------------


def _retrieve(request: Request, caller: Caller, operation: ET.Element) -> ET.Element:
    caller.require_admin("the Metadata API")
    retrieve = operation.find("retrieveRequest")
    if retrieve is None:
        retrieve = operation.find("request")
    unpackaged = retrieve.find("unpackaged") if retrieve is not None else None
    if unpackaged is None:
        raise SalesforceFault(
            500,
            "INVALID_CROSS_REFERENCE_KEY",
            "retrieve needs an unpackaged package (packageNames are not supported)",
        )
    members = mdxml.manifest_members(unpackaged)
    org = catalog.org_components(request.store)
    chosen, types, messages = _choose(members, org)
    files = components.assemble((c.type, c.full_name, c.element) for c in chosen.values())
    for container in components.CONTAINERS:
        for obj in types.get(container, []):
            path = components.file_name(container, obj)
            files.setdefault(path, mdxml.document(ET.Element(container)))
    version = mdxml.text(unpackaged, "version") or request.params["version"]
    files["package.xml"] = mdxml.manifest(types, version)
    if mdxml.text(retrieve, "singlePackage") != "true":
        files = {f"unpackaged/{name}": content for name, content in files.items()}
    result = {
        "zipFile": base64.b64encode(mdxml.zip_files(files)).decode("ascii"),
        "messages": messages,
        "fileProperties": [
            (c.type, c.full_name, c.updated_by, c.updated_at) for c in chosen.values()
        ],
    }
    with request.store.transaction() as conn:
        job = state.save_job(conn, "09S", "retrieve", result, request.store.now())
    return _async_result("retrieveResponse", job)


Chosen = dict[tuple[str, str], catalog.OrgComponent]


def _children(org: dict[tuple[str, str], catalog.OrgComponent], obj: str, types: Any) -> Chosen:
    prefix = obj.lower() + "."
    return {key: c for key, c in org.items() if key[0] in types and key[1].startswith(prefix)}


def _choose(
    members: dict[str, list[str]], org: dict[tuple[str, str], catalog.OrgComponent]
) -> tuple[Chosen, dict[str, list[str]], list[tuple[str, str]]]:
    """What a retrieve's manifest names: the components, package.xml's types, messages.

    An object comes with its fields, rules, views …; a standard object (or one the org
    has only fields of) with what the org holds of it. `MatchingRules: Account` is every
    matching rule of Account.
    """
    chosen: Chosen = {}
    types: dict[str, list[str]] = {}
    messages: list[tuple[str, str]] = []
    for type_name, names in members.items():
        if type_name not in components.ACCEPTED:
            messages.append(("package.xml", f"Entity type: '{type_name}' is unknown"))
            continue
        if type_name in components.CONTAINERS:
            child_type = components.CONTAINERS[type_name]
            held = {c.full_name.partition(".")[0] for c in org.values() if c.type == child_type}
            for obj in sorted(held, key=str.lower) if "*" in names else names:
                found = _children(org, obj, (child_type,))
                chosen.update(found)
                if found or "__" not in obj:  # a standard object has one, perhaps empty
                    types.setdefault(type_name, []).append(obj)
                else:
                    messages.append(("package.xml", f"Entity of type '{type_name}' named "
                                                    f"'{obj}' cannot be found"))  # fmt: skip
            continue
        of_type = {key[1]: c for key, c in org.items() if key[0] == type_name}
        for name in list(of_type) if "*" in names else names:
            component = of_type.get(name.lower())
            obj, _, rest = name.partition(".")
            standard = "__" not in obj
            children = (
                _children(org, name, components.CHILD_TYPES) if type_name == "CustomObject" else {}
            )
            if component is None and not children:
                if not (standard and not rest.endswith("__c")):
                    messages.append(("package.xml", f"Entity of type '{type_name}' named "
                                                    f"'{name}' cannot be found"))  # fmt: skip
                continue  # else: a standard object or field the org was never told about
            if component is not None:
                chosen[(type_name, name.lower())] = component
            chosen.update(children)  # an object comes with its fields, rules, views …
            types.setdefault(type_name, []).append(component.full_name if component else name)
    for component in chosen.values():
        types.setdefault(component.type, []).append(component.full_name)
    return chosen, types, messages


# --- readMetadata ----------------------------------------------------------------------

_MAX_READ = 10  # Salesforce reads at most 10 components a call


def _read_metadata(request: Request, caller: Caller, operation: ET.Element) -> ET.Element:
    """The components' XML as a retrieve gives it; an object comes with its fields, rules …"""
    caller.require_admin("the Metadata API")
    type_name = mdxml.text(operation, "type") or ""
    names = [(n.text or "").strip() for n in operation.findall("fullNames")]
    if len(names) > _MAX_READ:
        raise SalesforceFault(
            500, "INVALID_OPERATION", f"readMetadata takes at most {_MAX_READ} fullNames"
        )
    if type_name not in components.ACCEPTED or type_name in components.CONTAINERS:
        raise SalesforceFault(500, "INVALID_TYPE", f"Unknown type: '{type_name}' for readMetadata")
    org = catalog.org_components(request.store)
    response = ET.Element("readMetadataResponse")
    result = _add(response, "result")
    for name in names:
        record = _add(result, "records")
        record.set("xsi:type", type_name)
        component = org.get((type_name, name.lower()))
        children = (
            _children(org, name, components.CHILD_TYPES) if type_name == "CustomObject" else {}
        )
        if component is None and not children:
            continue  # Salesforce answers an empty record for a name it does not have
        items = list(component.element) if component is not None else []
        items += [c.element for c in children.values()]
        if type_name == "CustomObject":
            items.sort(key=lambda e: e.tag)
        _add(record, "fullName", component.full_name if component is not None else name)
        record.extend(item for item in items if item.tag != "fullName")
    return response


def _async_result(tag: str, job: str) -> ET.Element:
    response = ET.Element(tag)
    result = _add(response, "result")
    _add(result, "done", False)
    _add(result, "id", job)
    _add(result, "state", "Queued")
    return response


def _job(request: Request, operation: ET.Element, kind: str) -> tuple[str, dict[str, Any]]:
    job = mdxml.text(operation, "asyncProcessId") or ""
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
    for type_name, full_name, by, at in found["fileProperties"]:
        _file_properties(result, "fileProperties", type_name, full_name, by, at)
    _add(result, "id", job)
    for file_name, problem in found["messages"]:
        message = _add(result, "messages")
        _add(message, "fileName", file_name)
        _add(message, "problem", problem)
    _add(result, "status", "Succeeded")
    _add(result, "success", True)
    if mdxml.text(operation, "includeZip") != "false":
        _add(result, "zipFile", found["zipFile"])
    return response


# --- deploy ----------------------------------------------------------------------------


def _deploy(request: Request, caller: Caller, operation: ET.Element) -> ET.Element:
    caller.require_admin("the Metadata API")
    options = operation.find("DeployOptions")

    def flag(tag: str, default: bool) -> bool:
        value = mdxml.text(options, tag) if options is not None else None
        return default if value is None else value.strip().lower() == "true"

    try:
        data = base64.b64decode(mdxml.text(operation, "ZipFile") or "", validate=True)
    except (binascii.Error, ValueError):
        raise SalesforceFault(500, "INVALID_ZIP", "ZipFile is not base64") from None
    store = request.store
    with store.transaction() as conn:
        job = state.save_job(conn, "0Af", "deploy", None, store.now())
    worker = threading.Thread(
        target=_run_deploy,
        args=(
            store,
            job,
            caller.principal.username,
            data,
            flag("checkOnly", False),
            flag("rollbackOnError", True),
        ),  # fmt: skip
        name=f"deploy-{job}",
        daemon=True,
    )
    worker.start()
    return _async_result("deployResponse", job)


def _run_deploy(store, job: str, actor: str, data: bytes, check_only: bool, rollback: bool) -> None:
    """Run a queued deploy and record its result (a crash is the deploy's error, not a hang)."""
    try:
        with deploy_queue(store):
            with store.transaction() as conn:
                state.finish_job(conn, job, {"status": "InProgress"})  # its turn: it runs
            result = run_deploy(
                store, actor, data, check_only=check_only, rollback_on_error=rollback
            )
    except Exception as exc:  # noqa: BLE001 - any failure ends the job with an error
        result = {"errorMessage": f"UNKNOWN_EXCEPTION: {type(exc).__name__}: {exc}"}
        result = {**_failed_job(check_only, rollback), **result}
    try:
        with store.transaction() as conn:
            state.finish_job(conn, job, result)
    except Exception:  # noqa: BLE001 - the store was closed under a daemon thread
        pass


def _failed_job(check_only: bool, rollback: bool) -> dict[str, Any]:
    return {
        "checkOnly": check_only, "completedDate": "", "createdDate": "", "startDate": "",
        "errorMessage": None, "numberComponentErrors": 0, "numberComponentsDeployed": 0,
        "numberComponentsTotal": 0, "rollbackOnError": rollback, "status": "Failed",
        "success": False, "componentFailures": [], "componentSuccesses": [],
    }  # fmt: skip


def _check_deploy(request: Request, caller: Caller, operation: ET.Element) -> ET.Element:
    job, found = _job(request, operation, "deploy")
    response = ET.Element("checkDeployStatusResponse")
    result = _add(response, "result")
    if "success" not in found:  # waiting for its turn (Pending), or running (InProgress)
        for tag, value in (
            ("checkOnly", False),
            ("done", False),
            ("id", job),
            ("status", found.get("status", "Pending")),
            ("success", False),
        ):
            _add(result, tag, value)
        return response
    _add(result, "checkOnly", found["checkOnly"])
    _add(result, "completedDate", found["completedDate"])
    _add(result, "createdBy", sf_id("User", caller.principal.username))
    _add(result, "createdByName", caller.principal.username)
    _add(result, "createdDate", found["createdDate"])
    if mdxml.text(operation, "includeDetails") == "true":
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
    "readMetadata": _read_metadata,
    "retrieve": _retrieve,
    "checkRetrieveStatus": _check_retrieve,
    "deploy": _deploy,
    "checkDeployStatus": _check_deploy,
}


def routes() -> list[Route]:
    # The session id travels inside the SOAP envelope, so the body is read before it is
    # checked; a deploy's zip can be large, so this public route takes the server's limit.
    # The login answer names the endpoint with the org id after the version
    # (/services/Soap/m/61.0/00D…); Salesforce ignores what follows the version, and
    # simple-salesforce posts to …/{version}/deployRequest/{id}.
    # zeep (simple-salesforce's SOAP client) posts to …/{version}/ with a trailing slash.
    routes = []
    for pattern in (
        "/services/Soap/m/{version}",
        "/services/Soap/m/{version}/{org}",
        "/services/Soap/m/{version}/{org}/{rest}",
    ):
        route = Route("POST", pattern, _soap, auth=False, json_body=False, public_body=True)
        route.regex = re.compile(route.regex.pattern.removesuffix("$") + "/?$")
        routes.append(route)
    return routes
