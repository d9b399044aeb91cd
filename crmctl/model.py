"""The in-memory picture of configuration: resources and the desired state."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from sys import intern
from typing import Any, Protocol

from crmctl.errors import Diagnostic, SourceLocation

__all__ = [
    "Resource",
    "DesiredState",
    "SourceMap",
    "address_of",
    "share_strings",
    "ROLE_ONLY",
    "PROFILE_ONLY",
    "partial_set",
]

#: How a live User's `permissionSets` names a set the CRM holds only in part (Dataverse:
#: a security role without the field security profile of the same name, or the other way
#: round; crmctl.providers.dataverse.userprofiles). A manifest never writes these.
ROLE_ONLY = " (security role only)"
PROFILE_ONLY = " (field security profile only)"


def partial_set(entry: str) -> tuple[str, str] | None:
    """(the set's name, ROLE_ONLY or PROFILE_ONLY) of an entry naming a set held in part;
    None for a whole set's name."""
    for suffix in (ROLE_ONLY, PROFILE_ONLY):
        if entry.endswith(suffix):
            return entry[: -len(suffix)], suffix
    return None


#: A path into a YAML document: mapping keys and sequence indexes.
Path_ = tuple[str | int, ...]


class SourceMap(Protocol):
    """Where each path of one YAML document is (crmctl.config.yamlsource.SourceMap).

    The model needs only these questions answered; the YAML reader owns how
    positions are stored.
    """

    file: str
    start_line: int

    def location(self, path: Path_ = ()) -> SourceLocation: ...

    def key_line(self, path: Path_) -> int: ...

    def value_location(self, path: Path_) -> tuple[SourceLocation, str | None]: ...


def address_of(kind: str, name: str) -> str:
    """The address users type and plans print: `Kind/name`."""
    return f"{kind}/{name}"


@dataclass(slots=True)
class Resource:
    """One configuration item: identity (kind, name), the CRM-facing spec and crmctl's metadata.

    Slotted: a large organisation holds hundreds of thousands of them (desired and live).
    """

    kind: str
    name: str
    spec: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    source: SourceMap | None = None  # where it was declared; None for live resources
    # Environment overrides applied to the spec: (patch, the environment file's map, index).
    # A tuple, empty by default (most resources have none): not one list per resource.
    overrides: tuple[tuple[dict[str, Any], SourceMap, int], ...] = ()

    @property
    def address(self) -> str:
        return address_of(self.kind, self.name)

    def location(self, *spec_path: str | int) -> SourceLocation | None:
        """The source line of `spec.<path>` (or of the nearest ancestor).

        A value an environment override set is located in the environment file.
        """
        for patch, env_source, index in reversed(self.overrides):
            if spec_path and _patched(patch, spec_path):
                return env_source.location(("overrides", index, "spec", *spec_path))
        if self.source is None:
            return None
        return self.source.location(("spec", *spec_path) if spec_path else ())


def _patched(patch: Any, path: tuple[str | int, ...]) -> bool:
    """Whether a merge patch sets `path` (or one of its ancestors) to a value."""
    for part in path:
        if not isinstance(patch, dict) or part not in patch:
            return False
        patch = patch[part]
        if not isinstance(patch, dict):
            return patch is not None
    return True


@dataclass
class DesiredState:
    """What the manifests (plus the environment's overrides) say the CRM should be."""

    resources: dict[str, Resource] = field(default_factory=dict)  # by address
    files: list[Path] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity.value == "error"]

    def of_kind(self, kind: str) -> list[Resource]:
        return [r for r in self.resources.values() if r.kind == kind]


#: Strings up to this long are shared by `share_strings` (as the YAML reader does for manifests).
_SHARED_CHARS = 32


def share_strings(resources: Iterable[Resource]) -> None:
    """Intern each resource's kind and the short strings of its spec and metadata, in place.

    A live read decodes the same few values (types, classifications, permission words,
    who updated it) once per resource: a large org holds them hundreds of thousands of
    times over. The values stay equal; only duplicates are freed.
    """
    for resource in resources:
        resource.kind = intern(resource.kind)
        _share(resource.spec)
        _share(resource.metadata)


def _share(value: dict[str, Any] | list[Any]) -> None:
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        kind = type(item)
        if kind is str:
            if len(item) <= _SHARED_CHARS:
                value[key] = intern(item)  # type: ignore[index]
        elif kind is dict or kind is list:
            _share(item)
