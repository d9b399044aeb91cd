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
PermissionSet a PermissionSet; ids are derived from names and stable.
Writes (`writes`) become store batch operations, so the sandbox's rules apply.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections import OrderedDict
from typing import Any

from crmctl.sandbox.salesforce import setup_audit, soql
from crmctl.sandbox.salesforce.api import Caller, SalesforceFault, rest
from crmctl.sandbox.salesforce.ids import KEY_PREFIXES, ORG_ID, normal_id, sf_id
from crmctl.sandbox.server import Request, Route

__all__ = ["routes", "sf_id", "normal_id", "sobject_of", "OrgView", "SCHEMA", "PROFILES"]

PROFILES = ("System Administrator", "Standard User")
#: Setup objects: reading them needs ViewSetup (or an admin), as the sandbox's own API does.
SETUP_OBJECTS = ("PermissionSet", "PermissionSetAssignment", "SetupAuditTrail")
_USER_FIELDS = ("Id", "Username", "Email", "FirstName", "LastName", "Name", "IsActive",
                "UserRoleId", "ProfileId", "UserType", "Alias", "TimeZoneSidKey",
                "LocaleSidKey", "LanguageLocaleKey", "EmailEncodingKey")  # fmt: skip

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
    "Organization": dict.fromkeys(
        (
            "Id",
            "Name",
            "Division",
            "OrganizationType",
            "InstanceName",
            "IsSandbox",
            "TrialExpirationDate",
            "NamespacePrefix",
            "LanguageLocaleKey",
            "DefaultLocaleSidKey",
            "TimeZoneSidKey",
            "Country",
            "PrimaryContact",
            "IsReadOnly",
            "CreatedDate",
        )
    ),  # fmt: skip
    "SetupAuditTrail": {
        **dict.fromkeys(
            (
                "Id",
                "Action",
                "Section",
                "Display",
                "CreatedById",
                "CreatedDate",
                "DelegateUser",
                "CreatedByContext",
                "CreatedByIssuer",
                "ResponsibleNamespacePrefix",
            )
        ),  # fmt: skip
        "CreatedBy": "User",
    },
}
#: The org's own row (Organization): a Developer Edition org.
ORGANIZATION = {
    "Id": ORG_ID, "Name": "crmctl sandbox", "Division": None,
    "OrganizationType": "Developer Edition", "InstanceName": "CRMCTL1", "IsSandbox": False,
    "TrialExpirationDate": None, "NamespacePrefix": None, "LanguageLocaleKey": "en_US",
    "DefaultLocaleSidKey": "en_US", "TimeZoneSidKey": "GMT", "Country": None,
    "PrimaryContact": None, "IsReadOnly": False, "CreatedDate": "2000-01-01T00:00:00.000+0000",
}  # fmt: skip


class OrgView:
    """The sandbox's configuration as sObject rows, with lookups by id and by name."""

    def __init__(self, store: Any) -> None:
        self.store = store
        items = store.list_all_config(["Role", "PermissionSet", "User"])
        self.specs = {(i["kind"], i["name"]): i["spec"] for i in items}
        self.rows: dict[str, list[dict[str, Any]]] = {t: [] for t in SCHEMA}
        self.by_id: dict[str, tuple[str, dict[str, Any]]] = {}
        for name in PROFILES:
            self._add("Profile", {"Id": sf_id("Profile", name), "Name": name})
        self._add("Organization", dict(ORGANIZATION))
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
        self._add_admins(self.by_id[sf_id("Profile", "System Administrator")][1])

    def _add_admins(self, profile: dict[str, Any]) -> None:
        """The sandbox's built-in admins are users too: System Administrators."""
        with self.store.transaction() as conn:
            names = [r[0] for r in conn.execute("SELECT username FROM admins ORDER BY username")]
        for name in names:
            if self.get("User", sf_id("User", name)) is not None:
                continue  # also a User item: that row stands
            local = name.partition("@")[0]
            self._add(
                "User",
                {"Id": sf_id("User", name), "Username": name,
                 "Email": name if "@" in name else None, "FirstName": None,
                 "LastName": local.capitalize() or name, "Name": local.capitalize() or name,
                 "IsActive": True, "UserRoleId": None, "UserRole": None,
                 "ProfileId": profile["Id"], "Profile": profile, "UserType": "Standard",
                 "Alias": re.sub(r"[^A-Za-z0-9]", "", local)[:8] or "admin",
                 "TimeZoneSidKey": "GMT", "LocaleSidKey": "en_US", "LanguageLocaleKey": "en_US",
                 "EmailEncodingKey": "UTF-8"},
            )  # fmt: skip

    def _add(self, sobject: str, row: dict[str, Any]) -> dict[str, Any]:
        self.rows[sobject].append(row)
        self.by_id[row["Id"]] = (sobject, row)
        return row

    def get(self, sobject: str, record_id: Any) -> dict[str, Any] | None:
        found = self.by_id.get(normal_id(record_id) or "")
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
                    value = (
                        {"attributes": _attributes(parent, version, value), "Id": value["Id"]}
                        if value
                        else None
                    )
                target[part] = value
                break
            child = source.get(part) if source else None
            if child is None or parent is None:
                target[part] = None
                break
            existing = target.get(part)
            if not isinstance(existing, dict):
                existing = target[part] = {"attributes": _attributes(parent, version, child)}
            current_type, source, target = parent, child, existing
    return out


