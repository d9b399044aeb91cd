"""`crmctl access --format html`: a users x fields matrix coloured by access, paths on hover."""

from __future__ import annotations

from crmctl.access.effective import AccessReport, Grant, Target
from crmctl.errors import CrmctlError
from crmctl.render.html_page import bar_chart, esc, page

__all__ = ["access_html", "MAX_CELLS"]

#: Beyond this many cells the page is too big to open; filters narrow it.
MAX_CELLS = 250_000

_LEVELS = {  # level -> (css class, cell letter, legend)
    "admin": ("a", "A", "admin (bypasses every check)"),
    "edit": ("e", "E", "read and edit"),
    "read": ("r", "R", "read only"),
    "other": ("o", "·", "other object permissions (create or delete only)"),
    "none": ("n", "", "no access"),
}
_CSS = """
.matrix { overflow: auto; max-height: 80vh; }
.matrix table { width: auto; border-collapse: separate; border-spacing: 0; }
.matrix th, .matrix td { border-bottom: 1px solid #eceff2; border-right: 1px solid #eceff2;
  padding: 0; }
.matrix thead th { position: sticky; top: 0; background: #fff; z-index: 1; height: 150px;
  vertical-align: bottom; white-space: nowrap; }
.matrix thead th div { writing-mode: vertical-rl; transform: rotate(180deg); padding: 4px 2px;
  font-weight: 500; font-size: 12px; }
.matrix th.u { position: sticky; left: 0; background: #fff; text-align: left; padding: 2px 8px;
  white-space: nowrap; font-weight: 500; z-index: 2; }
.matrix td { width: 22px; min-width: 22px; height: 20px; text-align: center; font-size: 11px;
  font-weight: 700; }
td.a { background: #6a1b9a; color: #fff; } td.e { background: #c62828; color: #fff; }
td.r { background: #f9a825; color: #1d2329; } td.o { background: #cfd8dc; }
td.n { background: #fff; }
tr.inactive th.u { color: #9aa3ab; text-decoration: line-through; }
.cls-PII { color: #c62828; } .cls-Sensitive { color: #6a1b9a; }
.legend span.sw { display: inline-block; width: 14px; height: 14px; vertical-align: middle;
  margin: 0 4px 0 12px; border: 1px solid #ccd; }
"""


def _level(grant: Grant, admins: set[str]) -> str:
    if grant.user in admins:
        return "admin"
    if "edit" in grant.permissions:
        return "edit"
    if "read" in grant.permissions:
        return "read"
    return "other"


def _hover(user: str, target: Target, grant: Grant | None, active: bool) -> str:
    if not active:
        return f"{user} on {target.name}: nothing (inactive user)"
    if grant is None:
        return f"{user} on {target.name}: no access"
    paths = "; ".join(f"{perm} via {', '.join(via)}" for perm, via in grant.paths().items())
    return f"{user} on {target.name}: {paths}"


def _column(target: Target) -> str:
    label = target.name if target.field else f"{target.name} (object)"
    cls = target.classification or ""
    mark = f" [{cls}]" if cls else ""
    return (
        f'<th title="{esc(label + mark)}"><div class="cls-{esc(cls)}">{esc(label)}'
        f"{esc(mark)}</div></th>"
    )


def access_html(report: AccessReport, environment: str, source: str) -> str:
    """The page; raises CrmctlError when the matrix is too big to be read (filters help)."""
    cells = len(report.users) * len(report.targets)
    if cells > MAX_CELLS:
        raise CrmctlError(
            f"the access matrix would have {cells:,} cells ({len(report.users)} users x "
            f"{len(report.targets)} fields and objects), too many for one page",
            hint="narrow it: --classification PII,Sensitive, --field 'Contact.*' or --user NAME "
            "(csv and json have no limit)",
        )
    admins = {u.name for u in report.users if u.admin and u.active}
    by_cell = {(g.user, g.target): g for g in report.grants}
    counts = {level: 0 for level in _LEVELS}
    rows = []
    for user in report.users:
        cls = "" if user.active else ' class="inactive"'
        sets = ", ".join(user.permission_sets) or "no permission sets"
        about = f"{user.name}: role {user.role or 'none'}; {sets}"
        head = f'<th class="u" title="{esc(about)}">{esc(user.name)}</th>'
        tds = []
        for target in report.targets:
            grant = by_cell.get((user.name, target)) if user.active else None
            level = "none" if grant is None else _level(grant, admins)
            counts[level] += 1
            css, letter, _ = _LEVELS[level]
            tds.append(
                f'<td class="{css}" title="{esc(_hover(user.name, target, grant, user.active))}">'
                f"{letter}</td>"
            )
        rows.append(f"<tr{cls}>{head}{''.join(tds)}</tr>")
    fields = sum(1 for t in report.targets if t.field)
    objects = len(report.targets) - fields
    subtitle = (
        f"Environment {environment}, from {source}: {len(report.users)} users, "
        f"{objects} objects, {fields} fields, {report.grant_count} grants"
    )
    legend = "".join(
        f'<span class="sw" style="background:{colour}"></span>{esc(text)}'
        for colour, (_, _, text) in zip(
            ("#6a1b9a", "#c62828", "#f9a825", "#cfd8dc", "#fff"), _LEVELS.values(), strict=True
        )
    )
    colours = {"admin": "#6a1b9a", "edit": "#c62828", "read": "#f9a825", "other": "#90a4ae"}
    chart = bar_chart(
        "Cells by access",
        [(k, [(_LEVELS[k][2], counts[k], colours[k])]) for k in colours],
        width=420,
    )
    inactive = [u.name for u in report.users if not u.active]
    body = [
        '<section><h2>Summary</h2><div class="cards"><div class="card">'
        f"<h3>Access by cell</h3>{chart}</div>"
        '<div class="card"><h3>How to read it</h3><p>One row per user, one column per object '
        "or custom field. Hover a cell for what the user may do and through which permission "
        "sets or system permissions. A custom field needs both the object and the field "
        "permission; admins (ModifyAllData, CustomizeApplication) bypass every check."
        + (f" Inactive users (no access): {esc(', '.join(inactive))}." if inactive else "")
        + "</p></div></div></section>",
        f'<section><h2>Matrix</h2><p class="legend">{legend}</p><div class="matrix"><table>'
        f'<thead><tr><th class="u">user</th>{"".join(_column(t) for t in report.targets)}'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div></section>",
    ]
    return page(f"crmctl access: {environment}", subtitle, body, extra_css=_CSS)
