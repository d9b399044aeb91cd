"""A Metadata API deploy against the org: all or nothing, every component checked.

The zip's components (see `components`) are stored as XML (`catalog`), and
what the sandbox store enforces of them (`specs`) becomes store batch
operations: destructiveChangesPre deletions, then the package's components
in dependency order, then destructiveChangesPost deletions. A deleted
CustomObject takes its fields, validation rules and duplicate rules with it,
as in Salesforce. A type this org does not take is refused per component,
naming the type.

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

from crmctl.kinds.standard import STANDARD_OBJECTS, SYSTEM_FIELDS
from crmctl.plan.action import Action
from crmctl.plan.model import Change
from crmctl.plan.ordering import order_changes
from crmctl.sandbox.db import SandboxError, iso_time
from crmctl.sandbox.salesforce import catalog, components, mdxml, profiles, specs
from crmctl.sandbox.store import SandboxStore

__all__ = ["run_deploy"]

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
    element: ET.Element | None = None  # what is stored for it (None: deleted)


@dataclass
class _Work:
    entries: list[_Entry] = field(default_factory=list)
    pre: list[tuple[Change, int]] = field(default_factory=list)
    main: list[tuple[Change, int]] = field(default_factory=list)
    post: list[tuple[Change, int]] = field(default_factory=list)
    mirrored: dict[int, str] = field(default_factory=dict)  # entry -> store address it mirrors
    removed: list[tuple[int, str, str]] = field(default_factory=list)  # (entry, type, name)
    # Fields whose values come from a global value set this deploy changes: (entry, address).
    followers: list[tuple[int, str]] = field(default_factory=list)
    # A container named in package.xml (MatchingRules: Account) and the components it holds.
    containers: list[tuple[_Entry, list[tuple[str, str]]]] = field(default_factory=list)


def _change(kind: str, name: str, before: dict | None, after: dict | None) -> Change:
    action = Action.DELETE if after is None else (Action.UPDATE if before else Action.CREATE)
    return Change(kind, name, action, before, after, [], None, "")


def _manifests(files: dict[str, bytes]) -> tuple[dict, dict, dict]:
    found: list[dict[str, list[str]]] = [{}, {}, {}]
    for name, target in (("package.xml", 0), ("destructiveChanges.xml", 1),
                         ("destructiveChangesPre.xml", 1), ("destructiveChangesPost.xml", 2)):  # fmt: skip
        if name in files:
            for type_name, members in mdxml.manifest_members(mdxml.parse(files[name])).items():
                found[target].setdefault(type_name, []).extend(members)
    return found[0], found[1], found[2]


def run_deploy(
    store: SandboxStore, actor: str, data: bytes, check_only: bool, rollback_on_error: bool
) -> dict[str, Any]:
    """Deploy a zip; the DeployResult fields (camelCase), details included."""
    started = iso_time(store.now())
    try:
        files = mdxml.unzip(data)
        members, pre, post = _manifests(files)
    except (zipfile.BadZipFile, ValueError, ET.ParseError) as exc:
        return _result(started, store, [], check_only, rollback_on_error, f"invalid zip: {exc}")
    if "package.xml" not in files:
        return _result(started, store, [], check_only, rollback_on_error, "No package.xml found")
    found, _ = components.split(files)
    org = catalog.org_components(store)
    live = {
        (i["kind"], i["name"].lower()): i for i in store.list_all_config(list(catalog.KIND_TYPES))
    }
    work = _plan(members, pre, post, found, org, live, set(files))
    failed = {i for i, e in enumerate(work.entries) if e.problem}
    ordered = [pair for group in (work.pre, work.main, work.post) for pair in _ordered(group)]
    ops = [
        {"op": "delete", "kind": c.kind, "name": c.name}
        if c.after is None
        else {"op": "put", "kind": c.kind, "name": c.name, "spec": c.after}
        for c, _ in ordered
    ]
    owners = [owner for _, owner in ordered]
    now = iso_time(store.now())
    unenforced: set[int] = set()  # rules on XML-only fields: kept, as the org keeps them
    xml_only_fields = _xml_only_fields(work, org)
    for _ in range(_MAX_ROUNDS):
        active = [i for i, o in enumerate(owners) if o not in failed and o not in unenforced]
        try:
            with store.transaction() as conn:
                results = store.batch([ops[i] for i in active], actor)
                if check_only or (failed and rollback_on_error):
                    raise _Rollback
                digests = {
                    f"{r['kind']}/{r['name']}": catalog.mark(r) for r in results if "version" in r
                }
                _store_xml(conn, work, failed, digests, now, actor)
            break
        except _Rollback:
            break
        except SandboxError as err:
            position = (err.details or {}).get("index")
            index = active[position] if isinstance(position, int) and position < len(active) else 0
            owner = owners[index] if owners else 0
            problem = _PREFIX.sub("", err.message)
            if _only_xml_fields_unknown(work.entries[owner], problem, xml_only_fields):
                unenforced.add(owner)
                work.mirrored.pop(owner, None)
                continue
            work.entries[owner].problem = problem
            failed.add(owner)
    return _result(
        started, store, [*work.entries, *_settled(work)], check_only, rollback_on_error, None
    )


def _settled(work: _Work) -> list[_Entry]:
    """Each container's entry: it fails when a component it holds failed, naming which."""
    problems = {(e.type, e.full_name.lower()): e.problem for e in work.entries if e.problem}
    for container, held in work.containers:
        failed = [f"{name}: {problems[(t, name.lower())]}" for t, name in held
                  if (t, name.lower()) in problems]  # fmt: skip
        if failed and container.problem is None:
            container.problem = "; ".join(failed)
        container.created = any(e.created for e in work.entries if (e.type, e.full_name) in held)
    return [container for container, _ in work.containers]


