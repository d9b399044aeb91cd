"""Field permissions: field security profiles <-> `PermissionSet.fields`.

A PermissionSet is a security role (table privileges) and, when it has
`fields`, the field security profile of the same name (its label): each
`table.column: [read, edit]` is one `fieldpermissions` row of that profile,
`read` -> canread 4, `edit` -> canupdate 4 and cancreate 4 (crmctl has no
create-only grant: a row whose cancreate and canupdate differ reads back
without `edit`, so the plan shows it and apply makes them equal). A field
listed with no verbs is a row that allows nothing.

Dataverse checks field permissions only on a secured column (`IsSecured`),
so apply secures each column a profile names, by a full-definition `PUT`
then `PublishXml`. It never unsecures one: that would open the column to
every user who can read the table.

Reading costs two paged queries (profiles, permissions), whatever the number
of profiles. A profile whose name is no security role's is left alone and
named in the warnings. Users join the profile of each permission set they
hold: userprofiles.py.
"""

from __future__ import annotations

from typing import Any

from crmctl.errors import ProviderError
from crmctl.model import Resource
from crmctl.plan.action import Action
from crmctl.plan.model import Change
from crmctl.providers.dataverse import columns, security
from crmctl.providers.dataverse.webapi import BatchAnswer, BatchPart, WebApi, literal, odata_error

__all__ = ["read_profiles", "attach", "write_profile", "fields_spec"]

_ALLOWED = 4
_NS = "Microsoft.Dynamics.CRM."
_UNMATCHED = "field security profile with no security role of the same name; left alone"


def read_profiles(
    api: WebApi, profiles: dict[str, dict[str, Any]]
) -> dict[str, dict[str, list[str]]]:
    """Every profile by crmctl name (into `profiles`, with its rows); fields by profile name."""
    rows = api.get_all("fieldsecurityprofiles", {"$select": "fieldsecurityprofileid,name"})
    permissions = api.get_all(
        "fieldpermissions",
        {
            "$select": "fieldpermissionid,entityname,attributelogicalname,canread,cancreate,"
            "canupdate,_fieldsecurityprofileid_value"
        },
    )
    by_profile: dict[str, list[dict[str, Any]]] = {}
    for permission in permissions:
        key = str(permission.get("_fieldsecurityprofileid_value"))
        by_profile.setdefault(key, []).append(permission)
    out: dict[str, dict[str, list[str]]] = {}
    for row in rows:
        name = security.api_name(str(row.get("name") or ""))
        mine = by_profile.get(str(row["fieldsecurityprofileid"]), [])
        profiles[name] = {**row, "permissions": mine}
        out[name] = fields_spec(mine)
    return out


def attach(
    roles: list[Resource],
    fields: dict[str, dict[str, list[str]]],
    notes: dict[str, list[str]],
) -> None:
    """Put each profile's fields on the PermissionSet of the same name."""
    by_name = {r.name: r for r in roles}
    for name, granted in sorted(fields.items()):
        resource = by_name.get(name)
        if resource is None:
            if granted:
                notes.setdefault(_UNMATCHED, []).append(f"fieldsecurityprofile/{name}")
            continue
        if granted:
            resource.spec["fields"] = granted


def fields_spec(permissions: list[dict[str, Any]]) -> dict[str, list[str]]:
    """`fieldpermissions` rows as a PermissionSet's `fields` (sorted, read before edit)."""
    out: dict[str, list[str]] = {}
    for row in permissions:
        verbs = []
        if row.get("canread") == _ALLOWED:
            verbs.append("read")
        if row.get("canupdate") == _ALLOWED and row.get("cancreate") == _ALLOWED:
            verbs.append("edit")
        out[f"{row.get('entityname')}.{row.get('attributelogicalname')}"] = verbs
    return dict(sorted(out.items()))


