"""The sandbox's users, roles and permission sets as Salesforce sObjects, over REST.

    GET    /services/data/vNN.0/query?q=SOQL          (Sforce-Query-Options: batchSize=N)
    GET    /services/data/vNN.0/query/{locator}-{n}    the next page (nextRecordsUrl)
    GET    /services/data/vNN.0/sobjects/{type}/{id}
    POST   /services/data/vNN.0/sobjects/{type}        User, PermissionSetAssignment
    PATCH  /services/data/vNN.0/sobjects/User/{id}
    DELETE /services/data/vNN.0/sobjects/PermissionSetAssignment/{id}
    POST|PATCH|DELETE /services/data/vNN.0/composite/sobjects   up to 200, allOrNone

The rows are views of the store's configuration: a User item is a User (its
`permissionSets` are PermissionSetAssignment rows), a Role a UserRole, a
PermissionSet a PermissionSet. Writes become store batch operations, so the
sandbox's rules apply; ids are derived from names and stable.
"""

from __future__ import annotations

import copy
import hashlib
import re
import secrets
import threading
from collections import OrderedDict
from typing import Any

from crmctl.sandbox.db import SandboxError
from crmctl.sandbox.salesforce import soql
from crmctl.sandbox.salesforce.api import Caller, SalesforceFault, rest
from crmctl.sandbox.server import Request, Route

__all__ = ["routes", "sf_id", "SCHEMA", "PROFILES"]

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_PREFIX = {"User": "005", "UserRole": "00E", "PermissionSet": "0PS",
           "PermissionSetAssignment": "0Pa", "Profile": "00e"}  # fmt: skip
PROFILES = ("System Administrator", "Standard User")
_USER_FIELDS = ("Id", "Username", "Email", "FirstName", "LastName", "Name", "IsActive",
                "UserRoleId", "ProfileId", "UserType", "Alias", "TimeZoneSidKey",
                "LocaleSidKey", "LanguageLocaleKey", "EmailEncodingKey")  # fmt: skip
_USER_REQUIRED = ("Username", "LastName", "Email", "Alias", "TimeZoneSidKey", "LocaleSidKey",
                  "EmailEncodingKey", "ProfileId", "LanguageLocaleKey")  # fmt: skip
_USER_WRITABLE = frozenset(_USER_REQUIRED) | {"FirstName", "IsActive", "UserRoleId"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

#: What SOQL may ask for: field -> None, or the parent sObject of a relationship.
SCHEMA: dict[str, dict[str, str | None]] = {
    "User": {**dict.fromkeys(_USER_FIELDS), "UserRole": "UserRole", "Profile": "Profile"},
    "UserRole": dict.fromkeys(("Id", "Name", "DeveloperName", "ParentRoleId")),
    "PermissionSet": dict.fromkeys(
        ("Id", "Name", "Label", "Description", "IsOwnedByProfile", "IsCustom")
    ),
    "PermissionSetAssignment": {
        **dict.fromkeys(("Id", "AssigneeId", "PermissionSetId")),
        "Assignee": "User",
        "PermissionSet": "PermissionSet",
    },
    "Profile": dict.fromkeys(("Id", "Name")),
}
_WRITABLE_TYPES = ("User", "PermissionSetAssignment")


def _to18(id15: str) -> str:
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << i for i, c in enumerate(id15[start : start + 5]) if c.isupper())
        suffix += _SUFFIX[bits]
    return id15 + suffix


def sf_id(sobject: str, key: str) -> str:
    """The stable 18-character id of a row (derived from its name)."""
    number = int.from_bytes(hashlib.sha1(key.lower().encode()).digest()[:10], "big")
    body = ""
    for _ in range(12):
        number, digit = divmod(number, 62)
        body += _B62[digit]
    return _to18(_PREFIX[sobject] + body)


def _normal_id(value: Any) -> str | None:
    if not isinstance(value, str) or len(value) not in (15, 18) or not value.isalnum():
        return None
    return _to18(value[:15])