_UNKNOWN_FIELD = re.compile(
    r"^spec\.condition: unknown field (\w+) \(formula line \d+, column \d+\)$"
)


def _xml_only_fields(work: _Work, org: dict[tuple[str, str], catalog.OrgComponent]) -> set[str]:
    """Fields (lower-case `Object.Field`) the org has as XML only: formula, roll-up …"""
    names = {key for (t, key), c in org.items() if t == "CustomField" and not c.mirrored}
    names |= {
        e.full_name.lower()
        for i, e in enumerate(work.entries)
        if e.type == "CustomField" and not e.problem and not e.deleted and i not in work.mirrored
    }
    return names


def _only_xml_fields_unknown(entry: _Entry, problem: str, xml_only: set[str]) -> bool:
    """Whether a validation rule is refused only for using fields the store does not hold
    (a formula field, say) that the org has: the org takes such a rule."""
    if entry.type != "ValidationRule":
        return False
    obj = entry.full_name.partition(".")[0].lower()
    owners = {obj, "activity"} if obj in ("task", "event") else {obj}
    for part in problem.partition(": ")[2].split("; "):
        match = _UNKNOWN_FIELD.match(part)
        if match is None or not any(f"{o}.{match[1].lower()}" in xml_only for o in owners):
            return False
    return True


def _store_xml(
    conn: Any, work: _Work, failed: set[int], digests: dict[str, str], now: str, actor: str
) -> None:
    """Keep the XML of every component that passed, with the store spec it mirrors."""
    for index, type_name, name in work.removed:
        if index not in failed:
            catalog.delete(conn, type_name, name)
    for index, address in work.followers:
        if index not in failed and address in digests:
            catalog.follow(conn, "CustomField", address.partition("/")[2], digests[address])
    for index, entry in enumerate(work.entries):
        if index in failed or entry.element is None:
            continue
        mirrored = work.mirrored.get(index)
        mirrors = digests.get(mirrored) if mirrored else None
        element = entry.element
        if entry.type == "Profile":  # a profile deploy overlays the org's profile
            element = profiles.merge(catalog.stored(conn, "Profile", entry.full_name), element)
        catalog.save(conn, entry.type, entry.full_name, element, mirrors, now, actor)
        if entry.type == "DuplicateRule" and mirrors is not None:
            catalog.follow(conn, "MatchingRule", entry.full_name, mirrors)


def _ordered(group: list[tuple[Change, int]]) -> list[tuple[Change, int]]:
    owner = {c.address: o for c, o in group}
    return [(c, owner[c.address]) for c in order_changes([c for c, _ in group])]


def _known(live: dict, deployed: dict[str, dict]) -> Any:
    """Whether the store holds (or this deploy puts) an object or field."""

    def known(what: str, name: str) -> bool:
        obj, _, fld = name.partition(".")
        if what == "object":
            return (
                obj in STANDARD_OBJECTS
                or ("CustomObject", obj.lower()) in live
                or (f"CustomObject/{obj.lower()}" in deployed)
            )
        if not fld.endswith("__c"):
            return fld in STANDARD_OBJECTS.get(obj, {}) or fld in SYSTEM_FIELDS
        return ("CustomField", name.lower()) in live or f"CustomField/{name.lower()}" in deployed

    return known