def _page(
    version: str, records: list[dict[str, Any]], start: int, size: int, locator: str | None
) -> dict:
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
        table = next((k for k in SCHEMA if k.lower() == query.sobject.lower()), "")
        if table in SETUP_OBJECTS:
            caller.require_view_setup(f"querying {table}")
        view = OrgView(request.store)
        if table == "SetupAuditTrail":
            if query.aggregates:
                raise soql.SoqlError(
                    "MALFORMED_QUERY", "SetupAuditTrail does not support aggregate queries"
                )
            table_rows = setup_audit.rows(request.store, view.rows["User"])
        else:
            table_rows = view.rows.get(table, [])
        rows, paths = soql.run(query, SCHEMA, table_rows)
        if request.query.get("columns") == "true":
            return 200, _columns(query, paths), {}
        if query.aggregates:
            record: dict[str, Any] = {"attributes": {"type": "AggregateResult"}}
            for index, name in query.aggregates:
                record[query.column_name(index)] = soql.count(query, SCHEMA, rows, name)
            return 200, {"totalSize": 1, "done": True, "records": [record]}, {}
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


def _column(name: str, **extra: Any) -> dict[str, Any]:
    column: dict[str, Any] = {"aggregate": False, "apexType": None, "booleanType": False, "columnName": name,
              "custom": name.endswith("__c"), "displayName": name, "foreignKeyName": None,
              "insertable": False, "joinColumns": [], "numberType": False, "textType": False,
              "updatable": False}  # fmt: skip
    column.update(extra)
    return column


def _columns(query: soql.Query, paths: list[list[str]]) -> dict[str, Any]:
    """What `columns=true` answers: the query's columns, not its rows."""
    out: list[dict[str, Any]] = []
    joins: dict[str, dict[str, Any]] = {}
    for path in paths:
        if len(path) == 1:
            name = path[0]
            kind = "Id" if name == "Id" or name.endswith("Id") else "String"
            if name.startswith("Is"):
                kind = "Boolean"
            out.append(_column(name, apexType=kind, textType=kind == "String",
                               booleanType=kind == "Boolean"))  # fmt: skip
            continue
        parent = joins.get(path[0])
        if parent is None:
            parent = joins[path[0]] = _column(path[0], displayName=path[0])
            out.append(parent)
        target = parent
        for depth, part in enumerate(path[1:], start=1):
            found = next((c for c in target["joinColumns"] if c["columnName"] == part), None)
            if found is None:
                label = ".".join(path[: depth + 1])
                found = _column(part, displayName=label,
                                apexType="String" if depth == len(path) - 1 else None,
                                textType=depth == len(path) - 1)  # fmt: skip
                target["joinColumns"].append(found)
            target = found
    for index, _name in query.aggregates:
        out.append(_column(query.column_name(index), aggregate=True, apexType="Integer",
                           displayName=query.column_name(index), numberType=True))  # fmt: skip
    return {
        "columnMetadata": out,
        "entityName": query.sobject,
        "groupBy": False,
        "idSelected": ["Id"] in paths,
        "keyPrefix": KEY_PREFIXES.get(query.sobject),
    }


def _query_more(request: Request, caller: Caller) -> tuple[int, Any, dict[str, str]]:
    locator, _, start = request.params["locator"].rpartition("-")
    with _LOCATORS_LOCK:
        found = _LOCATORS.get(locator)
    if found is None or not start.isdigit():
        raise SalesforceFault(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    records, size = found
    return 200, _page(request.params["version"], records, int(start), size, locator), {}


# --- single records ----------------------------------------------------------------------


def sobject_of(request: Request) -> str:
    """The sObject a path names (404 NOT_FOUND when there is no such type)."""
    name = request.params["sobject"]
    found = next((k for k in SCHEMA if k.lower() == name.lower()), None)
    if found is None:
        raise SalesforceFault(404, "NOT_FOUND", f"The requested resource does not exist: {name}")
    return found


def _get(request: Request, caller: Caller) -> tuple[int, Any, dict[str, str]]:
    sobject = sobject_of(request)
    if sobject in SETUP_OBJECTS:
        caller.require_view_setup(f"reading {sobject}")
    row = OrgView(request.store).get(sobject, request.params["id"])
    if row is None:
        raise SalesforceFault(404, "NOT_FOUND", "The requested resource does not exist")
    paths = [[f] for f, parent in SCHEMA[sobject].items() if parent is None]
    return 200, _record(sobject, request.params["version"], row, paths), {}


def routes() -> list[Route]:
    from crmctl.sandbox.salesforce.writes import collection, create_one, delete_one, update_one

    base = "/services/data/{version}"
    return [
        rest("GET", f"{base}/query", _query),
        rest("GET", f"{base}/query/{{locator}}", _query_more),
        # Nothing here is ever in the recycle bin, so queryAll answers what query does.
        rest("GET", f"{base}/queryAll", _query),
        rest("GET", f"{base}/queryAll/{{locator}}", _query_more),
        rest("GET", f"{base}/sobjects/{{sobject}}/{{id}}", _get),
        rest("POST", f"{base}/sobjects/{{sobject}}", create_one),
        rest("PATCH", f"{base}/sobjects/{{sobject}}/{{id}}", update_one),
        rest("DELETE", f"{base}/sobjects/{{sobject}}/{{id}}", delete_one),
        rest("POST", f"{base}/composite/sobjects", collection),
        rest("PATCH", f"{base}/composite/sobjects", collection),
        rest("DELETE", f"{base}/composite/sobjects", collection),
    ]