class _Org:
    """The sandbox's configuration as sObject rows, with lookups by id and by name."""

    def __init__(self, store: Any) -> None:
        items = store.list_all_config(["Role", "PermissionSet", "User"])
        self.specs = {(i["kind"], i["name"]): i["spec"] for i in items}
        self.rows: dict[str, list[dict[str, Any]]] = {t: [] for t in SCHEMA}
        self.by_id: dict[str, tuple[str, dict[str, Any]]] = {}
        for name in PROFILES:
            self._add("Profile", {"Id": sf_id("Profile", name), "Name": name})
        roles = {n: s for (k, n), s in self.specs.items() if k == "Role"}
        role_rows = {}
        for name, spec in roles.items():
            parent = spec.get("parent")
            row = {"Id": sf_id("UserRole", name), "Name": spec.get("label", name),
                   "DeveloperName": name,
                   "ParentRoleId": sf_id("UserRole", parent) if parent else None}  # fmt: skip
            role_rows[name] = self._add("UserRole", row)
        sets = {}
        for (kind, name), spec in self.specs.items():
            if kind == "PermissionSet":
                sets[name] = self._add(
                    "PermissionSet",
                    {"Id": sf_id("PermissionSet", name), "Name": name, "Label": spec.get("label"),
                     "Description": spec.get("description"), "IsOwnedByProfile": False,
                     "IsCustom": True},
                )  # fmt: skip
        standard = self.by_id[sf_id("Profile", "Standard User")][1]
        for (kind, name), spec in self.specs.items():
            if kind != "User":
                continue
            role = role_rows.get(spec.get("role") or "")
            first, last = spec.get("firstName"), spec.get("lastName", "")
            user = self._add(
                "User",
                {"Id": sf_id("User", name), "Username": name, "Email": spec.get("email"),
                 "FirstName": first, "LastName": last,
                 "Name": f"{first} {last}" if first else last,
                 "IsActive": bool(spec.get("active", True)),
                 "UserRoleId": role["Id"] if role else None, "UserRole": role,
                 "ProfileId": standard["Id"], "Profile": standard, "UserType": "Standard",
                 "Alias": re.sub(r"[^A-Za-z0-9]", "", name.partition("@")[0])[:8],
                 "TimeZoneSidKey": "GMT", "LocaleSidKey": "en_US", "LanguageLocaleKey": "en_US",
                 "EmailEncodingKey": "UTF-8"},
            )  # fmt: skip
            for ps in spec.get("permissionSets", []):
                ps_row = sets.get(ps)
                self._add(
                    "PermissionSetAssignment",
                    {"Id": sf_id("PermissionSetAssignment", f"{name}|{ps}"),
                     "AssigneeId": user["Id"], "Assignee": user,
                     "PermissionSetId": ps_row["Id"] if ps_row else None,
                     "PermissionSet": ps_row},
                )  # fmt: skip

    def _add(self, sobject: str, row: dict[str, Any]) -> dict[str, Any]:
        self.rows[sobject].append(row)
        self.by_id[row["Id"]] = (sobject, row)
        return row

    def get(self, sobject: str, record_id: Any) -> dict[str, Any] | None:
        found = self.by_id.get(_normal_id(record_id) or "")
        return found[1] if found and found[0] == sobject else None


# --- queries ---------------------------------------------------------------------------

_LOCATORS: OrderedDict[str, tuple[list[dict[str, Any]], int]] = OrderedDict()
_LOCATORS_LOCK = threading.Lock()
_MAX_LOCATORS = 500


def _attributes(sobject: str, version: str, row: dict[str, Any]) -> dict[str, str]:
    return {"type": sobject, "url": f"/services/data/{version}/sobjects/{sobject}/{row['Id']}"}


