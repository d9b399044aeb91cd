"""A Metadata API deploy against the sandbox store: all or nothing, every component checked.

The zip's components are translated to crmctl specs (metadata_xml) and
become store batch operations: destructiveChangesPre deletions, then the
package's components in dependency order, then destructiveChangesPost
deletions. A deleted CustomObject takes its fields, validation rules and
duplicate rules with it, as in Salesforce.

Every component is checked, not only the first bad one: the batch runs in a
transaction that is rolled back; a refused operation is recorded against its
component and the rest runs again without it, until the rest passes. With
rollbackOnError (or checkOnly) nothing is saved when anything failed;
without it, what passed is saved (SucceededPartial).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from typing import Any

from crmctl.plan.action import Action
from crmctl.plan.model import Change
from crmctl.plan.ordering import order_changes
from crmctl.providers.salesforce import metadata_xml as mx
from crmctl.providers.salesforce import package
from crmctl.sandbox.db import SandboxError, iso_time
from crmctl.sandbox.store import SandboxStore

__all__ = ["run_deploy"]

_KINDS = ("CustomObject", "CustomField", "ValidationRule", "DuplicateRule", "Role", "PermissionSet")
_MAX_ROUNDS = 500
_PREFIX = re.compile(r"^operations\[\d+\] \([^)]*\): ")


class _Rollback(Exception):
    """Leave the transaction without saving."""


@dataclass
class _Entry:
    """One component named in package.xml or a destructive manifest."""

    type: str
    full_name: str
    file_name: str
    deleted: bool = False
    created: bool = False
    problem: str | None = None


@dataclass
class _Work:
    entries: list[_Entry] = field(default_factory=list)
    pre: list[tuple[Change, int]] = field(default_factory=list)
    main: list[tuple[Change, int]] = field(default_factory=list)
    post: list[tuple[Change, int]] = field(default_factory=list)


def _change(kind: str, name: str, before: dict | None, after: dict | None) -> Change:
    action = Action.DELETE if after is None else (Action.UPDATE if before else Action.CREATE)
    return Change(kind, name, action, before, after, [], None, "")


def run_deploy(
    store: SandboxStore, actor: str, data: bytes, check_only: bool, rollback_on_error: bool
) -> dict[str, Any]:
    """Deploy a zip; the DeployResult fields (camelCase), details included."""
    started = iso_time(store.now())
    live = {(i["kind"], i["name"].lower()): i for i in store.list_all_config(list(_KINDS))}
    fallback = {
        i["name"]: mx.matching_rule_xml(i["name"].partition(".")[2], i["spec"])
        for (kind, _), i in live.items()
        if kind == "DuplicateRule"
    }
    try:
        contents = package.read_zip(data, fallback)
    except (zipfile.BadZipFile, ValueError, ET.ParseError) as exc:
        return _result(started, store, [], check_only, rollback_on_error, f"invalid zip: {exc}")
    if not contents.members and not contents.delete_pre and not contents.delete_post:
        return _result(started, store, [], check_only, rollback_on_error, "No package.xml found")
    work = _plan(contents, live)
    failed = {i for i, e in enumerate(work.entries) if e.problem}
    ordered = [pair for group in (work.pre, work.main, work.post) for pair in _ordered(group)]
    ops = [
        {"op": "delete", "kind": c.kind, "name": c.name}
        if c.after is None
        else {"op": "put", "kind": c.kind, "name": c.name, "spec": c.after}
        for c, _ in ordered
    ]
    owners = [owner for _, owner in ordered]
    for _ in range(_MAX_ROUNDS):
        active = [i for i, owner in enumerate(owners) if owner not in failed]
        try:
            with store.transaction():
                store.batch([ops[i] for i in active], actor)
                if check_only or failed:
                    raise _Rollback
            break
        except _Rollback:
            if failed and not rollback_on_error and not check_only and active:
                store.batch([ops[i] for i in active], actor)  # the rest passed: keep it
            break
        except SandboxError as err:
            position = (err.details or {}).get("index")
            index = active[position] if isinstance(position, int) and position < len(active) else 0
            owner = owners[index] if owners else 0
            work.entries[owner].problem = _PREFIX.sub("", err.message)
            failed.add(owner)
    return _result(started, store, work.entries, check_only, rollback_on_error, None)


def _ordered(group: list[tuple[Change, int]]) -> list[tuple[Change, int]]:
    owner = {c.address: o for c, o in group}
    return [(c, owner[c.address]) for c in order_changes([c for c, _ in group])]


def _plan(contents: package.ZipContents, live: dict[tuple[str, str], dict]) -> _Work:
    work = _Work()
    found = {(c.type, c.full_name): c for c in contents.components}
    deployed_rules = set(contents.members.get("DuplicateRule", []))
    for type_name, names in contents.members.items():
        for name in names:
            entry = _Entry(type_name, name, "package.xml")
            work.entries.append(entry)
            index = len(work.entries) - 1
            component = found.get((type_name, name))
            if type_name not in package.KIND_OF:
                entry.problem = f"the sandbox does not support the {type_name} metadata type"
                continue
            if component is None:
                entry.problem = (
                    f"An object '{name}' of type {type_name} was named in package.xml, "
                    "but was not found in zipped directory"
                )
                continue
            entry.file_name = component.file_name
            spec = component.converted.spec
            if spec is None:
                entry.problem = "; ".join(component.converted.notes) or "cannot be deployed"
                continue
            kind = component.kind
            current = live.get((kind, name.lower()))
            if type_name == "MatchingRule":
                if name in deployed_rules:
                    continue  # it travels inside its duplicate rule
                if current is None:
                    entry.problem = (
                        "the sandbox keeps a matching rule only together with the duplicate "
                        f"rule of the same name, and there is no duplicate rule {name}"
                    )
                    continue
                spec = {**current["spec"], "match": spec["match"]}
            entry.created = current is None
            before = current["spec"] if current else None
            work.main.append(
                (_change(kind, current["name"] if current else name, before, spec), index)
            )
    for manifest, target in ((contents.delete_pre, work.pre), (contents.delete_post, work.post)):
        for type_name, names in manifest.items():
            for name in names:
                _delete(work, target, type_name, name, live)
    return work


def _delete(
    work: _Work, target: list[tuple[Change, int]], type_name: str, name: str, live: dict
) -> None:
    entry = _Entry(type_name, name, "destructiveChanges.xml", deleted=True)
    work.entries.append(entry)
    index = len(work.entries) - 1
    kind = package.KIND_OF.get(type_name)
    if kind is None:
        entry.problem = f"the sandbox does not support the {type_name} metadata type"
        return
    if type_name == "MatchingRule":
        return  # it goes with its duplicate rule
    current = live.get((kind, name.lower()))
    if current is None:
        entry.problem = f"No {type_name} named: {name} found"
        return
    target.append((_change(kind, current["name"], current["spec"], None), index))
    if kind == "CustomObject":  # Salesforce deletes what belongs to the object with it
        prefix = current["name"].lower() + "."
        taken = {c.address.lower() for c, _ in target}
        for (child_kind, child_name), item in live.items():
            address = f"{child_kind}/{item['name']}".lower()
            if (
                child_kind in ("CustomField", "ValidationRule", "DuplicateRule")
                and child_name.startswith(prefix)
                and address not in taken
            ):
                target.append((_change(child_kind, item["name"], item["spec"], None), index))


def _message(entry: _Entry, now: str, success: bool) -> dict[str, Any]:
    message: dict[str, Any] = {
        "changed": success and not entry.deleted,
        "componentType": entry.type,
        "created": success and entry.created,
        "createdDate": now,
        "deleted": success and entry.deleted,
        "fileName": entry.file_name,
        "fullName": entry.full_name,
        "success": success,
    }
    if not success:
        message.update(problem=entry.problem, problemType="Error")
    return message


def _result(
    started: str,
    store: SandboxStore,
    entries: list[_Entry],
    check_only: bool,
    rollback_on_error: bool,
    error: str | None,
) -> dict[str, Any]:
    now = iso_time(store.now())
    failures = [_message(e, now, False) for e in entries if e.problem]
    successes = [_message(e, now, True) for e in entries if not e.problem]
    if error:
        status = "Failed"
    elif not failures:
        status = "Succeeded"
    elif rollback_on_error or check_only:
        status = "Failed"
    else:
        status = "SucceededPartial"
    return {
        "checkOnly": check_only,
        "completedDate": now,
        "createdDate": started,
        "startDate": started,
        "errorMessage": error,
        "numberComponentErrors": len(failures),
        "numberComponentsDeployed": len(successes) if status != "Failed" else 0,
        "numberComponentsTotal": len(entries),
        "rollbackOnError": rollback_on_error,
        "status": status,
        "success": status == "Succeeded",
        "componentFailures": failures,
        "componentSuccesses": successes,
    }