def _plan(
    members: dict[str, list[str]],
    pre: dict[str, list[str]],
    post: dict[str, list[str]],
    found: dict[tuple[str, str], components.Found],
    org: dict[tuple[str, str], catalog.OrgComponent],
    live: dict[tuple[str, str], dict],
    files: set[str],
) -> _Work:
    work = _Work()
    held: list[Any] = [*org.values(), *found.values()]
    value_sets = {
        c.full_name: specs.global_values(c.element) for c in held if c.type == "GlobalValueSet"
    }
    specs_of: dict[str, dict] = {}  # "Kind/lower name" -> the store spec this deploy puts
    named = _expand_containers(members, found, files, work)
    objects = {n.lower() for n in members.get("CustomObject", [])}
    order = {"CustomObject": 0, "GlobalValueSet": 0, "CustomField": 1, "MatchingRule": 2}
    for type_name, name in sorted(named, key=lambda p: order.get(p[0], 3)):
        entry = _Entry(type_name, name, "package.xml")
        work.entries.append(entry)
        index = len(work.entries) - 1
        component = found.get((type_name, name.lower()))
        if type_name not in components.ACCEPTED:
            entry.problem = (
                f"Not available for deploy for this organization: the {type_name} metadata type"
            )
            continue
        if component is None:
            entry.problem = (
                f"An object '{name}' of type {type_name} was named in package.xml, "
                "but was not found in zipped directory"
            )
            continue
        entry.file_name, entry.element = component.file_name, component.element
        obj = name.partition(".")[0]
        if type_name in components.CHILD_TYPES and not _object_exists(obj, org, objects):
            entry.problem = f"In field: fullName - no CustomObject named {obj} found"
            continue
        entry.created = (type_name, name.lower()) not in org
        try:
            spec = _spec(type_name, name, component, found, org, value_sets, live, specs_of)
        except LookupError as exc:
            entry.problem = f"In field: valueSetName - {exc.args[0]}"
            continue
        if spec is None:
            continue
        kind = catalog.store_kind(type_name)
        if kind is None:
            continue
        current = live.get((kind, name.lower()))
        specs_of[f"{kind}/{name.lower()}"] = spec
        work.mirrored[index] = f"{kind}/{current['name'] if current else name}"
        if type_name == "MatchingRule" and f"DuplicateRule/{name.lower()}" in {
            f"DuplicateRule/{n.lower()}" for n in members.get("DuplicateRule", [])
        }:
            continue  # its duplicate rule carries it
        before = current["spec"] if current else None
        work.main.append((_change(kind, current["name"] if current else name, before, spec), index))
    _value_set_users(work, members, org, live, value_sets)
    for manifest, target in ((pre, work.pre), (post, work.post)):
        for type_name, names in manifest.items():
            for name in names:
                _delete(work, target, type_name, name, org, live)
    return work


def _expand_containers(
    members: dict[str, list[str]],
    found: dict[tuple[str, str], components.Found],
    files: set[str],
    work: _Work,
) -> list[tuple[str, str]]:
    """package.xml's (type, name) pairs, a `MatchingRules` member (an object's matching-rule
    file, as the Salesforce CLI names it) standing for each MatchingRule in that file."""
    named: list[tuple[str, str]] = []
    for type_name, names in members.items():
        for name in names:
            if type_name not in components.CONTAINERS:
                named.append((type_name, name))
                continue
            child_type = components.CONTAINERS[type_name]
            prefix = name.lower() + "."
            children = sorted(c.full_name for (t, key), c in found.items()
                              if t == child_type and key.startswith(prefix))  # fmt: skip
            container = _Entry(type_name, name, components.file_name(type_name, name))
            if container.file_name not in files:  # an empty file holds none: that is fine
                container.problem = (
                    f"An object '{name}' of type {type_name} was named in package.xml, "
                    "but was not found in zipped directory"
                )
            work.containers.append((container, [(child_type, child) for child in children]))
            named.extend((child_type, child) for child in children)
    return named


def _value_set_users(
    work: _Work,
    members: dict[str, list[str]],
    org: dict[tuple[str, str], catalog.OrgComponent],
    live: dict[tuple[str, str], dict],
    value_sets: dict[str, list[dict]],
) -> None:
    """Picklists of the org that use a global value set this deploy changes take its values."""
    entries = {
        e.full_name.lower(): i
        for i, e in enumerate(work.entries)
        if e.type == "GlobalValueSet" and not e.problem
    }
    in_deploy = {n.lower() for n in members.get("CustomField", [])}
    for (type_name, key), component in org.items():
        value_set = component.element.find("valueSet") if type_name == "CustomField" else None
        used = (
            (mdxml.text(value_set, "valueSetName") or "").lower() if value_set is not None else ""
        )
        current = live.get(("CustomField", key))
        if used not in entries or key in in_deploy or current is None:
            continue
        spec = specs.field_spec(key.partition(".")[0], component.element, value_sets)
        if spec is not None:
            change = _change("CustomField", current["name"], current["spec"], spec)
            work.main.append((change, entries[used]))
            work.followers.append((entries[used], f"CustomField/{current['name']}"))


