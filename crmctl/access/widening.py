"""Access widening: which users a plan lets read or edit personal data they could not before.

The plan's changes say what the live CRM holds now (each change's `before`)
and what it will hold (`after`); resources without a change are the same on
both sides. The effective access to PII and Sensitive fields is computed for
both with the CRM's own rules (crmctl.access.effective), and every gain on
a field that exists before the plan is one warning: `access widening: 3 users gain read on Contact.SSN__c via
Support_Agent`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from crmctl.access.effective import OrgAccess
from crmctl.errors import Diagnostic, Severity
from crmctl.model import Resource
from crmctl.plan.model import Change
from crmctl.plan.planner import canonical

__all__ = ["access_widening", "widening_changes", "Gain", "WATCHED"]

#: The classifications whose access a plan reports widening of.
WATCHED = ("PII", "Sensitive")
_ACCESS_KINDS = frozenset({"PermissionSet", "User", "CustomField", "CustomObject"})
_SHOWN_USERS = 5


def _items(specs: Mapping[str, tuple[str, str, dict[str, Any]]]) -> list[dict[str, Any]]:
    return [{"kind": k, "name": n, "spec": s} for k, n, s in specs.values()]


def _held(org: OrgAccess, names: set[str]) -> dict[tuple[str, str, str], tuple[str, ...]]:
    """(user, field, permission) -> paths, for the fields named."""
    fields = [t for t in org.fields if t.name in names]
    report = org.report(fields=fields, include_objects=False)
    return {
        (g.user, g.target.name, perm): via for g in report.grants for perm, via in g.paths().items()
    }


class Gain(NamedTuple):
    """One user newly holding one permission on one watched field, and the paths granting it."""

    user: str
    field: str
    classification: str
    permission: str
    via: tuple[str, ...]


def _gains(
    desired: Mapping[str, Resource], changes: list[Change], classifications: Iterable[str]
) -> list[Gain]:
    """Every (user, field, permission) the changes grant on an existing watched field."""
    if not any(c.kind in _ACCESS_KINDS for c in changes):
        return []
    after = {a: (r.kind, r.name, canonical(r.kind, r.spec, r.name)) for a, r in desired.items()}
    before = dict(after)
    for change in changes:
        for side, spec in ((before, change.before), (after, change.after)):
            if spec is None:
                side.pop(change.address, None)
            else:
                side[change.address] = (change.kind, change.name, spec)
    new, old = OrgAccess(_items(after)), OrgAccess(_items(before))
    watched = set(classifications)
    # A field the plan creates had no access to widen: a new organisation is not flagged.
    existing = {t.name for t in old.fields}
    classes = {t.name: t.classification for t in new.fields}
    names = {t.name for t in new.fields if t.classification in watched and t.name in existing}
    if not names:
        return []
    old_held = _held(old, names)
    return [
        Gain(user, field, classes[field] or "", perm, via)
        for (user, field, perm), via in _held(new, names).items()
        if (user, field, perm) not in old_held
    ]


def access_widening(
    desired: Mapping[str, Resource],
    changes: Iterable[Change],
    classifications: Iterable[str] = WATCHED,
) -> list[Diagnostic]:
    """One warning per field, paths and permissions that some users gain through `changes`."""
    gains: dict[tuple[str, tuple[str, ...]], dict[str, list[str]]] = {}
    for gain in _gains(desired, list(changes), classifications):
        gains.setdefault((gain.field, gain.via), {}).setdefault(gain.user, []).append(
            gain.permission
        )
    found = []
    for (field, via), users in sorted(gains.items()):
        by_perms: dict[tuple[str, ...], list[str]] = {}
        for user, held in users.items():
            by_perms.setdefault(tuple(held), []).append(user)
        for perms, who in sorted(by_perms.items()):
            who.sort(key=str.lower)
            count = len(who)
            shown = ", ".join(who[:_SHOWN_USERS]) + (
                f" and {count - _SHOWN_USERS} more" if count > _SHOWN_USERS else ""
            )
            found.append(
                Diagnostic(
                    f"access widening: {count} user{'s' * (count != 1)} "
                    f"gain{'s' * (count == 1)} {' and '.join(perms)} on {field} "
                    f"via {', '.join(via)}",
                    hint=f"who: {shown}",
                    severity=Severity.WARNING,
                    code="access-widening",
                )
            )
    return found


def _set_name(path: str) -> str:
    """The permission set a granting path names: `Sales_Rep`, `ViewAllData (Ops)` -> Ops."""
    if path.endswith(")") and " (" in path:
        return path[path.rindex(" (") + 2 : -1]
    return path


def widening_changes(
    desired: Mapping[str, Resource],
    changes: Iterable[Change],
    classifications: Iterable[str] = WATCHED,
) -> dict[str, set[str]]:
    """Which changes widen access, and to fields of which classifications: address -> set.

    A gain is the work of the plan's changes to the user (its permission sets, its
    activation) and to the permission sets on its granting paths (the field permission and
    the object permission). A gain no such change explains (which the rules of access do not
    produce today) is laid on every access change of the plan, so that nothing escapes.
    """
    changes = list(changes)
    by_address = {c.address.lower(): c.address for c in changes}
    access = [c.address for c in changes if c.kind in _ACCESS_KINDS]
    found: dict[str, set[str]] = {}
    for gain in _gains(desired, changes, classifications):
        causes = [by_address.get(f"user/{gain.user}".lower())]
        causes += [by_address.get(f"permissionset/{_set_name(p)}".lower()) for p in gain.via]
        named = [c for c in causes if c is not None] or access
        for address in named:
            found.setdefault(address, set()).add(gain.classification)
    return found
