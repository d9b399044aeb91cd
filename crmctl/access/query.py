"""Answer `crmctl access`: read the configuration (manifests or live CRM), filter, report."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from crmctl.access.effective import AccessReport, OrgAccess, Target
from crmctl.config.environment import Environment
from crmctl.config.loader import load_desired_state
from crmctl.errors import CrmctlError, ManifestError
from crmctl.kinds import KINDS
from crmctl.plan.planner import canonical
from crmctl.schemas import schema_dir

__all__ = ["AccessQuery", "CLASSIFICATIONS", "manifest_items", "effective_access"]

CLASSIFICATIONS: tuple[str, ...] = tuple(
    json.loads((schema_dir() / "common.json").read_text(encoding="utf-8"))["$defs"][
        "classification"
    ]["enum"]
)


@dataclass
class AccessQuery:
    """What to report: every filter is optional; several values of one filter are ORed."""

    users: list[str] | None = None
    fields: list[str] | None = None  # Object.Field, an object name, or a glob (Contact.*)
    classifications: list[str] | None = None


def manifest_items(env: Environment) -> list[dict[str, Any]]:
    """The environment's desired configuration (overrides applied) as configuration items."""
    state = load_desired_state(env)
    if state.errors:
        count = len(state.errors)
        raise ManifestError(
            f"the manifests of environment '{env.name}' have {count} problem{'s' * (count != 1)}",
            diagnostics=state.errors,
            hint="fix them first: crmctl validate",
        )
    return [
        {"kind": r.kind, "name": r.name, "spec": canonical(r.kind, r.spec, r.name)}
        for r in state.resources.values()
    ]


def live_items(resources: Iterable[Any]) -> list[dict[str, Any]]:
    """Live resources (from a provider's read) as configuration items."""
    return [{"kind": r.kind, "name": r.name, "spec": r.spec} for r in resources if r.kind in KINDS]


def _hint(word: str, options: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def effective_access(items: list[dict[str, Any]], query: AccessQuery) -> AccessReport:
    """The grants `query` asks for; unknown users, fields or classifications are errors."""
    org = OrgAccess(items)
    chosen_classes = set()
    for value in query.classifications or []:
        known = {c.lower(): c for c in CLASSIFICATIONS}
        if value.lower() not in known:
            raise CrmctlError(
                f"unknown classification '{value}'",
                hint=_hint(value, CLASSIFICATIONS)
                or f"classifications: {', '.join(CLASSIFICATIONS)}",
            )
        chosen_classes.add(known[value.lower()])
    users = None
    if query.users:
        known = {u.name.lower(): u.name for u in org.users()}
        for name in query.users:
            if name.lower() not in known:
                raise CrmctlError(f"no User named '{name}'", hint=_hint(name, known.values()))
        users = query.users
    fields: list[Target] = org.fields
    include_objects = not query.fields and not query.classifications
    objects = org.objects
    if query.fields:
        patterns = [p.lower() for p in query.fields]
        fields = [t for t in fields if any(fnmatchcase(t.name.lower(), p) for p in patterns)]
        objects = [o for o in objects if any(fnmatchcase(o.lower(), p) for p in patterns)]
        include_objects = bool(objects)
        if not fields and not objects:
            names = [t.name for t in org.fields] + org.objects
            raise CrmctlError(
                f"no object or custom field matches {', '.join(query.fields)}",
                hint=_hint(query.fields[0], names)
                or "give Object.Field, an object, or a glob such as Contact.*",
            )
    if query.classifications:
        fields = [t for t in fields if t.classification in chosen_classes]
    org.objects = objects
    return org.report(users=users, fields=fields, include_objects=include_objects)
