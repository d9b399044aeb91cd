"""Writes to users and permission-set assignments: sObjects and sObject Collections.

Every record becomes store batch operations on the User configuration item
it is about (an assignment is an entry of the user's `permissionSets`), so
the sandbox's rules apply; a collection with allOrNone is one batch, all or
nothing, and answers ALL_OR_NONE_OPERATION_ROLLED_BACK for the records that
were fine. Errors use Salesforce's codes (REQUIRED_FIELD_MISSING,
DUPLICATE_USERNAME, INVALID_CROSS_REFERENCE_KEY …).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from crmctl.sandbox.db import SandboxError
from crmctl.sandbox.salesforce.api import Caller, SalesforceFault
from crmctl.sandbox.salesforce.sobjects import SCHEMA, OrgView, normal_id, sf_id, sobject_of
from crmctl.sandbox.server import Request

__all__ = ["create_one", "update_one", "delete_one", "collection"]

_USER_REQUIRED = ("Username", "LastName", "Email", "Alias", "TimeZoneSidKey", "LocaleSidKey",
                  "EmailEncodingKey", "ProfileId", "LanguageLocaleKey")  # fmt: skip
_USER_WRITABLE = frozenset(_USER_REQUIRED) | {"FirstName", "IsActive", "UserRoleId"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_WRITABLE_TYPES = ("User", "PermissionSetAssignment")


def create_one(request: Request, caller: Caller) -> tuple[int, Any, dict[str, str]]:
    sobject = sobject_of(request)
    record = {"attributes": {"type": sobject}, **request.json_object()}
    result = _save(request, caller, "create", [record], all_or_none=True)[0]
    if not result["success"]:
        return 400, [_rest_error(e) for e in result["errors"]], {}
    return 201, {"id": result["id"], "success": True, "errors": []}, {}


def update_one(request: Request, caller: Caller) -> tuple[int, Any, dict[str, str]]:
    sobject = sobject_of(request)
    record = {"attributes": {"type": sobject}, **request.json_object(), "Id": request.params["id"]}
    result = _save(request, caller, "update", [record], all_or_none=True)[0]
    if not result["success"]:
        status = 404 if result["errors"][0]["statusCode"] == "NOT_FOUND" else 400
        return status, [_rest_error(e) for e in result["errors"]], {}
    return 204, None, {}


def delete_one(request: Request, caller: Caller) -> tuple[int, Any, dict[str, str]]:
    sobject_of(request)
    result = _save(request, caller, "delete", [{"Id": request.params["id"]}], all_or_none=True)[0]
    if not result["success"]:
        status = 404 if result["errors"][0]["statusCode"] == "NOT_FOUND" else 400
        return status, [_rest_error(e) for e in result["errors"]], {}
    return 204, None, {}


def _rest_error(error: dict[str, Any]) -> dict[str, Any]:
    return {
        "message": error["message"],
        "errorCode": error["statusCode"],
        "fields": error["fields"],
    }


# --- collections -------------------------------------------------------------------------


def collection(request: Request, caller: Caller) -> tuple[int, Any, dict[str, str]]:
    if request.method == "DELETE":
        ids = [i for i in (request.query.get("ids") or "").split(",") if i]
        all_or_none = (request.query.get("allOrNone") or "false").lower() == "true"
        records: Any = [{"Id": i} for i in ids]
        operation = "delete"
    else:
        body = request.json_object()
        records = body.get("records")  # checked below
        all_or_none = bool(body.get("allOrNone", False))
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise SalesforceFault(400, "JSON_PARSER_ERROR", "records must be a list of sObjects")
        operation = "create" if request.method == "POST" else "update"
    if not records:
        raise SalesforceFault(400, "INVALID_FIELD", "No records were given")
    if len(records) > 200:
        raise SalesforceFault(
            400,
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than 200 records into this call",
        )
    return 200, _save(request, caller, operation, records, all_or_none), {}


def _error(code: str, message: str, fields: list[str] | None = None) -> dict[str, Any]:
    return {"statusCode": code, "message": message, "fields": fields or []}


class _Batch:
    """The store operations a list of records becomes, and which record owns each."""

    def __init__(self, org: OrgView) -> None:
        self.org = org
        self.users = {n: dict(s) for (k, n), s in org.specs.items() if k == "User"}
        self.ops: list[dict[str, Any]] = []
        self.owners: list[int] = []

    def put_user(self, index: int, name: str) -> None:
        spec = copy.deepcopy(self.users[name])
        self.ops.append({"op": "put", "kind": "User", "name": name, "spec": spec})
        self.owners.append(index)


def _save(
    request: Request,
    caller: Caller,
    operation: str,
    records: list[dict[str, Any]],
    all_or_none: bool,
) -> list[dict[str, Any]]:
    """Carry out a create/update/delete of records; one SaveResult per record."""
    caller.require_admin("changing users and permission set assignments")
    org = OrgView(request.store)
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
                batch.ops = [
                    op for op, owner in zip(batch.ops, batch.owners, strict=True) if owner != index
                ]
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
            owner = (
                batch.owners[position]
                if isinstance(position, int) and position < len(batch.owners)
                else 0
            )
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


def _type_of(record: dict[str, Any], operation: str, org: OrgView) -> str:
    if operation != "create" and "attributes" not in record:
        found = org.by_id.get(normal_id(record.get("Id")) or "")
        if found is None:
            raise SalesforceFault(404, "NOT_FOUND" if normal_id(record.get("Id")) else "MALFORMED_ID",
                                  f"invalid or unknown id: {record.get('Id')}")  # fmt: skip
        return found[0]
    sobject = (record.get("attributes") or {}).get("type")
    if sobject not in SCHEMA:
        raise SalesforceFault(400, "INVALID_TYPE", f"sObject type '{sobject}' is not supported")
    if sobject not in _WRITABLE_TYPES:
        raise SalesforceFault(
            400,
            "INVALID_TYPE_FOR_OPERATION",
            f"{sobject} cannot be changed through this API in the sandbox",
        )
    return sobject


def _apply_record(batch: _Batch, index: int, operation: str, record: dict[str, Any]) -> str:
    org = batch.org
    sobject = _type_of(record, operation, org)
    fields = {k: v for k, v in record.items() if k != "attributes"}
    if sobject == "PermissionSetAssignment":
        return _assignment(batch, index, operation, fields)
    if operation == "delete":
        raise SalesforceFault(
            400,
            "INVALID_TYPE_FOR_OPERATION",
            "entity type cannot be deleted: users are deactivated (IsActive = false), never deleted",
        )
    unknown = [k for k in fields if k != "Id" and k not in _USER_WRITABLE]
    if unknown:
        readonly = [k for k in unknown if k in SCHEMA["User"]]
        if readonly:
            raise SalesforceFault(
                400,
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(readonly)}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                readonly,
            )
        raise SalesforceFault(
            400,
            "INVALID_FIELD",
            f"No such column '{unknown[0]}' on sobject of type User",
            [unknown[0]],
        )
    if operation == "create":
        missing = [k for k in _USER_REQUIRED if fields.get(k) in (None, "")]
        if missing:
            raise SalesforceFault(
                400,
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{', '.join(missing)}]",
                missing,
            )
        name = str(fields["Username"])
        if name in batch.users or any(n.lower() == name.lower() for n in batch.users):
            raise SalesforceFault(
                400,
                "DUPLICATE_USERNAME",
                "Duplicate Username.<br>The username already exists in this or another Salesforce organization. Usernames must be unique across all Salesforce organizations.",
                ["Username"],
            )
        if org.get("Profile", fields["ProfileId"]) is None:
            raise SalesforceFault(
                400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["ProfileId"]
            )
        spec: dict[str, Any] = {"permissionSets": []}
    else:
        if "Username" in fields:
            raise SalesforceFault(
                400,
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                "the sandbox does not rename users",
                ["Username"],
            )
        row = org.get("User", fields.get("Id"))
        if row is None:
            raise SalesforceFault(
                404, "NOT_FOUND", f"invalid or unknown user id: {fields.get('Id')}"
            )
        name = row["Username"]
        if name not in batch.users:  # the built-in admin: a user, but not one this API keeps
            raise SalesforceFault(
                400,
                "INSUFFICIENT_ACCESS_OR_READONLY",
                f"{name} is the sandbox's built-in admin and cannot be changed through this API",
            )
        spec = copy.deepcopy(batch.users[name])
    for key, target in (("Email", "email"), ("FirstName", "firstName"), ("LastName", "lastName")):
        if key in fields:
            value = fields[key]
            if value in (None, "") and key != "FirstName":
                raise SalesforceFault(
                    400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{key}]", [key]
                )
            if key == "Email" and not _EMAIL.match(str(value)):
                raise SalesforceFault(
                    400,
                    "INVALID_EMAIL_ADDRESS",
                    f"Email: invalid email address: {value}",
                    ["Email"],
                )
            if value in (None, ""):
                spec.pop(target, None)
            else:
                spec[target] = str(value)
    if "IsActive" in fields:
        spec["active"] = bool(fields["IsActive"])
    if "UserRoleId" in fields:
        role = org.get("UserRole", fields["UserRoleId"]) if fields["UserRoleId"] else None
        if fields["UserRoleId"] and role is None:
            raise SalesforceFault(
                400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["UserRoleId"]
            )
        spec["role"] = role["DeveloperName"] if role else None
    batch.users[name] = spec
    batch.put_user(index, name)
    return sf_id("User", name)


def _assignment(batch: _Batch, index: int, operation: str, fields: dict[str, Any]) -> str:
    org = batch.org
    if operation == "update":
        raise SalesforceFault(
            400,
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            "PermissionSetAssignment rows are added and removed, never updated",
        )
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
        raise SalesforceFault(
            400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [missing]
        )
    if user["Username"] not in batch.users:
        raise SalesforceFault(
            400,
            "INSUFFICIENT_ACCESS_OR_READONLY",
            f"{user['Username']} is the sandbox's built-in admin: it has every permission already",
            ["AssigneeId"],
        )
    spec = batch.users[user["Username"]]
    if ps["Name"] in spec.get("permissionSets", []):
        raise SalesforceFault(
            400,
            "DUPLICATE_VALUE",
            f"duplicate value found: AssigneeId duplicates value on record with id: {sf_id('PermissionSetAssignment', user['Username'] + '|' + ps['Name'])}",
        )
    spec["permissionSets"] = [*spec.get("permissionSets", []), ps["Name"]]
    batch.put_user(index, user["Username"])
    return sf_id("PermissionSetAssignment", f"{user['Username']}|{ps['Name']}")
