"""Plan-time checks of what Dataverse would refuse mid-apply, located in the manifests.

    root business unit   one Role without a parent, adopted as the environment's root
                         unit by name: another name, a second root, or the root's
                         removal is refused before anything is written
    composed names       the names the provider builds from manifest values must fit
                         their column (retention: see `name_limits`)

Each check returns error diagnostics; `DataverseProvider.plan_diagnostics` gathers them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from crmctl.errors import Diagnostic, SourceLocation
from crmctl.model import Resource
from crmctl.plan.action import Action
from crmctl.plan.model import Change
from crmctl.providers.dataverse.reads import Snapshot

__all__ = ["root_unit_refusals"]

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
