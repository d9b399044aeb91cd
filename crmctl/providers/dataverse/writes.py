"""Carrying out one change on Dataverse: tables, columns, choices, roles, units, users.

Metadata follows the Web API's rules: create by POST, update by PUT of the
full definition as read (with `MSCRM.MergeLabels: true`, so labels in other
languages stay), options only through InsertOptionValue / DeleteOptionValue /
OrderOption, and a delete only once RetrieveDependenciesForDelete finds
nothing depending on the component. New components join the environment's
solution (`MSCRM.SolutionUniqueName`). The caller publishes (PublishXml) what
changed. Users are disabled, never deleted.
"""

from __future__ import annotations

import uuid
from typing import Any

from crmctl.errors import ProviderError
from crmctl.kinds.custom_field import picklist_values
from crmctl.plan.action import Action
from crmctl.plan.model import Change
from crmctl.providers.dataverse import columns, rules, security, userprofiles
from crmctl.providers.dataverse.reads import Snapshot
from crmctl.providers.dataverse.webapi import BatchPart, WebApi, literal, odata_error

__all__ = ["Writer", "COMPONENT_ENTITY", "COMPONENT_ATTRIBUTE", "COMPONENT_ROLE"]

#: Solution component types (RetrieveDependenciesForDelete).
COMPONENT_ENTITY = 1
COMPONENT_ATTRIBUTE = 2
COMPONENT_ROLE = 20
_NS = "Microsoft.Dynamics.CRM."


