"""Security: privileges and who holds them, roles, business units, users, field security.

    GET  WhoAmI                                         {BusinessUnitId, UserId, OrganizationId}
    GET  RetrieveRolePrivilegesRole(RoleId=…)            {RolePrivileges:[{Depth, PrivilegeId,
                                                          BusinessUnitId, PrivilegeName}]}
    GET  RetrievePrivilegeSet                            every privilege
    GET  roles({id})/roleprivileges_association          the role's privileges (names, no depth)
    GET  roleprivilegescollection?$filter=roleid eq …    privilegedepthmask 1/2/4/8
    POST roles({id})/Microsoft.Dynamics.CRM.AddPrivilegesRole      {Privileges:[RolePrivilege]}
    POST roles({id})/Microsoft.Dynamics.CRM.ReplacePrivilegesRole  {Privileges:[RolePrivilege]}
    POST roles({id})/Microsoft.Dynamics.CRM.RemovePrivilegeRole    {PrivilegeId}
    POST/DELETE systemusers({id})/systemuserroles_association/$ref  (and GET the roles)
    POST/DELETE systemusers({id})/systemuserprofiles_association[(profileid)]/$ref  (and GET)

A privilege's depth is Basic (0), Local (1), Deep (2) or Global (3), as a name
or a number, and must be one the privilege can take (CanBeBasic …). A role
made in the root business unit is copied into every business unit (same
name, another roleid, `_parentrootroleid_value` = the root role); privileges
belong to the root role and are read and written through any copy. Users are
never deleted (disable them: `isdisabled`). A business unit is deleted only
once disabled and empty. Field permissions take 0 (not allowed) or 4
(allowed) and name a column whose `IsSecured` is true.

Access: a caller holding System Administrator may do anything; anyone else
needs the table privilege `prv{Verb}{Table}` at some depth (Basic: only rows
the caller owns), and System Customizer or System Administrator for metadata.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crmctl.sandbox.dataverse import api, expand, records, seed, state
from crmctl.sandbox.dataverse.api import Context, Response
from crmctl.sandbox.dataverse.odata import (
    ACCESS_DENIED,
    DUPLICATE,
    NOT_FOUND,
    DataverseFault,
    Segment,
    bad,
    parse_key,
)
from crmctl.sandbox.store import SandboxStore

__all__ = ["require", "require_customizer", "register_application_user", "DEPTHS"]

DEPTHS = ("Basic", "Local", "Deep", "Global")
_ROLES_OF_USER = "systemuserroles_association"
# The N:N relationship systemuser <-> fieldsecurityprofile (intersect table systemuserprofiles:
# systemuserprofileid, systemuserid, fieldsecurityprofileid), as Microsoft documents it in the
# list of system intersect entities ("Retrieve records for many-to-many relationships using
# intersect entities", Dynamics 365 Customer Engagement developer guide) and REF §A4. It is
# associated and disassociated like any N:N navigation property ("Associate and disassociate
# table rows using the Web API"), from either side, and expands on systemusers and on
# fieldsecurityprofiles. Deleting a profile removes its users' associations (VERIFY: the
# platform's cascade for a profile that still has users).
_PROFILES_OF_USER = "systemuserprofiles_association"


def _role_names(ctx: Context) -> set[str]:
    names = set()
    for role_id in state.linked(ctx.conn, _ROLES_OF_USER, ctx.user_id):
        role = state.get_row(ctx.conn, "role", role_id)
        if role:
            names.add(role.get("roletemplateid") or "")
    return names


def is_admin(ctx: Context) -> bool:
    return seed.SYSTEM_ADMINISTRATOR in _role_names(ctx)


def _root_role(ctx: Context, role_id: str) -> str:
    role = state.get_row(ctx.conn, "role", role_id) or {}
    return str(role.get("parentrootroleid") or role_id).lower()


def _depth_held(ctx: Context, privilege_name: str) -> int | None:
    privilege = _privilege_by_name(ctx, privilege_name)
    if privilege is None:
        return None
    best = None
    for role_id in state.linked(ctx.conn, _ROLES_OF_USER, ctx.user_id):
        row = ctx.conn.execute(
            "SELECT depth FROM dv_role_privileges WHERE role_id = ? AND privilege_id = ?",
            (_root_role(ctx, role_id), privilege["privilegeid"]),
        ).fetchone()
        if row is not None and (best is None or row[0] > best):
            best = row[0]
    return best


def require(
    ctx: Context, entity: state.Entity, verb: str, row: dict[str, Any] | None = None
) -> None:
    """403 unless the caller may `verb` rows of `entity` (and this row, at Basic depth)."""
    if is_admin(ctx):
        return
    from crmctl.sandbox.dataverse.seed import PRIVILEGE_NAMES

    name = f"prv{verb}{PRIVILEGE_NAMES.get(entity.logical_name, entity.doc['SchemaName'])}"
    depth = _depth_held(ctx, name)
    if depth is None and not entity.doc.get("Privileges"):
        return  # tables without privileges (audit, privilege …) are readable by every user
    if depth is None or (depth == 0 and row is not None and row.get("ownerid") != ctx.user_id):
        raise DataverseFault(
            403,
            ACCESS_DENIED,
            f"Principal user (Id={ctx.user_id}, type=8) is missing {name} privilege "
            f"(Id={(_privilege_by_name(ctx, name) or {}).get('privilegeid')}) on OTC="
            f"{entity.doc.get('ObjectTypeCode')} for entity '{entity.logical_name}'.",
        )


def require_customizer(ctx: Context) -> None:
    roles = _role_names(ctx)
    if not roles & {seed.SYSTEM_ADMINISTRATOR, seed.SYSTEM_CUSTOMIZER}:
        raise DataverseFault(
            403,
            ACCESS_DENIED,
            f"Principal user (Id={ctx.user_id}, type=8) is missing prvCustomizeEntity "
            "privilege: changing metadata needs the System Customizer or System "
            "Administrator role.",
        )


def _privilege_by_name(ctx: Context, name: str) -> dict[str, Any] | None:
    for row in state.rows(ctx.conn, "privilege"):
        if row["name"].lower() == name.lower():
            return row
    return None


def _depth(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 3:
        return value
    if isinstance(value, str):
        if value.isdigit() and int(value) <= 3:
            return int(value)
        if value in DEPTHS:
            return DEPTHS.index(value)
    raise bad(f"Depth {value!r} is not Basic, Local, Deep or Global (0 to 3).")


def _privileges_of(ctx: Context, body: Any) -> list[tuple[dict[str, Any], int]]:
    items = api.check_keys(body, "the action").get("Privileges")
    if not isinstance(items, list):
        raise bad("Privileges must be a list of RolePrivilege objects.")
    out = []
    for item in items:
        if not isinstance(item, dict):
            raise bad("Every RolePrivilege is an object with PrivilegeId and Depth.")
        privilege = None
        if item.get("PrivilegeId"):
            privilege = state.get_row(ctx.conn, "privilege", str(item["PrivilegeId"]))
        elif item.get("PrivilegeName"):
            privilege = _privilege_by_name(ctx, str(item["PrivilegeName"]))
        if privilege is None:
            raise DataverseFault(
                404,
                NOT_FOUND,
                f"privilege With Id = {item.get('PrivilegeId') or item.get('PrivilegeName')} "
                "Does Not Exist",
            )
        depth = _depth(item.get("Depth"))
        if not privilege[f"canbe{DEPTHS[depth].lower()}"]:
            raise bad(
                f"The privilege {privilege['name']} cannot be given at depth {DEPTHS[depth]}.",
                "0x80040210",
            )
        out.append((privilege, depth))
    return out


def _set_privileges(ctx: Context, role: dict[str, Any], items: list[tuple[dict[str, Any], int]],
                    replace: bool, action: int) -> None:  # fmt: skip
    root = _root_role(ctx, role["roleid"])
    if replace:
        ctx.conn.execute("DELETE FROM dv_role_privileges WHERE role_id = ?", (root,))
    for privilege, depth in items:
        ctx.conn.execute(
            "INSERT OR REPLACE INTO dv_role_privileges (role_id, privilege_id, depth)"
            " VALUES (?, ?, ?)",
            (root, privilege["privilegeid"], depth),
        )
    changes = {p["name"]: (None, DEPTHS[d]) for p, d in items}
    records.write_audit(ctx, "role", role["roleid"], action, changes)


def _role_bound(replace: bool, action: int) -> Any:
    def run(ctx: Context, method: str, role: dict[str, Any], body: Any) -> Response:
        _need_post(method)
        require(ctx, _entity(ctx, "role"), "Write", role)
        _set_privileges(ctx, role, _privileges_of(ctx, body), replace, action)
        return 204, None, {}

    return run


def _remove_privilege(ctx: Context, method: str, role: dict[str, Any], body: Any) -> Response:
    _need_post(method)
    require(ctx, _entity(ctx, "role"), "Write", role)
    privilege_id = api.check_keys(body, "RemovePrivilegeRole").get("PrivilegeId")
    if not privilege_id:
        raise bad("RemovePrivilegeRole takes PrivilegeId.")
    root = _root_role(ctx, role["roleid"])
    gone = ctx.conn.execute(
        "DELETE FROM dv_role_privileges WHERE role_id = ? AND privilege_id = ?",
        (root, str(privilege_id).lower()),
    ).rowcount
    if not gone:
        raise DataverseFault(
            404, NOT_FOUND, f"The role does not hold the privilege {privilege_id}."
        )
    privilege = state.get_row(ctx.conn, "privilege", str(privilege_id)) or {}
    records.write_audit(ctx, "role", role["roleid"], 58, {privilege.get("name", ""): ("", None)})
    return 204, None, {}


def _need_post(method: str) -> None:
    if method != "POST":
        raise bad("Actions are called with POST.", status=405)


def _entity(ctx: Context, logical: str) -> state.Entity:
    entity = state.load_entity(ctx.conn, logical)
    assert entity is not None
    return entity


def _role_privileges(ctx: Context, role_id: str) -> list[dict[str, Any]]:
    role = state.get_row(ctx.conn, "role", role_id)
    if role is None:
        raise DataverseFault(404, NOT_FOUND, f"role With Id = {role_id} Does Not Exist")
    out = []
    for privilege_id, depth in ctx.conn.execute(
        "SELECT privilege_id, depth FROM dv_role_privileges WHERE role_id = ? ORDER BY privilege_id",
        (_root_role(ctx, role_id),),
    ):
        privilege = state.get_row(ctx.conn, "privilege", privilege_id) or {}
        out.append(
            {
                "Depth": DEPTHS[depth],
                "PrivilegeId": privilege_id,
                "BusinessUnitId": role.get("businessunitid"),
                "PrivilegeName": privilege.get("name"),
            }
        )
    return out


def _retrieve_role_privileges(
    ctx: Context, method: str, segments: list[Segment], body: Any
) -> Response:
    params = parse_key(segments[0].key or "", ctx.aliases())
    role_id = params.get("RoleId") if isinstance(params, dict) else None
    if not role_id:
        raise bad("RetrieveRolePrivilegesRole takes RoleId.")
    ctx_url = f"{ctx.api}/$metadata#Microsoft.Dynamics.CRM.RetrieveRolePrivilegesRoleResponse"
    return 200, {"@odata.context": ctx_url,
                 "RolePrivileges": _role_privileges(ctx, str(role_id).lower())}, {}  # fmt: skip


def _retrieve_privilege_set(
    ctx: Context, method: str, segments: list[Segment], body: Any
) -> Response:
    entity = _entity(ctx, "privilege")
    return records.query(ctx, entity)


def _privilege_ids(ctx: Context, role_id: str) -> list[str]:
    return [r[0] for r in ctx.conn.execute(
        "SELECT privilege_id FROM dv_role_privileges WHERE role_id = ? ORDER BY privilege_id",
        (_root_role(ctx, role_id),))]  # fmt: skip


def _roles_of_privilege(ctx: Context, privilege_id: str) -> list[str]:
    roots = {r[0] for r in ctx.conn.execute(
        "SELECT role_id FROM dv_role_privileges WHERE privilege_id = ?", (privilege_id,))}  # fmt: skip
    return sorted(r["roleid"] for r in state.rows(ctx.conn, "role")
                  if _root_role(ctx, r["roleid"]) in roots)  # fmt: skip


def _role_privileges_nav(ctx: Context, method: str, role: dict[str, Any], rest: list[Segment], body: Any) -> Response:  # fmt: skip
    ids = _privilege_ids(ctx, role["roleid"])
    rows = [r for r in (state.get_row(ctx.conn, "privilege", i) for i in ids) if r]
    return records.query(ctx, _entity(ctx, "privilege"), rows)


def _roleprivilegescollection(ctx: Context, method: str, segments: list[Segment], body: Any) -> Response:  # fmt: skip
    from crmctl.sandbox.dataverse.odata import evaluate, parse_filter

    out = []
    for role in state.rows(ctx.conn, "role"):
        for p in _role_privileges(ctx, role["roleid"]):
            out.append({"roleid": role["roleid"], "privilegeid": p["PrivilegeId"],
                        "privilegedepthmask": 1 << DEPTHS.index(p["Depth"])})  # fmt: skip
    if ctx.query.get("$filter"):
        node = parse_filter(ctx.query["$filter"])
        out = [r for r in out if evaluate(node, r)]
    return (
        200,
        {"@odata.context": f"{ctx.api}/$metadata#roleprivilegescollection", "value": out},
        {},
    )


def _whoami(ctx: Context, method: str, segments: list[Segment], body: Any) -> Response:
    user = state.get_row(ctx.conn, "systemuser", ctx.user_id) or {}
    return (
        200,
        {
            "@odata.context": f"{ctx.api}/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
            "BusinessUnitId": user.get("businessunitid"),
            "UserId": ctx.user_id,
            "OrganizationId": state.get_meta(ctx.conn, "organization"),
        },
        {},
    )


def _association(relationship: str, target: str) -> Any:
    """`{set}({id})/{relationship}[/$ref]`: list, associate (POST $ref), disassociate (DELETE)."""

    def run(
        ctx: Context, method: str, row: dict[str, Any], rest: list[Segment], body: Any
    ) -> Response:
        nav, rest = rest[0], rest[1:]
        source = _primary(row)
        target_entity = _entity(ctx, target)
        is_ref = bool(rest) and rest[0].name == "$ref"
        if method == "GET" and not rest:
            ids = state.linked(ctx.conn, relationship, source)
            rows = [r for r in (state.get_row(ctx.conn, target, i) for i in ids) if r]
            return records.query(ctx, target_entity, rows)
        if method == "POST" and is_ref:
            url = api.check_keys(body, "an association").get("@odata.id")
            target_id = records.bind_target(ctx, url, [target], "@odata.id")
            require(ctx, target_entity, "Read")
            if not state.link(ctx.conn, relationship, source, target_id):
                # As Dataverse: the intersect row exists already (its key is the pair).
                raise bad("Cannot insert duplicate key.", DUPLICATE, 412)
            action = 55 if relationship == _ROLES_OF_USER else 33
            records.write_audit(
                ctx, "systemuser", source, action, {relationship: (None, target_id)}
            )
            return 204, None, {}
        if method == "DELETE" and is_ref:
            url = ctx.query.get("$id") or (
                f"/{target_entity.entity_set}({nav.key})" if nav.key else None
            )
            if not url:
                raise bad("Disassociate with DELETE …/$ref?$id=<url of the related row>.")
            target_id = records.bind_target(ctx, url, [target], "$id")
            if not state.unlink(ctx.conn, relationship, source, target_id):
                raise DataverseFault(404, NOT_FOUND, "The association does not exist.")
            action = 56 if relationship == _ROLES_OF_USER else 34
            records.write_audit(
                ctx, "systemuser", source, action, {relationship: (target_id, None)}
            )
            return 204, None, {}
        raise bad(f"The HTTP method {method} is not allowed on {relationship}.", status=405)

    return run


def _linked(relationship: str, reverse: bool) -> Callable[[Context, str], list[str]]:
    """The ids an N:N association links to a row: from the user's side, or the other's."""

    def ids(ctx: Context, row_id: str) -> list[str]:
        if reverse:
            return state.linked_from(ctx.conn, relationship, row_id)
        return state.linked(ctx.conn, relationship, row_id)

    return ids


def _primary(row: dict[str, Any]) -> str:
    for key in ("systemuserid", "roleid", "fieldsecurityprofileid"):
        if key in row:
            return str(row[key])
    raise bad("This row has no associations.")


# Hooks on the security tables.


def _before_business_unit(ctx: Context, row: dict[str, Any], old: dict[str, Any] | None) -> None:
    if old is None and not row.get("parentbusinessunitid"):
        raise bad("A business unit needs a parent: parentbusinessunitid@odata.bind.")
    if old is not None and old.get("parentbusinessunitid") != row.get("parentbusinessunitid"):
        if not old.get("parentbusinessunitid"):
            raise bad("The root business unit has no parent.")
        cursor = row.get("parentbusinessunitid")
        while cursor:
            if cursor == row["businessunitid"]:
                raise bad("A business unit cannot be moved below itself.")
            cursor = (state.get_row(ctx.conn, "businessunit", cursor) or {}).get(
                "parentbusinessunitid"
            )
    if row.get("isdisabled") is None:
        row["isdisabled"] = False
    if old is None:  # every root role gets a copy in the new unit
        for role in state.rows(ctx.conn, "role"):
            if role["roleid"] == role.get("parentrootroleid") and role[
                "businessunitid"
            ] == seed.root_business_unit(ctx.conn):  # noqa: E501
                copy_id = state.new_id()
                state.put_row(ctx.conn, "role", copy_id, {
                    **role, "roleid": copy_id, "businessunitid": row["businessunitid"]})  # fmt: skip


def _delete_business_unit(ctx: Context, row: dict[str, Any]) -> None:
    unit = row["businessunitid"]
    if not row.get("parentbusinessunitid"):
        raise bad("The root business unit cannot be deleted.")
    if not row.get("isdisabled"):
        raise bad(
            "Only a disabled business unit can be deleted: set isdisabled first.", "0x8004026d"
        )
    users = [u for u in state.rows(ctx.conn, "systemuser") if u.get("businessunitid") == unit]
    units = [
        b for b in state.rows(ctx.conn, "businessunit") if b.get("parentbusinessunitid") == unit
    ]
    if users or units:
        raise bad(
            f"The business unit cannot be deleted: it has {len(users)} users and "
            f"{len(units)} child business units.",
            "0x8004026e",
        )
    for role in state.rows(ctx.conn, "role"):
        if role.get("businessunitid") == unit:
            state.delete_row(ctx.conn, "role", role["roleid"])


def _before_role(ctx: Context, row: dict[str, Any], old: dict[str, Any] | None) -> None:
    if old is None:
        root = seed.root_business_unit(ctx.conn)
        row.setdefault("businessunitid", root)
        if not row.get("businessunitid"):
            row["businessunitid"] = root
        if row["businessunitid"] == root:
            row["parentrootroleid"] = row["roleid"]
            for unit in state.rows(ctx.conn, "businessunit"):
                if unit["businessunitid"] != root:
                    copy_id = state.new_id()
                    state.put_row(ctx.conn, "role", copy_id, {
                        **row, "roleid": copy_id, "businessunitid": unit["businessunitid"]})  # fmt: skip
        row.setdefault("ismanaged", False)


def _delete_role(ctx: Context, row: dict[str, Any]) -> None:
    if row.get("ismanaged"):
        raise bad("A system role cannot be deleted.")
    if row["roleid"] != row.get("parentrootroleid"):
        raise bad("A role inherited from the parent business unit cannot be deleted.")
    for copy in state.rows(ctx.conn, "role"):
        if copy.get("parentrootroleid") == row["roleid"] and copy["roleid"] != row["roleid"]:
            state.delete_row(ctx.conn, "role", copy["roleid"])
    ctx.conn.execute("DELETE FROM dv_role_privileges WHERE role_id = ?", (row["roleid"],))
    ctx.conn.execute(
        "DELETE FROM dv_links WHERE relationship = ? AND b = ?", (_ROLES_OF_USER, row["roleid"])
    )


def _before_user(ctx: Context, row: dict[str, Any], old: dict[str, Any] | None) -> None:
    if old is None:
        row.setdefault("businessunitid", seed.root_business_unit(ctx.conn))
        if not row.get("businessunitid"):
            row["businessunitid"] = seed.root_business_unit(ctx.conn)
        row.setdefault("isdisabled", False)
        row.setdefault("islicensed", True)
        if not (
            row.get("domainname")
            or row.get("azureactivedirectoryobjectid")
            or row.get("applicationid")
        ):
            raise bad("A user needs a domainname, azureactivedirectoryobjectid or applicationid.")
        if row.get("firstname") or row.get("lastname"):
            row["fullname"] = " ".join(p for p in (row.get("firstname"), row.get("lastname")) if p)
    elif old.get("islicensed") != row.get("islicensed"):
        raise bad("islicensed is read-only.")
    if (
        old is not None
        and old.get("isdisabled")
        and not row.get("isdisabled")
        and not row.get("islicensed")
    ):
        raise bad("Only a licensed user can be enabled.", "0x80040225")


def _delete_user(ctx: Context, row: dict[str, Any]) -> None:
    raise bad(
        "A systemuser cannot be deleted through the Web API: disable it (isdisabled: true).",
        "0x80040225",
    )


def _before_field_permission(ctx: Context, row: dict[str, Any], old: dict[str, Any] | None) -> None:
    for name in ("cancreate", "canread", "canupdate", "canreadunmasked"):
        row.setdefault(name, 0)
        if row[name] not in (0, 4) and not (name == "canreadunmasked" and row[name] in (0, 1, 3)):
            raise bad(f"{name} is 0 (not allowed) or 4 (allowed), not {row[name]!r}.")
    if not row.get("fieldsecurityprofileid"):
        raise bad("A field permission needs fieldsecurityprofileid@odata.bind.")
    entity = state.load_entity(ctx.conn, str(row.get("entityname") or ""))
    attr = entity.attribute(str(row.get("attributelogicalname") or "")) if entity else None
    if attr is None:
        raise bad(
            f"The column {row.get('entityname')}.{row.get('attributelogicalname')} does not exist."
        )
    if not attr.get("IsSecured"):
        raise bad(
            f"The column {row['entityname']}.{row['attributelogicalname']} is not secured: set "
            "IsSecured on it before giving field permissions.",
            "0x8004f507",
        )


def _delete_field_profile(ctx: Context, row: dict[str, Any]) -> None:
    ctx.conn.execute(
        "DELETE FROM dv_links WHERE relationship = ? AND b = ?",
        (_PROFILES_OF_USER, str(row["fieldsecurityprofileid"]).lower()),
    )


def register_application_user(
    store: SandboxStore,
    client_id: str,
    client_secret: str,
    *,
    role: str = "System Administrator",
    tenant: str = "sandbox",
    name: str | None = None,
) -> str:
    """Register an Entra app registration and its application user; the systemuserid.

    `role` is a role of the root business unit (System Administrator, System
    Customizer, or one made through the API). Registering a client id again
    replaces its secret and keeps its user.
    """
    from crmctl.sandbox.dataverse.seed import ensure_org

    if not client_id or not client_secret:
        raise ValueError("an application user needs a client id and a client secret")
    with store.transaction() as conn:
        state.ensure(conn)
        ensure_org(conn, store.now())
        existing = state.app_by_client_id(conn, client_id)
        user_id = existing.user_id if existing else state.new_id()
        if existing is None:
            state.put_row(conn, "systemuser", user_id, {
                "systemuserid": user_id, "fullname": name or f"# {client_id}",
                "applicationid": client_id.lower(), "isdisabled": False, "islicensed": False,
                "accessmode": 4, "businessunitid": seed.root_business_unit(conn),
                "versionnumber": state.next_seq(conn, "row_version")})  # fmt: skip
        roles = [r for r in state.rows(conn, "role")
                 if r["name"] == role and r["businessunitid"] == seed.root_business_unit(conn)]  # fmt: skip
        if not roles:
            raise ValueError(f"no role named {role!r} in the root business unit")
        state.link(conn, _ROLES_OF_USER, user_id, roles[0]["roleid"])
        state.save_app(conn, client_id, client_secret, user_id, tenant)
    return user_id


def registered_apps(store: SandboxStore) -> list[tuple[str, str, list[str]]]:
    with store.transaction() as conn:
        state.ensure(conn)
        out = []
        for client_id, user_id in conn.execute(
            "SELECT client_id, user_id FROM dv_apps ORDER BY client_id"
        ).fetchall():
            roles = [
                str((state.get_row(conn, "role", r) or {}).get("name"))
                for r in state.linked(conn, _ROLES_OF_USER, user_id)
            ]
            out.append((str(client_id), str(user_id), sorted(roles)))
    return out


records.BEFORE_WRITE.setdefault("businessunit", []).append(_before_business_unit)
records.BEFORE_DELETE.setdefault("businessunit", []).append(_delete_business_unit)
records.BEFORE_WRITE.setdefault("role", []).append(_before_role)
records.BEFORE_DELETE.setdefault("role", []).append(_delete_role)
records.BEFORE_WRITE.setdefault("systemuser", []).append(_before_user)
records.BEFORE_DELETE.setdefault("systemuser", []).append(_delete_user)
records.BEFORE_WRITE.setdefault("fieldpermission", []).append(_before_field_permission)
records.BEFORE_DELETE.setdefault("fieldsecurityprofile", []).append(_delete_field_profile)
records.BOUND[("role", "AddPrivilegesRole")] = _role_bound(False, 57)
records.BOUND[("role", "ReplacePrivilegesRole")] = _role_bound(True, 59)
records.BOUND[("role", "RemovePrivilegeRole")] = _remove_privilege
records.NAVIGATION[("role", "roleprivileges_association")] = _role_privileges_nav
records.NAVIGATION[("systemuser", _ROLES_OF_USER)] = _association(_ROLES_OF_USER, "role")
records.NAVIGATION[("systemuser", _PROFILES_OF_USER)] = _association(
    _PROFILES_OF_USER, "fieldsecurityprofile"
)  # noqa: E501
# $expand of the same N:N properties on row queries (both sides carry the name).
expand.COLLECTIONS[("role", "roleprivileges_association")] = ("privilege", _privilege_ids)
expand.COLLECTIONS[("privilege", "roleprivileges_association")] = ("role", _roles_of_privilege)
for _name, _target in ((_ROLES_OF_USER, "role"), (_PROFILES_OF_USER, "fieldsecurityprofile")):
    expand.COLLECTIONS[("systemuser", _name)] = (_target, _linked(_name, reverse=False))
    expand.COLLECTIONS[(_target, _name)] = ("systemuser", _linked(_name, reverse=True))
api.OPERATIONS["WhoAmI"] = _whoami
api.OPERATIONS["RetrieveRolePrivilegesRole"] = _retrieve_role_privileges
api.OPERATIONS["RetrievePrivilegeSet"] = _retrieve_privilege_set
api.RESOURCES["roleprivilegescollection"] = _roleprivilegescollection