def _record(
    sobject: str, version: str, row: dict[str, Any], paths: list[list[str]]
) -> dict[str, Any]:
    out: dict[str, Any] = {"attributes": _attributes(sobject, version, row)}
    for path in paths:
        current_type, source, target = sobject, row, out
        for i, part in enumerate(path):
            parent = SCHEMA[current_type][part]
            if i == len(path) - 1:
                value = source.get(part) if source else None
                if parent is not None:  # a relationship selected as a whole: its Id only
                    value = {"attributes": _attributes(parent, version, value), "Id": value["Id"]} if value else None
                target[part] = value
                break
            child = source.get(part) if source else None
            if child is None:
                target[part] = None
                break
            existing = target.get(part)
            if not isinstance(existing, dict):
                existing = target[part] = {"attributes": _attributes(parent, version, child)}
            current_type, source, target = parent, child, existing
    return out


def _page(version: str, records: list[dict[str, Any]], start: int, size: int, locator: str | None) -> dict:
    chunk = records[start : start + size]
    done = start + size >= len(records)
    body: dict[str, Any] = {"totalSize": len(records), "done": done, "records": chunk}
    if not done:
        body["nextRecordsUrl"] = f"/services/data/{version}/query/{locator}-{start + size}"
    return body


def _batch_size(request: Request) -> int:
    found = re.search(r"batchSize\s*=\s*(\d+)", request.headers.get("Sforce-Query-Options") or "")
    return min(max(int(found.group(1)), 200), 2000) if found else 2000


def _query(request: Request, caller: Caller) -> tuple[int, Any, dict[str, str]]:
    text = request.query.get("q")
    if not text:
        raise SalesforceFault(400, "MALFORMED_QUERY", "A query string must be provided (q=)")
    version = request.params["version"]
    try:
        query = soql.parse(text)
        rows, paths = soql.run(query, SCHEMA, _Org(request.store).rows.get(
            next((k for k in SCHEMA if k.lower() == query.sobject.lower()), ""), []))
    except soql.SoqlError as err:
        raise SalesforceFault(400, err.code, err.message) from None
    if query.is_count:
        return 200, {"totalSize": len(rows), "done": True, "records": []}, {}
    records = [_record(query.sobject, version, row, paths) for row in rows]
    size = _batch_size(request)
    locator = None
    if len(records) > size:
        locator = "01g" + secrets.token_hex(8).upper()[:15]
        with _LOCATORS_LOCK:
            _LOCATORS[locator] = (records, size)
            while len(_LOCATORS) > _MAX_LOCATORS:
                _LOCATORS.popitem(last=False)
    return 200, _page(version, records, 0, size, locator), {}


