"""Role: a node of the role hierarchy."""

from __future__ import annotations

from collections.abc import Iterator

from crmctl.dialect import DEFAULT_DIALECT
from crmctl.errors import Diagnostic
from crmctl.kinds.base import ConfigIndex, KindHandler
from crmctl.model import Resource, address_of

__all__ = ["RoleKind"]


class RoleKind(KindHandler):
    kind = "Role"

    def dependencies(self, resource: Resource, dialect: str = DEFAULT_DIALECT) -> set[str]:
        parent = resource.spec.get("parent")
        return {address_of("Role", parent)} if isinstance(parent, str) else set()

    def check(self, resource: Resource, index: ConfigIndex) -> Iterator[Diagnostic]:
        parent = resource.spec.get("parent")
        if isinstance(parent, str) and parent.lower() not in index.roles:
            yield self.error(resource, f"parent role '{parent}' is not declared", "parent")

    def check_all(self, resources: list[Resource], index: ConfigIndex) -> Iterator[Diagnostic]:
        parents = {r.name: r.spec.get("parent") for r in resources}
        by_name = {r.name: r for r in resources}
        reported: set[str] = set()
        for start in sorted(parents):
            path: list[str] = []
            node: str | None = start
            while isinstance(node, str) and node in parents and node not in path:
                path.append(node)
                node = parents[node]
            if node in path:
                cycle = path[path.index(node) :]
                key = min(cycle)
                if key in reported:
                    continue
                reported.add(key)
                first = by_name[key]
                # Rotate so the report starts at a stable place.
                i = cycle.index(key)
                ring = cycle[i:] + cycle[:i] + [key]
                yield self.error(
                    first, "role hierarchy has a cycle: " + " -> ".join(ring), "parent"
                )
