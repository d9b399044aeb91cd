"""The report of `crmctl access`: text (per object and field), CSV and JSON from one report."""

from __future__ import annotations

import json
import re

from crmctl.access.effective import AccessReport, Grant, Target
from crmctl.render.style import paint

__all__ = ["access_text", "access_csv", "access_json"]


def _by_target(report: AccessReport) -> dict[Target, list[tuple[str, str, str]]]:
    """target -> (user, permissions, paths) rows, in user order; each text made once."""
    out: dict[Target, list[tuple[str, str, str]]] = {t: [] for t in report.targets}
    texts: dict[tuple[int, int], tuple[str, str]] = {}
    for user, profile in sorted(report.profiles, key=lambda up: up[0].lower()):
        for target, permissions, via in profile:
            key = (id(permissions), id(via))
            text = texts.get(key)
            if text is None:
                grant = Grant(user, target, permissions, via)
                text = texts[key] = (", ".join(permissions), _via(grant))
            row = (user, *text)
            bucket = out.get(target)
            if bucket is None:
                out[target] = [row]
            else:
                bucket.append(row)
    return out


def _via(grant: Grant) -> str:
    """`A, B` when every permission comes the same way, else `read: A; edit: B`."""
    if len(set(grant.via)) == 1:
        return ", ".join(grant.via[0])
    return "; ".join(
        f"{p}: {', '.join(v)}" for p, v in zip(grant.permissions, grant.via, strict=True)
    )


def access_text(
    report: AccessReport, heading: str, colour: bool = False, skip_empty: bool = False
) -> str:
    """Per object and field: every user holding a permission on it, and through what.

    A target nobody holds anything on says so, unless `skip_empty` (a report about
    chosen users lists only what they hold).
    """
    width = max((len(u.name) for u in report.users), default=10)
    lines = [heading, ""]
    for target, grants in _by_target(report).items():
        if skip_empty and not grants:
            continue
        label = (
            f"{target.name}  [{target.classification}]"
            if target.field
            else f"{target.name} (object)"
        )
        lines.append(paint(label, None, colour, bold=True))
        if not grants:
            lines.append("  nobody")
        rows = grants
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
        f"{fields} field{'s' * (fields != 1)}, {report.grant_count} grant{'s' * (report.grant_count != 1)}."
    )
    return "\n".join(lines)


_QUOTED = re.compile(r'[,"\r\n]')


def _cell(text: str) -> str:
    """One CSV cell (RFC 4180): quoted when it holds a comma, a quote or a line break."""
    if _QUOTED.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def access_csv(report: AccessReport) -> str:
    """One row per user and target: the permissions held (space-separated) and the paths."""
    header = "user,role,object,field,classification,permissions,via"
    prefixes = {u.name: f"{_cell(u.name)},{_cell(u.role or '')}," for u in report.users}
    # Grants share their targets, and their permissions and paths (one tuple for many fields
    # and users): each text is made once.
    heads: dict[Target, str] = {}
    tails: dict[tuple[int, int], str] = {}
    lines = [header]
    append = lines.append
    for user, profile in report.profiles:
        prefix = prefixes[user]
        for target, permissions, via in profile:
            head = heads.get(target)
            if head is None:
                head = heads[target] = (
                    f"{_cell(target.object)},{_cell(target.field or '')},"
                    f"{_cell(target.classification or '')},"
                )
            key = (id(permissions), id(via))
            tail = tails.get(key)
            if tail is None:
                grant = Grant(user, target, permissions, via)
                tail = tails[key] = f"{_cell(' '.join(permissions))},{_cell(_via(grant))}"
            append(prefix + head + tail)
    return "\n".join(lines)


def _json_list(items: list[str]) -> str:
    return "[\n    " + ",\n    ".join(items) + "\n  ]" if items else "[]"


def access_json(report: AccessReport, environment: str, source: str) -> str:
    """Users, targets and grants, for tools: one entry per line, so that diffs stay readable."""

    def dumps(value: object) -> str:
        return json.dumps(value, ensure_ascii=False)

    users = [
        dumps(
            {
                "name": u.name,
                "role": u.role,
                "active": u.active,
                "admin": u.admin,
                "permissionSets": list(u.permission_sets),
            }
        )
        for u in report.users
    ]
    targets = [
        dumps({"object": t.object, "field": t.field, "classification": t.classification})
        for t in report.targets
    ]
    # As in CSV, targets and paths are shared by many users and fields: encode them once.
    parts: dict[Target, str] = {}
    tails: dict[tuple[int, int], str] = {}
    heads = {u.name: f'{{"user": {dumps(u.name)}, ' for u in report.users}
    grants: list[str] = []
    append = grants.append
    for user, profile in report.profiles:
        head = heads[user]
        for target, permissions, via in profile:
            part = parts.get(target)
            if part is None:
                part = parts[target] = (
                    dumps({"object": target.object, "field": target.field})[1:-1] + ", "
                )
            key = (id(permissions), id(via))
            tail = tails.get(key)
            if tail is None:
                paths = dict(zip(permissions, via, strict=True))
                body = {
                    "permissions": list(permissions),
                    "via": {p: list(v) for p, v in paths.items()},
                }
                tail = tails[key] = dumps(body)[1:]
            append(head + part + tail)
    return (
        f'{{\n  "environment": {dumps(environment)},\n  "source": {dumps(source)},\n'
        f'  "users": {_json_list(users)},\n  "targets": {_json_list(targets)},\n'
        f'  "grants": {_json_list(grants)}\n}}'
    )
