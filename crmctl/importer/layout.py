"""Where a whole-org import puts each resource: one reviewable file per concern."""

from __future__ import annotations

from pathlib import PurePosixPath

from crmctl.dialect import DEFAULT_DIALECT, is_custom_object
from crmctl.kinds import HANDLERS

__all__ = ["layout_path", "layout_header", "LAYOUT_HEADERS"]

#: A comment opening each kind of file, saying what it holds.
LAYOUT_HEADERS = {
    "objects": "The custom object {name}: its fields, record types, validation rules and duplicate rules.",
    "standard": "Custom and customised standard fields, record types, validation rules and duplicate rules on the standard object {name}.",
    "roles": "The role hierarchy.",
    "permission-sets": "The permission set {name}.",
    "users": "Who has which access.",
    "policies": "Data retention policies.",
    "global-value-sets": "Global value sets: picklist values shared by the fields that name them.",
}


def layout_path(kind: str, name: str, dialect: str = DEFAULT_DIALECT) -> PurePosixPath:
    """The file, relative to the manifests folder, that holds a resource in a whole-org import.

    objects/<Object>.yaml       a custom object with its fields and rules
    standard/<Object>.yaml      fields and rules on a standard object
    access/roles.yaml, access/users.yaml, access/permission-sets/<Name>.yaml
    retention/policies.yaml, picklists/global-value-sets.yaml

    Which objects are custom is read in `dialect` (`nw_invoice` is custom in Dataverse's).
    """
    if kind == "CustomObject":
        return PurePosixPath("objects", f"{name}.yaml")
    obj = HANDLERS[kind].object_of(name)
    if obj is not None:
        folder = "objects" if is_custom_object(obj, dialect) else "standard"
        return PurePosixPath(folder, f"{obj}.yaml")
    if kind == "Role":
        return PurePosixPath("access", "roles.yaml")
    if kind == "PermissionSet":
        return PurePosixPath("access", "permission-sets", f"{name}.yaml")
    if kind == "User":
        return PurePosixPath("access", "users.yaml")
    if kind == "RetentionPolicy":
        return PurePosixPath("retention", "policies.yaml")
    if kind == "GlobalValueSet":
        return PurePosixPath("picklists", "global-value-sets.yaml")
    raise KeyError(kind)


def layout_header(path: PurePosixPath) -> str:
    """The comment that opens a file of the layout."""
    key = (
        path.parent.name
        if path.parent.name in ("objects", "standard", "permission-sets")
        else path.stem
    )
    return LAYOUT_HEADERS.get(key, "").format(name=path.stem)
