"""Plan-time checks of what Dataverse would refuse mid-apply, located in the manifests.

    root business unit   one Role without a parent, adopted as the environment's root
                         unit by name: another name, a second root, or the root's
                         removal is refused before anything is written
    option values        a declared `values[].optionValue` that differs from the live
                         option's (Dataverse cannot change an option's value), is
                         declared twice, or is another kept option's; a warning for a
                         new option's value without the solution publisher's prefix
    composed names       the names the provider builds from manifest values must fit
                         their column (retention: `retention.refusals`)

Each check returns error diagnostics; `DataverseProvider.plan_diagnostics` gathers them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from crmctl.errors import Diagnostic, ProviderError, Severity, SourceLocation
from crmctl.kinds.custom_field import picklist_values
from crmctl.model import Resource
from crmctl.plan.action import Action
from crmctl.plan.model import Change
from crmctl.providers.dataverse.reads import Snapshot
from crmctl.providers.dataverse.webapi import WebApi, literal

__all__ = [
    "root_unit_refusals",
    "option_value_refusals",
    "option_prefix_warnings",
    "name_location",
]

_ROOT = "dataverse-root-unit"


def name_location(resource: Resource) -> SourceLocation | None:
    """Where the manifest names the resource (`metadata.name`)."""
    if resource.source is None:
        return resource.location()
    return resource.source.location(("metadata", "name"))


def _live_root(snapshot: Snapshot) -> tuple[str, str] | None:
    """(Role name, unit name) of the environment's root business unit, when read."""
    if snapshot.root_unit is None:
        return None
    for name, row in snapshot.units.items():
        if row.get("businessunitid") == snapshot.root_unit:
            return name, str(row.get("name") or name)
    return None


def root_unit_refusals(
    desired: Mapping[str, Resource], changes: Sequence[Change], snapshot: Snapshot
) -> list[Diagnostic]:
    """A Dataverse environment has exactly one root business unit, adopted by name."""
    roots = [r for r in desired.values() if r.kind == "Role" and not r.spec.get("parent")]
    if len(roots) > 1:
        names = ", ".join(r.name for r in roots)
        return [
            Diagnostic(
                f"a Dataverse environment has one root business unit, and {len(roots)} Roles "
                f"without a parent are declared ({names}); refused",
                name_location(root),
                root.address,
                hint="keep one Role without a parent (the root unit) and give the others a parent",
                code=_ROOT,
            )
            for root in roots
        ]
    live = _live_root(snapshot)
    if live is None:
        return []
    root_name, root_label = live
    out = []
    for change in changes:
        if change.kind != "Role":
            continue
        if change.action is Action.DELETE:
            if change.name == root_name:
                out.append(
                    Diagnostic(
                        f"Role/{root_name} is the environment's root business unit "
                        f"('{root_label}'), which Dataverse never deletes; refused",
                        change.source,
                        change.address,
                        hint=f"keep Role/{root_name} in the manifests: the root unit is "
                        "adopted, never created or deleted",
                        code=_ROOT,
                    )
                )
            continue
        if (change.after or {}).get("parent") or change.name == root_name:
            continue
        resource = desired.get(change.address)
        label = (change.after or {}).get("label") or change.name
        out.append(
            Diagnostic(
                f"a Role without a parent is the environment's root business unit, which "
                f"crmctl adopts by name, and this environment's root unit is '{root_label}' "
                f"(Role/{root_name}), not {change.name}; refused",
                (name_location(resource) if resource else None) or change.source,
                change.address,
                hint=f"rename Role/{change.name} to {root_name} in the manifests (its label "
                f"'{root_label}', and every parent: {change.name}), or rename the "
                f"environment's root business unit to '{label}' first",
                code=_ROOT,
            )
        )
    return out


_OPTION = "dataverse-option-value"


