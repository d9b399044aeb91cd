"""Security roles <-> PermissionSets, business units <-> Roles, systemusers <-> Users.

A security role is matched by its name in the root business unit (Dataverse
copies a root role into every child unit under another id). Its table
privileges `prv<Verb><Table>` become `objects` (read, create, edit, delete)
and `depths` (every verb, Basic/Local/Deep/Global); other privileges
(`prvExportToExcel`…) are not modelled and are left as they are.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "api_name",
    "privilege_name",
    "parse_privilege",
    "role_spec",
    "DEPTHS",
    "VERB_OF",
    "PRIVILEGE_OF",
]

#: Dataverse PrivilegeDepth: its names and numbers (Basic 0, Local 1, Deep 2, Global 3).
DEPTHS = ("Basic", "Local", "Deep", "Global")
#: crmctl verb -> the privilege verb in prv<Verb><Table>.
PRIVILEGE_OF = {
    "read": "Read",
    "create": "Create",
    "edit": "Write",
    "delete": "Delete",
    "append": "Append",
    "appendTo": "AppendTo",
    "assign": "Assign",
    "share": "Share",
}
VERB_OF = {v: k for k, v in PRIVILEGE_OF.items()}
_SHARED = ("read", "create", "edit", "delete")
_PRIVILEGE = re.compile(r"^prv(AppendTo|Append|Assign|Create|Delete|Read|Share|Write)(\w+)$")


def api_name(text: str) -> str:
    """A crmctl name from a display name: `Sales Rep (EMEA)` -> `Sales_Rep_EMEA`."""
    name = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")
    return name if name[:1].isalpha() else f"R_{name}"


def privilege_name(verb: str, table: str) -> str:
    return f"prv{PRIVILEGE_OF[verb]}{table}"


def parse_privilege(name: str) -> tuple[str, str] | None:
    """(crmctl verb, table logical name) of a table privilege, or None."""
    found = _PRIVILEGE.match(name or "")
    if not found:
        return None
    return VERB_OF[found.group(1)], found.group(2).lower()


def depth_name(depth: Any) -> str | None:
    """`Global` for 3, "3" or "Global"."""
    if isinstance(depth, int) or (isinstance(depth, str) and depth.isdigit()):
        index = int(depth)
        return DEPTHS[index] if 0 <= index < len(DEPTHS) else None
    return depth if depth in DEPTHS else None


def role_spec(
    role: dict[str, Any], privileges: list[dict[str, Any]], tables: set[str] | None
) -> dict[str, Any]:
    """A security role and its privileges as a PermissionSet spec.

    `tables`: the tables whose privileges are modelled (None: every table).
    """
    objects: dict[str, list[str]] = {}
    depths: dict[str, dict[str, str]] = {}
    for privilege in privileges:
        found = parse_privilege(str(privilege.get("PrivilegeName") or privilege.get("name") or ""))
        depth = depth_name(privilege.get("Depth"))
        if found is None or depth is None:
            continue
        verb, table = found
        if tables is not None and table not in tables:
            continue
        depths.setdefault(table, {})[verb] = depth
        if verb in _SHARED:
            objects.setdefault(table, []).append(verb)
    spec: dict[str, Any] = {"label": role.get("name") or ""}
    description = role.get("description")
    if description:
        spec["description"] = description
    if objects:
        spec["objects"] = {t: sorted(v, key=_SHARED.index) for t, v in sorted(objects.items())}
    if depths:
        spec["depths"] = {t: dict(sorted(d.items())) for t, d in sorted(depths.items())}
    return spec


def wanted_privileges(spec: dict[str, Any]) -> dict[str, str]:
    """privilege name -> depth a PermissionSet spec asks for.

    A verb in `objects` without a depth in `depths` gets Global (the organisation),
    which is what a neutral "may read this object" means where no depth is said.
    """
    out: dict[str, str] = {}
    depths = spec.get("depths") or {}
    for table, verbs in (spec.get("objects") or {}).items():
        for verb in verbs:
            if verb in PRIVILEGE_OF:
                out[privilege_name(verb, table)] = "Global"
            elif verb in ("viewAll", "modifyAll"):
                for implied in ("read",) if verb == "viewAll" else ("read", "edit", "delete"):
                    out[privilege_name(implied, table)] = "Global"
    for table, verbs in depths.items():
        for verb, depth in verbs.items():
            out[privilege_name(verb, table)] = depth
    return out
