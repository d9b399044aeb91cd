"""The report of `crmctl access`: text (per object and field), CSV and JSON from one report."""

from __future__ import annotations

import csv
import io
import json

from crmctl.access.effective import AccessReport, Grant, Target
from crmctl.render.style import paint

__all__ = ["access_text", "access_csv", "access_json"]


def _by_target(report: AccessReport) -> dict[Target, dict[str, list[Grant]]]:
    out: dict[Target, dict[str, list[Grant]]] = {t: {} for t in report.targets}
    for grant in report.grants:
        out.setdefault(grant.target, {}).setdefault(grant.user, []).append(grant)
    return out


def _held(grants: list[Grant]) -> tuple[str, str]:
    """(`read, edit`, `via …`) for one user's grants on one target."""
    perms = ", ".join(g.permission for g in grants)
    vias = {g.via for g in grants}
    if len(vias) == 1:
        return perms, ", ".join(grants[0].via)
    return perms, "; ".join(f"{g.permission}: {', '.join(g.via)}" for g in grants)


def access_text(
    report: AccessReport, heading: str, colour: bool = False, skip_empty: bool = False
) -> str:
    """Per object and field: every user holding a permission on it, and through what.

    A target nobody holds anything on says so, unless `skip_empty` (a report about
    chosen users lists only what they hold).
    """
    width = max((len(u.name) for u in report.users), default=10)
    lines = [heading, ""]
    for target, users in _by_target(report).items():
        if skip_empty and not users:
            continue
        label = (
            f"{target.name}  [{target.classification}]"
            if target.field
            else f"{target.name} (object)"
        )
        lines.append(paint(label, None, colour, bold=True))
        if not users:
            lines.append("  nobody")
        rows = [
            (user, *_held(grants))
            for user, grants in sorted(users.items(), key=lambda i: i[0].lower())
        ]
        perm_width = max((len(r[1]) for r in rows), default=0)
        for user, perms, via in rows:
            lines.append(f"  {user:<{width}}  {perms:<{perm_width}}  via {via}")
        lines.append("")
    inactive = [u.name for u in report.users if not u.active]
    if inactive:
        lines.append(f"Inactive users (no access): {', '.join(inactive)}")
        lines.append("")
    fields = sum(1 for t in report.targets if t.field)
    objects = len(report.targets) - fields
    lines.append(
        f"{len(report.users)} user{'s' * (len(report.users) != 1)}, {objects} object{'s' * (objects != 1)}, "
        f"{fields} field{'s' * (fields != 1)}, {len(report.grants)} grant{'s' * (len(report.grants) != 1)}."
    )
    return "\n".join(lines)


def access_csv(report: AccessReport) -> str:
    """One row per user, target and permission: spreadsheet- and audit-friendly."""
    roles = {u.name: u.role or "" for u in report.users}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["user", "role", "object", "field", "classification", "permission", "via"])
    writer.writerows(
        (
            g.user,
            roles.get(g.user, ""),
            g.target.object,
            g.target.field or "",
            g.target.classification or "",
            g.permission,
            "; ".join(g.via),
        )
        for g in report.grants
    )
    return buffer.getvalue().rstrip("\n")


def access_json(report: AccessReport, environment: str, source: str) -> str:
    """Users, targets and grants, for tools."""
    return json.dumps(
        {
            "environment": environment,
            "source": source,
            "users": [
                {
                    "name": u.name,
                    "role": u.role,
                    "active": u.active,
                    "admin": u.admin,
                    "permissionSets": list(u.permission_sets),
                }
                for u in report.users
            ],
            "targets": [
                {"object": t.object, "field": t.field, "classification": t.classification}
                for t in report.targets
            ],
            "grants": [
                {
                    "user": g.user,
                    "object": g.target.object,
                    "field": g.target.field,
                    "permission": g.permission,
                    "via": list(g.via),
                }
                for g in report.grants
            ],
        },
        indent=2,
        ensure_ascii=False,
    )