def option_value_refusals(resource: Resource, change: Change) -> list[Diagnostic]:
    """A CustomField's declared option values against the column's (`change.before`)."""
    # What the manifest itself declares (change.after also holds the values it left to
    # Dataverse, taken from the column: `adopt_unsaid`).
    wanted = picklist_values(resource.spec)
    live = {
        v.get("value"): v.get("optionValue")
        for v in (change.before or {}).get("values") or []
        if isinstance(v, dict) and v.get("optionValue") is not None
    }
    holder = {value: text for text, value in live.items()}
    labels = {v.get("value") for v in wanted}
    out: list[Diagnostic] = []
    seen: dict[int, str] = {}
    for index, option in enumerate(wanted):
        declared, text = option.get("optionValue"), option.get("value")
        if declared is None:
            continue
        where = resource.location("values", index, "optionValue") or resource.location("values")
        if declared in seen:
            out.append(
                Diagnostic(
                    f"options '{seen[declared]}' and '{text}' both declare optionValue "
                    f"{declared}; an option's value is unique in its choice; refused",
                    where,
                    resource.address,
                    code=_OPTION,
                )
            )
            continue
        seen[declared] = str(text)
        now = live.get(text)
        if now is not None and now != declared:
            out.append(
                Diagnostic(
                    f"option '{text}' has the value {now} in Dataverse, and Dataverse cannot "
                    f"change an option's value (UpdateOptionValue changes its label only): "
                    f"optionValue {declared} is refused",
                    where,
                    resource.address,
                    hint=f"write optionValue: {now}; or remove the option in one apply and "
                    f"add it with the new value in the next (records holding it lose it)",
                    code=_OPTION,
                )
            )
        elif now is None and declared in holder and holder[declared] in labels:
            out.append(
                Diagnostic(
                    f"optionValue {declared} is option '{holder[declared]}''s in Dataverse, "
                    f"which the manifest keeps; refused",
                    where,
                    resource.address,
                    hint="give this option another value, or leave optionValue out "
                    "(Dataverse assigns the next one)",
                    code=_OPTION,
                )
            )
    return out


def _new_option_values(
    desired: Mapping[str, Resource], changes: Sequence[Change]
) -> list[tuple[Resource, int, int]]:
    """(resource, index in values, declared value) of each option a change creates."""
    out = []
    for change in changes:
        resource = desired.get(change.address)
        if change.kind != "CustomField" or resource is None or change.after is None:
            continue
        live = {v.get("value") for v in (change.before or {}).get("values") or []}
        for index, option in enumerate(picklist_values(resource.spec)):
            if option.get("optionValue") is not None and option["value"] not in live:
                out.append((resource, index, int(option["optionValue"])))
    return out


def option_prefix_warnings(
    api: WebApi, desired: Mapping[str, Resource], changes: Sequence[Change]
) -> list[Diagnostic]:
    """New options whose declared value lacks the option-value prefix of the solution's
    publisher (`customizationoptionvalueprefix`, 10,000 to 99,999: values prefix × 10,000 to
    prefix × 10,000 + 9,999). Dataverse documents the prefix, not a refusal of other values,
    so this is a warning. One request, only when such an option is planned."""
    new = _new_option_values(desired, changes)
    if not new or not api.solution:
        return []
    try:
        rows = api.get(
            "solutions",
            {
                "$select": "uniquename",
                "$filter": f"uniquename eq {literal(api.solution)}",
                "$expand": "publisherid($select=uniquename,customizationoptionvalueprefix)",
            },
        ).get("value", [])
    except ProviderError:
        return []  # the write says what is wrong with the solution
    publisher = (rows[0].get("publisherid") or {}) if rows else {}
    prefix = publisher.get("customizationoptionvalueprefix")
    if not isinstance(prefix, int):
        return []
    low, high = prefix * 10000, prefix * 10000 + 9999
    return [
        Diagnostic(
            f"optionValue {value} does not carry the option-value prefix {prefix} of publisher "
            f"{publisher.get('uniquename')} (solution {api.solution}: {low} to {high}); "
            "Dataverse stores it, but the option will not read as this publisher's",
            resource.location("values", index, "optionValue") or resource.location("values"),
            resource.address,
            hint=f"use a value from {low} to {high}, or leave optionValue out",
            severity=Severity.WARNING,
            code=_OPTION,
        )
        for resource, index, value in new
        if not low <= value <= high
    ]