def write_profile(api: WebApi, change: Change, profiles: dict[str, dict[str, Any]]) -> None:
    """Make the profile of a PermissionSet hold exactly its `fields` (after its role)."""
    live = profiles.get(change.name)
    if change.action is Action.DELETE:
        if live is not None:
            # Its permissions first, then the profile, in one change set.
            parts = [
                BatchPart("DELETE", f"fieldpermissions({p['fieldpermissionid']})")
                for p in live["permissions"]
            ]
            parts.append(
                BatchPart("DELETE", f"fieldsecurityprofiles({live['fieldsecurityprofileid']})")
            )
            _check(api.batch(parts, atomic=True))
            profiles.pop(change.name, None)
        return
    spec = change.after or {}
    wanted: dict[str, list[str]] = spec.get("fields") or {}
    if live is None:
        if not wanted:
            return
        profile_id = api.create(
            "fieldsecurityprofiles",
            {"name": spec.get("label"), "description": spec.get("description")},
        )
        live = {"fieldsecurityprofileid": profile_id, "name": spec.get("label"), "permissions": []}
        profiles[change.name] = live
    else:
        profile_id = str(live["fieldsecurityprofileid"])
        if live.get("name") != spec.get("label"):
            api.send("PATCH", f"fieldsecurityprofiles({profile_id})", {"name": spec.get("label")})
    have = {
        f"{p.get('entityname')}.{p.get('attributelogicalname')}": p for p in live["permissions"]
    }
    _secure(api, sorted(f for f in wanted if f not in have))
    parts = []
    for field, verbs in sorted(wanted.items()):
        body = _permission(field, verbs)
        row = have.get(field)
        if row is None:
            parts.append(
                BatchPart(
                    "POST",
                    "fieldpermissions",
                    {
                        **body,
                        "fieldsecurityprofileid@odata.bind": f"/fieldsecurityprofiles({profile_id})",
                    },
                )
            )
        elif any(row.get(k) != v for k, v in body.items()):
            parts.append(BatchPart("PATCH", f"fieldpermissions({row['fieldpermissionid']})", body))
    for field, row in sorted(have.items()):
        if field not in wanted:
            parts.append(BatchPart("DELETE", f"fieldpermissions({row['fieldpermissionid']})"))
    if parts:
        # One change set: the profile's permissions change all together or not at all.
        _check(api.batch(parts, atomic=True))
    live["granted"] = bool(wanted)  # whether the profile's users get fields (userprofiles)


def _check(answers: list[BatchAnswer]) -> None:
    for answer in answers:
        if not answer.ok:
            raise ProviderError(f"{answer.status} {odata_error(answer.body)}")


def _permission(field: str, verbs: list[str]) -> dict[str, Any]:
    table, _, column = field.partition(".")
    edit = _ALLOWED if "edit" in verbs else 0
    return {
        "entityname": table,
        "attributelogicalname": column,
        "canread": _ALLOWED if "read" in verbs else 0,
        "canupdate": edit,
        "cancreate": edit,
    }


def _secure(api: WebApi, fields: list[str]) -> None:
    """Set IsSecured on the columns that are not secured yet, then publish their tables."""
    tables: set[str] = set()
    for field in fields:
        table, _, column = field.partition(".")
        path = f"EntityDefinitions(LogicalName={literal(table)})/Attributes(LogicalName={literal(column)})"
        base = api.get(path, {"$select": "LogicalName,AttributeType,IsSecured"})
        if (base or {}).get("IsSecured"):
            continue
        derived = columns.DERIVED.get(str((base or {}).get("AttributeType")))
        if not derived:
            raise ProviderError(f"the column {field} cannot be secured by crmctl (type unknown)")
        live = api.get(f"{path}/{_NS}{derived}")
        live = {k: v for k, v in live.items() if not k.startswith("@odata.") or k == "@odata.type"}
        live.setdefault("@odata.type", f"{_NS}{derived}")
        live["IsSecured"] = True
        api.send("PUT", path, live, solution=True, merge_labels=True)
        tables.add(table)
    if tables:
        entities = "".join(f"<entity>{t}</entity>" for t in sorted(tables))
        xml = f"<importexportxml><entities>{entities}</entities></importexportxml>"
        api.send("POST", "PublishXml", {"ParameterXml": xml})