class Writer:
    """Writes changes through the Web API; remembers what must be published."""

    def __init__(self, api: WebApi, snapshot: Snapshot) -> None:
        self.api = api
        self.snapshot = snapshot
        self.publish_tables: set[str] = set()
        self.publish_option_sets: set[str] = set()
        self._privileges: dict[str, str] | None = None  # lower name -> privilegeid
        self.rules_written: set[str] = set()
        self.tables_changed: set[str] = set()

    def apply(self, change: Change) -> None:
        handler = getattr(self, f"_{change.kind}", None)
        if handler is None:
            raise ProviderError(f"the Dataverse provider does not write {change.kind}")
        handler(change)

    def publish(self) -> None:
        """PublishXml for the tables and global choices changed since the last publish."""
        if not (self.publish_tables or self.publish_option_sets):
            return
        self.tables_changed |= self.publish_tables
        tables = "".join(f"<entity>{t}</entity>" for t in sorted(self.publish_tables))
        sets = "".join(f"<optionset>{o}</optionset>" for o in sorted(self.publish_option_sets))
        xml = "<importexportxml>"
        xml += f"<entities>{tables}</entities>" if tables else ""
        xml += f"<optionsets>{sets}</optionsets>" if sets else ""
        xml += "</importexportxml>"
        self.api.send("POST", "PublishXml", {"ParameterXml": xml})
        self.publish_tables.clear()
        self.publish_option_sets.clear()

    def republish_rules(self) -> None:
        """Publish again the published rules of changed tables: a table change unpublishes them."""
        for name, row in sorted(self.snapshot.rules.items()):
            table = name.partition(".")[0]
            changed = table in self.tables_changed and name not in self.rules_written
            if changed and row.get("statuscode") == 2:
                rules.publish(self.api, str(row["duplicateruleid"]), name)

    # --- tables ----------------------------------------------------------------------
    def _CustomObject(self, change: Change) -> None:
        name = change.name
        path = f"EntityDefinitions(LogicalName={literal(name)})"
        if change.action is Action.DELETE:
            row = self._table(name)
            self._check_dependencies(row["MetadataId"], COMPONENT_ENTITY, f"table {name}")
            self.api.send("DELETE", path)
            self._privileges = None
            return
        spec = change.after or {}
        if change.action is Action.CREATE:
            self.api.create("EntityDefinitions", columns.create_table_body(name, spec))
            self.publish_tables.add(name)
            self._privileges = None
            return
        live = self.api.get(path)
        self.api.send(
            "PUT",
            f"EntityDefinitions({live['MetadataId']})",
            columns.update_table_body(live, spec),
            solution=True,
            merge_labels=True,
        )
        before = (change.before or {}).get("recordName") or {}
        record = spec.get("recordName") or {}
        if before.get("label") != record.get("label") and live.get("PrimaryNameAttribute"):
            column_path = f"{path}/Attributes(LogicalName={literal(live['PrimaryNameAttribute'])})"
            primary = self.api.get(f"{column_path}/{_NS}StringAttributeMetadata")
            primary = {k: v for k, v in primary.items() if not k.startswith("@odata.context")}
            primary["@odata.type"] = f"{_NS}StringAttributeMetadata"
            primary["DisplayName"] = columns._set_label(
                primary.get("DisplayName"), record.get("label")
            )
            self.api.send("PUT", column_path, primary, solution=True, merge_labels=True)
        self.publish_tables.add(name)

    def _table(self, name: str) -> dict[str, Any]:
        row = self.snapshot.tables.get(name)
        if row is None:
            row = self.api.get(
                f"EntityDefinitions(LogicalName={literal(name)})",
                {"$select": "MetadataId,LogicalName"},
            )
        return row

    # --- columns ---------------------------------------------------------------------
    def _CustomField(self, change: Change) -> None:
        table, _, column = change.name.partition(".")
        table_path = f"EntityDefinitions(LogicalName={literal(table)})"
        path = f"{table_path}/Attributes(LogicalName={literal(column)})"
        self.publish_tables.add(table)
        if change.action is Action.DELETE:
            row = self.snapshot.columns.get(change.name) or self.api.get(
                path, {"$select": "MetadataId"}
            )
            self._check_dependencies(
                row["MetadataId"], COMPONENT_ATTRIBUTE, f"column {change.name}"
            )
            if (change.before or {}).get("type") == "Lookup":
                # A lookup belongs to its one-to-many relationship: deleting that deletes it.
                found = self.api.get(
                    f"{table_path}/ManyToOneRelationships",
                    {"$select": "MetadataId,SchemaName,ReferencingAttribute"},
                )
                for relationship in (found or {}).get("value", []):
                    if relationship.get("ReferencingAttribute") == column:
                        self.api.send(
                            "DELETE", f"RelationshipDefinitions({relationship['MetadataId']})"
                        )
                        return
            self.api.send("DELETE", path)
            return
        spec = change.after or {}
        if change.action is Action.REPLACE:
            raise ProviderError(
                columns.type_change_refusal(change.before or {}, spec)
                or "Dataverse cannot replace a column in place"
            )
        if change.action is Action.CREATE:
            self._create_column(table, change.name, spec)
        else:
            refusal = columns.type_change_refusal(change.before or {}, spec)
            if refusal:
                raise ProviderError(refusal)
            if _put_needed(change.before or {}, spec):
                kind = columns.metadata_type(spec)
                live = self.api.get(f"{path}/{_NS}{kind}")
                self.api.send(
                    "PUT",
                    path,
                    columns.update_column_body(live, spec),
                    solution=True,
                    merge_labels=True,
                )
        if spec.get("type") in ("Picklist", "MultiPicklist"):
            self._options(table, column, path, spec, change.before)

    def _create_column(self, table: str, name: str, spec: dict[str, Any]) -> None:
        column = name.partition(".")[2]
        if spec.get("type") == "Lookup":
            target = str(spec.get("referenceTo"))
            body = {
                "@odata.type": f"{_NS}OneToManyRelationshipMetadata",
                "SchemaName": f"{column}_{target}_{table}"[:100],
                "ReferencedEntity": target,
                "ReferencingEntity": table,
                "Lookup": {
                    "@odata.type": f"{_NS}LookupAttributeMetadata",
                    "SchemaName": column,
                    "DisplayName": columns.label(spec.get("label")),
                    "Description": columns.label(spec.get("description")),
                    "RequiredLevel": columns._required(spec),
                },
            }
            self.api.create("RelationshipDefinitions", body)
            return
        global_id = None
        option_set = spec.get("globalOptionSet")
        if option_set:
            global_id = self._global_option_set(str(option_set), spec)
        self.api.create(
            f"EntityDefinitions(LogicalName={literal(table)})/Attributes",
            columns.create_column_body(name, spec, global_id),
        )

    def _global_option_set(self, name: str, spec: dict[str, Any]) -> str:
        """The MetadataId of global choice `name`, created with the spec's options if missing."""
        found = self.api.get("GlobalOptionSetDefinitions", {"$select": "Name,MetadataId"})
        for row in (found or {}).get("value", []):
            if str(row.get("Name", "")).lower() == name:
                return str(row["MetadataId"])
        body = {
            "@odata.type": f"{_NS}OptionSetMetadata",
            "Name": name,
            "DisplayName": columns.label(spec.get("label")),
            "IsGlobal": True,
            "OptionSetType": "Picklist",
            "Options": columns.options_body(spec),
        }
        self.publish_option_sets.add(name)
        return self.api.create("GlobalOptionSetDefinitions", body)

    def _options(
        self,
        table: str,
        column: str,
        path: str,
        spec: dict[str, Any],
        before: dict[str, Any] | None,
    ) -> None:
        """Make the column's options those of the spec: delete, insert, order, default."""
        kind = columns.metadata_type(spec)
        live = self.api.get(f"{path}/{_NS}{kind}", {"$expand": "OptionSet,GlobalOptionSet"})
        option_set = live.get("GlobalOptionSet") or live.get("OptionSet") or {}
        target: dict[str, Any]
        if option_set.get("IsGlobal"):
            target = {"OptionSetName": option_set.get("Name")}
            self.publish_option_sets.add(str(option_set.get("Name")))
        else:
            target = {"EntityLogicalName": table, "AttributeLogicalName": column}
        if self.api.solution:
            target["SolutionUniqueName"] = self.api.solution
        current = {
            (columns.label_text(o.get("Label")) or str(o.get("Value"))): o.get("Value")
            for o in option_set.get("Options") or []
        }
        options = picklist_values(spec)
        wanted = [v["value"] for v in options]
        declared = {v["value"]: v["optionValue"] for v in options if "optionValue" in v}
        changed = False
        for text, value in list(current.items()):
            if text in declared and declared[text] != value:
                # Refused by the plan (checks.option_value_refusals): never change data here.
                raise ProviderError(
                    f"option '{text}' of {table}.{column} has the value {value} in Dataverse, "
                    f"not {declared[text]}: an option's value cannot change"
                )
        by_value = {value: text for text, value in current.items()}
        relabel = {  # a declared value the column has under a label no longer wanted: relabelled
            text: by_value[declared[text]]
            for text in wanted
            if text not in current
            and declared.get(text) in by_value
            and by_value[declared[text]] not in wanted
        }
        kept = set(wanted) | set(relabel.values())
        for text, value in list(current.items()):
            if text not in kept:
                self.api.send("POST", "DeleteOptionValue", {**target, "Value": value})
                del current[text]
                changed = True
        for text, old in relabel.items():
            self.api.send(
                "POST",
                "UpdateOptionValue",
                {
                    **target,
                    "Value": current[old],
                    "Label": columns.label(text),
                    "MergeLabels": True,
                },
            )
            current[text] = current.pop(old)
            changed = True
        for text in wanted:
            if text not in current:
                body = {**target, "Label": columns.label(text)}
                if text in declared:
                    body["Value"] = declared[text]
                answer = self.api.send("POST", "InsertOptionValue", body)
                current[text] = (answer or {}).get("NewOptionValue")
                changed = True
        order = [current[t] for t in wanted]
        if [o.get("Value") for o in option_set.get("Options") or []] != order or changed:
            self.api.send("POST", "OrderOption", {**target, "Values": order})
        default = next((v["value"] for v in picklist_values(spec) if v["default"]), None)
        value = current.get(default) if default is not None else -1
        if kind == "PicklistAttributeMetadata" and live.get("DefaultFormValue") != value:
            body = columns.update_column_body(
                {k: v for k, v in live.items() if k not in ("OptionSet", "GlobalOptionSet")}, spec
            )
            body["DefaultFormValue"] = value
            self.api.send("PUT", path, body, solution=True, merge_labels=True)

    # --- security roles --------------------------------------------------------------
    def _PermissionSet(self, change: Change) -> None:
        row = self.snapshot.roles.get(change.name)
        if change.action is Action.DELETE:
            if row is None:
                return
            self._check_dependencies(
                row["roleid"], COMPONENT_ROLE, f"security role {row.get('name')}"
            )
            self.api.send("DELETE", f"roles({row['roleid']})")
            return
        spec = change.after or {}
        wanted = security.wanted_privileges(spec)
        if row is None or change.action is Action.CREATE:
            role_id = self.api.create(
                "roles",
                {
                    "name": spec.get("label"),
                    "description": spec.get("description"),
                    "businessunitid@odata.bind": f"/businessunits({self._root_unit()})",
                },
            )
            # A new role comes with a few default privileges: replace them with the spec's.
            self.api.send(
                "POST",
                f"roles({role_id})/{_NS}ReplacePrivilegesRole",
                {"Privileges": self._role_privileges(wanted)},
            )
            self.snapshot.roles[change.name] = {"roleid": role_id, "name": spec.get("label")}
            return
        role_id = row["roleid"]
        before = change.before or {}
        if before.get("label") != spec.get("label") or before.get("description") != spec.get(
            "description"
        ):
            self.api.send(
                "PATCH",
                f"roles({role_id})",
                {"name": spec.get("label"), "description": spec.get("description")},
            )
        had = security.wanted_privileges(before)
        # Privileges crmctl does not model (prvExportToExcel…) are left as they are.
        removed = [p for p in had if p not in wanted]
        added = {p: d for p, d in wanted.items() if had.get(p) != d}
        parts = []
        if added:
            parts.append(
                BatchPart(
                    "POST",
                    f"roles({role_id})/{_NS}AddPrivilegesRole",
                    {"Privileges": self._role_privileges(added)},
                )
            )
        ids = self._privilege_ids()
        for privilege in removed:
            parts.append(
                BatchPart(
                    "POST",
                    f"roles({role_id})/{_NS}RemovePrivilegeRole",
                    {
                        "Privilege": {
                            "@odata.type": f"{_NS}privilege",
                            "privilegeid": ids[privilege.lower()],
                        }
                    },
                )
            )
        if parts:
            # One change set: Dataverse changes the role's privileges all together or not at all.
            for answer in self.api.batch(parts, atomic=True):
                if not answer.ok:
                    raise ProviderError(f"{answer.status} {odata_error(answer.body)}")

    def _role_privileges(self, wanted: dict[str, str]) -> list[dict[str, Any]]:
        ids = self._privilege_ids()
        missing = sorted(p for p in wanted if p.lower() not in ids)
        if missing:
            raise ProviderError(
                f"the environment has no privilege {', '.join(missing[:5])}"
                + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
                + " (is the table created, and spelled by its logical name?)"
            )
        root = self._root_unit()
        return [
            {
                "Depth": depth,
                "PrivilegeId": ids[name.lower()],
                "BusinessUnitId": root,
                "PrivilegeName": name,
            }
            for name, depth in sorted(wanted.items())
        ]

    def _privilege_ids(self) -> dict[str, str]:
        # Read again after a table is created: a new table brings its own privileges.
        if self._privileges is not None:
            return self._privileges
        rows = self.api.get_all("privileges", {"$select": "privilegeid,name"})
        self._privileges = {str(r["name"]).lower(): str(r["privilegeid"]) for r in rows}
        return self._privileges

    def _root_unit(self) -> str:
        if self.snapshot.root_unit is None:
            rows = self.api.get_all(
                "businessunits",
                {"$select": "businessunitid", "$filter": "_parentbusinessunitid_value eq null"},
            )
            if not rows:
                raise ProviderError("the environment has no root business unit")
            self.snapshot.root_unit = rows[0]["businessunitid"]
        return str(self.snapshot.root_unit)

    # --- business units --------------------------------------------------------------
    def _Role(self, change: Change) -> None:
        row = self.snapshot.units.get(change.name)
        spec = change.after or {}
        parent = spec.get("parent")
        if change.action is Action.DELETE:
            if row is None:
                return
            if row.get("businessunitid") == self.snapshot.root_unit:
                raise ProviderError("the root business unit cannot be deleted")
            # A business unit is deleted only once disabled.
            self.api.send("PATCH", f"businessunits({row['businessunitid']})", {"isdisabled": True})
            self.api.send("DELETE", f"businessunits({row['businessunitid']})")
            return
        if parent is None and (row is None or row.get("businessunitid") != self.snapshot.root_unit):
            raise ProviderError(
                "a Role without a parent is the root business unit, which every environment "
                "already has; give this Role a parent"
            )
        body: dict[str, Any] = {"name": spec.get("label"), "description": spec.get("description")}
        if parent is not None:
            parent_row = self.snapshot.units.get(str(parent))
            if parent_row is None:
                raise ProviderError(f"parent business unit {parent} does not exist")
            body["parentbusinessunitid@odata.bind"] = (
                f"/businessunits({parent_row['businessunitid']})"
            )
        if row is None:
            unit_id = self.api.create("businessunits", body, solution=False)
            self.snapshot.units[change.name] = {
                "businessunitid": unit_id,
                "name": spec.get("label"),
            }
            return
        self.api.send("PATCH", f"businessunits({row['businessunitid']})", body)

    # --- users -----------------------------------------------------------------------
    def _User(self, change: Change) -> None:
        row = self.snapshot.users.get(change.name)
        spec = change.after
        if spec is None:  # never deleted: disabled
            if row is not None:
                self.api.send("PATCH", f"systemusers({row['systemuserid']})", {"isdisabled": True})
            return
        unit = self.snapshot.units.get(str(spec.get("role"))) if spec.get("role") else None
        unit_id = unit["businessunitid"] if unit else self._root_unit()
        body: dict[str, Any] = {
            "domainname": change.name,
            "internalemailaddress": spec.get("email"),
            "firstname": spec.get("firstName"),
            "lastname": spec.get("lastName"),
            "isdisabled": not spec.get("active", True),
            "businessunitid@odata.bind": f"/businessunits({unit_id})",
        }
        if row is None:
            user_id = self.api.create("systemusers", body, solution=False)
            had: set[str] = set()
        else:
            user_id = row["systemuserid"]
            self.api.send("PATCH", f"systemusers({user_id})", body)
            had = userprofiles.split((change.before or {}).get("permissionSets") or [])[0]
        wanted = userprofiles.split(spec.get("permissionSets") or [])[0]
        moved = row is not None and row.get("_businessunitid_value") != unit_id
        # A user holds the copy of a role in the user's own business unit; moving the user
        # to another unit drops its roles, so they are assigned again there.
        for name in sorted(wanted if moved else wanted - had):
            role_id = self._role_in_unit(name, str(unit_id))
            self.api.send(
                "POST",
                f"systemusers({user_id})/systemuserroles_association/$ref",
                {"@odata.id": f"{self.api.root}roles({role_id})"},
            )
        old_unit = str((row or {}).get("_businessunitid_value") or unit_id)
        for name in sorted(had - wanted) if not moved else []:
            role_id = self._role_in_unit(name, old_unit)
            self.api.send(
                "DELETE",
                f"systemusers({user_id})/systemuserroles_association/$ref"
                f"?$id={self.api.root}roles({role_id})",
            )
        # The field security profiles of the permission sets held (userprofiles.py).
        userprofiles.write_user(self.api, self.snapshot, user_id, row, change.before or {}, spec)

    def _role_in_unit(self, name: str, unit_id: str) -> str:
        """The id of security role `name` (a PermissionSet) as copied into business unit `unit_id`."""
        role = self.snapshot.roles.get(name)
        if role is None:
            raise ProviderError(f"security role {name} does not exist")
        root_id = str(role["roleid"])
        if unit_id == self._root_unit():
            return root_id
        copy = self.snapshot.role_copies.get((root_id, unit_id))
        if copy is None:  # a unit or role made in this apply: ask
            rows = self.api.get_all(
                "roles",
                {
                    "$select": "roleid",
                    "$filter": f"_parentrootroleid_value eq {root_id} and "
                    f"_businessunitid_value eq {unit_id}",
                },
            )
            if not rows:
                raise ProviderError(
                    f"security role {role.get('name')} has no copy in the user's business unit"
                )
            copy = str(rows[0]["roleid"])
            self.snapshot.role_copies[(root_id, unit_id)] = copy
        return copy

    # --- duplicate rules -------------------------------------------------------------
    def _DuplicateRule(self, change: Change) -> None:
        rules.write_rule(self.api, change, self.snapshot.rules.get(change.name))
        self.rules_written.add(change.name)

    # --- dependencies ----------------------------------------------------------------
    def _check_dependencies(self, object_id: str, component: int, what: str) -> None:
        answer = self.api.get(
            f"RetrieveDependenciesForDelete(ObjectId={object_id},ComponentType={component})"
        )
        rows = _dependency_rows(answer)
        if rows:
            shown = ", ".join(_dependency_text(r) for r in rows[:5])
            more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
            raise ProviderError(
                f"Dataverse will not delete {what}: {len(rows)} component(s) depend on it "
                f"({shown}{more}); nothing was deleted"
            )


def _put_needed(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Whether the column's definition changes beyond its options (which a PUT never sets)."""
    keys = (set(before) | set(after)) - {"values"}
    return any(before.get(k) != after.get(k) for k in keys)


def _dependency_rows(answer: Any) -> list[dict[str, Any]]:
    if not isinstance(answer, dict):
        return []
    collection = answer.get("EntityCollection", answer.get("value"))
    if isinstance(collection, dict):
        collection = collection.get("Entities") or collection.get("value") or []
    return [r for r in collection or [] if isinstance(r, dict)]


def _dependency_text(row: dict[str, Any]) -> str:
    kind = row.get("dependentcomponenttype")
    ident = row.get("dependentcomponentobjectid") or row.get("dependencyid") or "?"
    return f"component type {kind} {ident}"


def new_id() -> str:
    return str(uuid.uuid4())
