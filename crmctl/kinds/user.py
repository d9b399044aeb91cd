"""User: a person's access (active flag, role, permission sets); name = username."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from crmctl.dialect import DEFAULT_DIALECT
from crmctl.errors import Diagnostic
from crmctl.kinds.base import ConfigIndex, KindHandler
from crmctl.model import Resource, address_of

__all__ = ["UserKind"]


class UserKind(KindHandler):
    kind = "User"

    def normalise(self, spec: dict[str, Any]) -> dict[str, Any]:
        spec["permissionSets"] = sorted(set(spec.get("permissionSets", [])))
        return spec

    def retired(self, live: dict[str, Any]) -> bool:
        return live.get("active") is False  # CRMs deactivate users; none deletes one

    def dependencies(self, resource: Resource, dialect: str = DEFAULT_DIALECT) -> set[str]:
        deps = {address_of("PermissionSet", p) for p in resource.spec.get("permissionSets", [])}
        role = resource.spec.get("role")
        if isinstance(role, str):
            deps.add(address_of("Role", role))
        return deps

    def check(self, resource: Resource, index: ConfigIndex) -> Iterator[Diagnostic]:
        role = resource.spec.get("role")
        if isinstance(role, str) and role.lower() not in index.roles:
            yield self.error(resource, f"role '{role}' is not declared", "role")
        for i, name in enumerate(resource.spec.get("permissionSets") or []):
            if isinstance(name, str) and name.lower() not in index.permission_sets:
                yield self.error(
                    resource, f"permission set '{name}' is not declared", "permissionSets", i
                )