def _query_more(request: Request, caller: Caller) -> tuple[int, Any, dict[str, str]]:
    locator, _, start = request.params["locator"].rpartition("-")
    with _LOCATORS_LOCK:
        found = _LOCATORS.get(locator)
    if found is None or not start.isdigit():
        raise SalesforceFault(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    records, size = found
    return 200, _page(request.params["version"], records, int(start), size, locator), {}


# --- single records ----------------------------------------------------------------------


def _sobject(request: Request) -> str:
    name = request.params["sobject"]
    found = next((k for k in SCHEMA if k.lower() == name.lower()), None)
    if found is None:
        raise SalesforceFault(404, "NOT_FOUND", f"The requested resource does not exist: {name}")
    return found


def _get(request: Request, caller: Caller) -> tuple[int, Any, dict[str, str]]:
    sobject = _sobject(request)
    row = _Org(request.store).get(sobject, request.params["id"])
    if row is None:
        raise SalesforceFault(404, "NOT_FOUND", "The requested resource does not exist")
    paths = [[f] for f, parent in SCHEMA[sobject].items() if parent is None]
    return 200, _record(sobject, request.params["version"], row, paths), {}


def _create_one(request: Request, caller: Caller) -> tuple[int, Any, dict[str, str]]:
    sobject = _sobject(request)
    record = {"attributes": {"type": sobject}, **request.json_object()}
    result = _save(request, caller, "create", [record], all_or_none=True)[0]
    if not result["success"]:
        return 400, [_rest_error(e) for e in result["errors"]], {}
    return 201, {"id": result["id"], "success": True, "errors": []}, {}


def _update_one(request: Request, caller: Caller) -> tuple[int, Any, dict[str, str]]:
    sobject = _sobject(request)
    record = {"attributes": {"type": sobject}, **request.json_object(), "Id": request.params["id"]}
    result = _save(request, caller, "update", [record], all_or_none=True)[0]
    if not result["success"]:
        status = 404 if result["errors"][0]["statusCode"] == "NOT_FOUND" else 400
        return status, [_rest_error(e) for e in result["errors"]], {}
    return 204, None, {}


def _delete_one(request: Request, caller: Caller) -> tuple[int, Any, dict[str, str]]:
    _sobject(request)
    result = _save(request, caller, "delete", [{"Id": request.params["id"]}], all_or_none=True)[0]
    if not result["success"]:
        status = 404 if result["errors"][0]["statusCode"] == "NOT_FOUND" else 400
        return status, [_rest_error(e) for e in result["errors"]], {}
    return 204, None, {}


def _rest_error(error: dict[str, Any]) -> dict[str, Any]:
    return {"message": error["message"], "errorCode": error["statusCode"], "fields": error["fields"]}


# --- collections -------------------------------------------------------------------------


def _collection(request: Request, caller: Caller) -> tuple[int, Any, dict[str, str]]:
    if request.method == "DELETE":
        ids = [i for i in (request.query.get("ids") or "").split(",") if i]
        all_or_none = (request.query.get("allOrNone") or "false").lower() == "true"
        records = [{"Id": i} for i in ids]
        operation = "delete"
    else:
        body = request.json_object()
        records = body.get("records")
        all_or_none = bool(body.get("allOrNone", False))
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise SalesforceFault(400, "JSON_PARSER_ERROR", "records must be a list of sObjects")
        operation = "create" if request.method == "POST" else "update"
    if not records:
        raise SalesforceFault(400, "INVALID_FIELD", "No records were given")
    if len(records) > 200:
        raise SalesforceFault(
            400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call"
        )
    return 200, _save(request, caller, operation, records, all_or_none), {}


def _error(code: str, message: str, fields: list[str] | None = None) -> dict[str, Any]:
    return {"statusCode": code, "message": message, "fields": fields or []}


class _Batch:
    """The store operations a list of records becomes, and which record owns each."""

    def __init__(self, org: _Org) -> None:
        self.org = org
        self.users = {n: dict(s) for (k, n), s in org.specs.items() if k == "User"}
        self.ops: list[dict[str, Any]] = []
        self.owners: list[int] = []

    def put_user(self, index: int, name: str) -> None:
        spec = copy.deepcopy(self.users[name])
        self.ops.append({"op": "put", "kind": "User", "name": name, "spec": spec})
        self.owners.append(index)


def _save(
    request: Request, caller: Caller, operation: str, records: list[dict[str, Any]], all_or_none: bool
) -> list[dict[str, Any]]:
    """Carry out a create/update/delete of records; one SaveResult per record."""
    caller.require_admin("changing users and permission set assignments")
    org = _Org(request.store)
    batch = _Batch(org)
    results: list[dict[str, Any]] = []
    for index, record in enumerate(records):
        try:
            record_id = _apply_record(batch, index, operation, record)
            results.append({"id": record_id, "success": True, "errors": []})
        except SalesforceFault as fault:
            results.append({"id": None, "success": False,
                            "errors": [_error(fault.code, fault.message, fault.fields)]})  # fmt: skip
            if not all_or_none:
                batch.ops = [op for op, owner in zip(batch.ops, batch.owners, strict=True) if owner != index]
                batch.owners = [o for o in batch.owners if o != index]
    failed = {i for i, r in enumerate(results) if not r["success"]}
    if failed and all_or_none:
        return _rolled_back(results)
    while batch.ops:
        try:
            request.store.batch(batch.ops, caller.principal.username)
            break
        except SandboxError as err:
            position = (err.details or {}).get("index")
            owner = batch.owners[position] if isinstance(position, int) and position < len(batch.owners) else 0
            message = re.sub(r"^operations\[\d+\] \([^)]*\): ", "", err.message)
            results[owner] = {"id": None, "success": False,
                              "errors": [_error(_code(err.code), message)]}  # fmt: skip
            if all_or_none:
                return _rolled_back(results)
            keep = [i for i, o in enumerate(batch.owners) if o != owner]
            batch.ops = [batch.ops[i] for i in keep]
            batch.owners = [batch.owners[i] for i in keep]
    return results


def _rolled_back(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    message = ("Record rolled back because not all records were valid and the request was "
               "using AllOrNone header")  # fmt: skip
    return [
        r if not r["success"] else {"id": None, "success": False,
                                    "errors": [_error("ALL_OR_NONE_OPERATION_ROLLED_BACK", message)]}
        for r in results
    ]  # fmt: skip


def _code(store_code: str) -> str:
    return {"NOT_FOUND": "INVALID_CROSS_REFERENCE_KEY", "CONFLICT": "DUPLICATE_VALUE",
            "IN_USE": "DELETE_FAILED"}.get(store_code, "FIELD_INTEGRITY_EXCEPTION")  # fmt: skip


def _type_of(record: dict[str, Any], operation: str, org: _Org) -> str:
    if operation != "create" and "attributes" not in record:
        found = org.by_id.get(_normal_id(record.get("Id")) or "")
        if found is None:
            raise SalesforceFault(404, "NOT_FOUND" if _normal_id(record.get("Id")) else "MALFORMED_ID",
                                  f"invalid or unknown id: {record.get('Id')}")  # fmt: skip
        return found[0]
    sobject = (record.get("attributes") or {}).get("type")
    if sobject not in SCHEMA:
        raise SalesforceFault(400, "INVALID_TYPE", f"sObject type '{sobject}' is not supported")
    if sobject not in _WRITABLE_TYPES:
        raise SalesforceFault(400, "INVALID_TYPE_FOR_OPERATION", f"{sobject} cannot be changed through this API in the sandbox")
    return sobject


def _apply_record(batch: _Batch, index: int, operation: str, record: dict[str, Any]) -> str:
    org = batch.org
    sobject = _type_of(record, operation, org)
    fields = {k: v for k, v in record.items() if k != "attributes"}
    if sobject == "PermissionSetAssignment":
        return _assignment(batch, index, operation, fields)
    if operation == "delete":
        raise SalesforceFault(400, "INVALID_TYPE_FOR_OPERATION", "entity type cannot be deleted: users are deactivated (IsActive = false), never deleted")
    unknown = [k for k in fields if k != "Id" and k not in _USER_WRITABLE]
    if unknown:
        readonly = [k for k in unknown if k in SCHEMA["User"]]
        if readonly:
            raise SalesforceFault(400, "INVALID_FIELD_FOR_INSERT_UPDATE", f"Unable to create/update fields: {', '.join(readonly)}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", readonly)
        raise SalesforceFault(400, "INVALID_FIELD", f"No such column '{unknown[0]}' on sobject of type User", [unknown[0]])
    if operation == "create":
        missing = [k for k in _USER_REQUIRED if fields.get(k) in (None, "")]
        if missing:
            raise SalesforceFault(400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing)
        name = str(fields["Username"])
        if name in batch.users or any(n.lower() == name.lower() for n in batch.users):
            raise SalesforceFault(400, "DUPLICATE_USERNAME", "Duplicate Username.<br>The username already exists in this or another Salesforce organization. Usernames must be unique across all Salesforce organizations.", ["Username"])
        if org.get("Profile", fields["ProfileId"]) is None:
            raise SalesforceFault(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["ProfileId"])
        spec: dict[str, Any] = {"permissionSets": []}
    else:
        if "Username" in fields:
            raise SalesforceFault(400, "INVALID_FIELD_FOR_INSERT_UPDATE", "the sandbox does not rename users", ["Username"])
        row = org.get("User", fields.get("Id"))
        if row is None:
            raise SalesforceFault(404, "NOT_FOUND", f"invalid or unknown user id: {fields.get('Id')}")
        name = row["Username"]
        spec = copy.deepcopy(batch.users[name])
    for key, target in (("Email", "email"), ("FirstName", "firstName"), ("LastName", "lastName")):
        if key in fields:
            value = fields[key]
            if value in (None, "") and key != "FirstName":
                raise SalesforceFault(400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{key}]", [key])
            if key == "Email" and not _EMAIL.match(str(value)):
                raise SalesforceFault(400, "INVALID_EMAIL_ADDRESS", f"Email: invalid email address: {value}", ["Email"])
            if value in (None, ""):
                spec.pop(target, None)
            else:
                spec[target] = str(value)
    if "IsActive" in fields:
        spec["active"] = bool(fields["IsActive"])
    if "UserRoleId" in fields:
        role = org.get("UserRole", fields["UserRoleId"]) if fields["UserRoleId"] else None
        if fields["UserRoleId"] and role is None:
            raise SalesforceFault(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["UserRoleId"])
        spec["role"] = role["DeveloperName"] if role else None
    batch.users[name] = spec
    batch.put_user(index, name)
    return sf_id("User", name)


def _assignment(batch: _Batch, index: int, operation: str, fields: dict[str, Any]) -> str:
    org = batch.org
    if operation == "update":
        raise SalesforceFault(400, "INVALID_FIELD_FOR_INSERT_UPDATE", "PermissionSetAssignment rows are added and removed, never updated")
    if operation == "delete":
        row = org.get("PermissionSetAssignment", fields.get("Id"))
        if row is None:
            raise SalesforceFault(404, "NOT_FOUND", f"invalid or unknown id: {fields.get('Id')}")
        name = row["Assignee"]["Username"]
        ps = row["PermissionSet"]["Name"] if row["PermissionSet"] else None
        spec = batch.users[name]
        spec["permissionSets"] = [p for p in spec.get("permissionSets", []) if p != ps]
        batch.put_user(index, name)
        return row["Id"]
    user = org.get("User", fields.get("AssigneeId"))
    ps = org.get("PermissionSet", fields.get("PermissionSetId"))
    if user is None or ps is None:
        missing = "AssigneeId" if user is None else "PermissionSetId"
        raise SalesforceFault(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [missing])
    spec = batch.users[user["Username"]]
    if ps["Name"] in spec.get("permissionSets", []):
        raise SalesforceFault(400, "DUPLICATE_VALUE", f"duplicate value found: AssigneeId duplicates value on record with id: {sf_id('PermissionSetAssignment', user['Username'] + '|' + ps['Name'])}")
    spec["permissionSets"] = [*spec.get("permissionSets", []), ps["Name"]]
    batch.put_user(index, user["Username"])
    return sf_id("PermissionSetAssignment", f"{user['Username']}|{ps['Name']}")


def routes() -> list[Route]:
    base = "/services/data/{version}"
    return [
        rest("GET", f"{base}/query", _query),
        rest("GET", f"{base}/query/{{locator}}", _query_more),
        rest("GET", f"{base}/sobjects/{{sobject}}/{{id}}", _get),
        rest("POST", f"{base}/sobjects/{{sobject}}", _create_one),
        rest("PATCH", f"{base}/sobjects/{{sobject}}/{{id}}", _update_one),
        rest("DELETE", f"{base}/sobjects/{{sobject}}/{{id}}", _delete_one),
        rest("POST", f"{base}/composite/sobjects", _collection),
        rest("PATCH", f"{base}/composite/sobjects", _collection),
        rest("DELETE", f"{base}/composite/sobjects", _collection),
    ]