def _object_exists(obj: str, org: dict, deployed: set[str]) -> bool:
    """A standard object, one the org has, or one this deploy brings."""
    if "__" not in obj:
        return True
    return ("CustomObject", obj.lower()) in org or obj.lower() in deployed


def _spec(type_name, name, component, found, org, value_sets, live, specs_of) -> dict | None:
    """What the store enforces of a deployed component (None: it is kept as XML only)."""
    obj, _, own = name.partition(".")
    element = component.element
    custom_object_held = (
        obj in STANDARD_OBJECTS
        or ("CustomObject", obj.lower()) in live
        or (f"CustomObject/{obj.lower()}" in specs_of)
    )
    if type_name == "CustomObject":
        return specs.object_spec(element, name)
    if type_name in ("CustomField", "ValidationRule") and not custom_object_held:
        return None  # a custom metadata type's or platform event's: nothing to enforce
    if type_name == "CustomField":
        return specs.field_spec(obj, element, value_sets)
    if type_name == "ValidationRule":
        return specs.rule_spec(element)
    if type_name == "Role":
        return specs.role_spec(element, name)
    if type_name == "PermissionSet":
        return specs.permission_set_spec(element, _known(live, specs_of))
    if type_name in ("DuplicateRule", "MatchingRule"):
        held = element if type_name == "DuplicateRule" else None
        for source in (found, org):
            if held is None and ("DuplicateRule", name.lower()) in source:
                held = source[("DuplicateRule", name.lower())].element
        rule = held
        if rule is None:
            return None
        matching_name = next(
            (f"{obj}.{mdxml.text(r, 'matchingRule')}" for r in rule.findall("duplicateRuleMatchRules")
             if (mdxml.text(r, "matchRuleSObjectType") or obj) == obj), ""
        )  # fmt: skip
        matching = found.get(("MatchingRule", matching_name.lower())) or org.get(
            ("MatchingRule", matching_name.lower())
        )
        return specs.duplicate_rule_spec(obj, rule, matching.element if matching else None)
    return None


def _delete(
    work: _Work,
    target: list[tuple[Change, int]],
    type_name: str,
    name: str,
    org: dict[tuple[str, str], catalog.OrgComponent],
    live: dict[tuple[str, str], dict],
) -> None:
    entry = _Entry(type_name, name, "destructiveChanges.xml", deleted=True)
    work.entries.append(entry)
    index = len(work.entries) - 1
    if type_name not in components.ACCEPTED:
        entry.problem = (
            f"Not available for deploy for this organization: the {type_name} metadata type"
        )
        return
    held = org.get((type_name, name.lower()))
    if held is None:
        entry.problem = f"No {type_name} named: {name} found"
        return
    work.removed.append((index, type_name, held.full_name))
    kind = catalog.store_kind(type_name)
    current = live.get((kind, name.lower())) if kind else None
    if type_name == "MatchingRule" or current is None or kind is None:
        pass  # it goes with its duplicate rule, or it is XML only
    else:
        target.append((_change(kind, current["name"], current["spec"], None), index))
    if type_name == "CustomObject":  # Salesforce deletes what belongs to the object with it
        prefix = held.full_name.lower() + "."
        taken = {c.address.lower() for c, _ in target}
        for (child_type, child_name), child in org.items():
            if not child_name.startswith(prefix) or child_type not in components.CHILD_TYPES:
                continue
            work.removed.append((index, child_type, child.full_name))
            child_kind = catalog.store_kind(child_type)
            item = live.get((child_kind, child_name)) if child_kind else None
            if (
                child_kind is not None
                and item is not None
                and f"{child_kind}/{item['name']}".lower() not in taken
            ):
                target.append((_change(child_kind, item["name"], item["spec"], None), index))
        for (kind_name, item_name), item in live.items():
            if kind_name == "DuplicateRule" and item_name.startswith(prefix):
                work.removed.append((index, "DuplicateRule", item["name"]))
                work.removed.append((index, "MatchingRule", item["name"]))
                if f"DuplicateRule/{item['name']}".lower() not in taken:
                    target.append((_change(kind_name, item["name"], item["spec"], None), index))


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
