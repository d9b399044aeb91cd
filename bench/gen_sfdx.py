"""Write a synthetic Salesforce DX project the size of a large real org, for `crmctl import --from sfdx`.

    python bench/gen_sfdx.py OUTDIR [--objects 90] [--fields 3600] [--rules 100]
                                    [--roles 100] [--profiles 70] [--permission-sets 70]
                                    [--field-permissions 3000]

OUTDIR gets `sfdx-project.json` and `force-app/main/default/` with, by
default: 90 custom objects, 3,600 custom fields of every common type spread
over them, 100 validation rules, 100 roles in a hierarchy, 70 profiles and
70 permission sets. Each profile and each permission set has 3,000 field
permissions on the generated fields and object permissions on every
generated object (the shape of the org in issue 15: 70 profiles with
~210,000 field permissions). `crmctl import --from sfdx` leaves profiles to
the org (it lists them, unread), so the permission sets carry the volume of
permission-set YAML the import writes (about 7 MB, what the profiles gave
when import still converted them); a permission set also has a
description, a few tab settings and user permissions, as real ones do.
`--field-permissions` applies to both. The same arguments always write the
same files.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path
from xml.sax.saxutils import escape

__all__ = ["generate", "main"]

HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
NS = 'xmlns="http://soap.sforce.com/2006/04/metadata"'
WORDS = (
    "Account", "Billing", "Contract", "Delivery", "Entitlement", "Forecast", "Grant", "Hardware",
    "Invoice", "Journey", "Kit", "Ledger", "Milestone", "Notice", "Order", "Partner", "Quote",
    "Renewal", "Shipment", "Ticket", "Usage", "Vendor", "Warranty", "Yield", "Zone",
)  # fmt: skip
FIELD_WORDS = (
    "Amount", "Code", "Status", "Region", "Due", "Notes", "Score", "Owner_Team", "Approved",
    "Start", "End", "Tier", "Priority", "Reference", "Quantity", "Margin", "Channel", "Budget",
)  # fmt: skip
PICKS = (("New", "Open", "Closed"), ("Low", "Medium", "High"), ("EMEA", "AMER", "APAC"))
#: A permission set's access to an object: each level holds what Salesforce requires beside it
#: (delete needs edit, modifyAll needs viewAll and delete ...), as a real org's sets do.
LEVELS: tuple[tuple[str, ...], ...] = (
    ("read",),
    ("read", "create", "edit"),
    ("read", "create", "edit", "delete"),
    ("read", "viewAll"),
    ("read", "create", "edit", "delete", "viewAll", "modifyAll"),
)
LEVEL_WEIGHTS = (50, 30, 12, 6, 2)
USER_PERMISSIONS = ["RunReports", "ExportReport", "CreateCustomizeReports", "EditMyReports",
                    "ViewPublicReports", "ApiEnabled", "EditTask", "EditEvent"]  # fmt: skip


def _element(tag: str, body: str) -> str:
    return f"{HEAD}<{tag} {NS}>\n{body}</{tag}>\n"


def _lines(pairs: list[tuple[str, str]], indent: str = "    ") -> str:
    return "".join(f"{indent}<{k}>{escape(v)}</{k}>\n" for k, v in pairs)


def _field(rng: random.Random, name: str, label: str) -> tuple[str, str]:
    """(field XML, its type)."""
    kind = rng.choice(("Text", "Text", "Number", "Checkbox", "Date", "Picklist", "Currency"))
    pairs = [("fullName", name), ("externalId", "false"), ("label", label)]
    if kind == "Text":
        pairs += [("length", str(rng.choice((40, 80, 255)))), ("required", "false")]
    elif kind in ("Number", "Currency"):
        pairs += [("precision", "18"), ("required", "false"), ("scale", "2")]
    elif kind == "Checkbox":
        pairs += [("defaultValue", "false")]
    else:
        pairs += [("required", "false")]
    pairs += [("trackTrending", "false"), ("type", kind)]
    body = _lines(pairs)
    if kind == "Picklist":
        values = "".join(
            f"            <value>\n                <fullName>{v}</fullName>\n"
            f"                <default>false</default>\n                <label>{v}</label>\n"
            "            </value>\n"
            for v in rng.choice(PICKS)
        )
        body += (
            "    <valueSet>\n        <restricted>true</restricted>\n"
            f"        <valueSetDefinition>\n            <sorted>false</sorted>\n{values}"
            "        </valueSetDefinition>\n    </valueSet>\n"
        )
    return _element("CustomField", body), kind


def _field_permissions(rng: random.Random, all_fields: list[str], count: int) -> list[str]:
    """`count` fieldPermissions on fields drawn from `all_fields`, sorted by field as
    Salesforce retrieves them; about 18 % grant nothing (readable and editable false)."""
    parts = []
    for field in sorted(rng.sample(all_fields, count)):
        edit = rng.random() < 0.4
        read = edit or rng.random() < 0.7
        parts.append(
            "    <fieldPermissions>\n"
            f"        <editable>{str(edit).lower()}</editable>\n"
            f"        <field>{field}</field>\n"
            f"        <readable>{str(read).lower()}</readable>\n"
            "    </fieldPermissions>\n"
        )
    return parts


def _object_permission(obj: str, granted: tuple[str, ...]) -> str:
    flags = [
        ("allowCreate", "create"), ("allowDelete", "delete"), ("allowEdit", "edit"),
        ("allowRead", "read"), ("modifyAllRecords", "modifyAll"),
    ]  # fmt: skip
    pairs = [(tag, str(p in granted).lower()) for tag, p in flags]
    pairs += [("object", obj), ("viewAllRecords", str("viewAll" in granted).lower())]
    return "    <objectPermissions>\n" + _lines(pairs, "        ") + "    </objectPermissions>\n"


def generate(
    out: Path,
    objects: int = 90,
    fields: int = 3600,
    rules: int = 100,
    roles: int = 100,
    profiles: int = 70,
    field_permissions: int = 3000,
    seed: int = 1,
    permission_sets: int = 70,
) -> int:
    """Write the project; return how many metadata files were written."""
    rng = random.Random(seed)
    base = out / "force-app" / "main" / "default"
    out.mkdir(parents=True, exist_ok=True)
    (out / "sfdx-project.json").write_text(
        '{"packageDirectories": [{"path": "force-app", "default": true}], '
        '"sourceApiVersion": "61.0"}\n'
    )
    written = 0
    names = [f"{WORDS[i % len(WORDS)]}_{i // len(WORDS) + 1}__c" for i in range(objects)]
    all_fields: list[str] = []
    checkable: dict[str, list[tuple[str, str]]] = {}
    for i in range(fields):
        obj = names[i % objects]
        word = FIELD_WORDS[(i // objects) % len(FIELD_WORDS)]
        field = f"{word}_{i // objects + 1}__c"
        xml, kind = _field(rng, field, f"{word.replace('_', ' ')} {i // objects + 1}")
        path = base / "objects" / obj / "fields" / f"{field}.field-meta.xml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(xml)
        written += 1
        all_fields.append(f"{obj}.{field}")
        checkable.setdefault(obj, []).append((field, kind))
    for obj in names:
        label = obj.removesuffix("__c").replace("_", " ")
        body = _lines(
            [
                ("deploymentStatus", "Deployed"),
                ("description", f"The {label} records."),
                ("label", label),
            ]  # fmt: skip
        )
        body += "    <nameField>\n" + _lines(
            [("label", f"{label} Name"), ("type", "Text")], "        "
        )
        body += "    </nameField>\n" + _lines(
            [("pluralLabel", f"{label}s"), ("sharingModel", rng.choice(("Private", "Read")))]
        )
        path = base / "objects" / obj / f"{obj}.object-meta.xml"
        path.write_text(_element("CustomObject", body))
        written += 1
    for i in range(rules):
        obj = names[i % objects]
        field, kind = checkable[obj][i // objects % len(checkable[obj])]
        formula = {
            "Number": f"{field} < 0",
            "Currency": f"{field} < 0",
            "Checkbox": f"{field} && ISBLANK(Name)",
            "Picklist": f'ISPICKVAL({field}, "Closed") && ISBLANK(Name)',
        }.get(kind, f"ISBLANK({field})")
        rule = f"Check_{i + 1}"
        body = _lines(
            [
                ("fullName", rule),
                ("active", "true"),
                ("errorConditionFormula", formula),
                ("errorMessage", f"Rule {i + 1}: fix {field} before saving."),
            ]  # fmt: skip
        )
        path = base / "objects" / obj / "validationRules" / f"{rule}.validationRule-meta.xml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_element("ValidationRule", body))
        written += 1
    (base / "roles").mkdir(parents=True, exist_ok=True)
    role_names = [f"Region_{i + 1}_Team" for i in range(roles)]
    for i, role in enumerate(role_names):
        pairs = [("caseAccessLevel", "Edit"), ("contactAccessLevel", "Edit"),
                 ("description", f"Team {i + 1}"), ("mayForecastManagerShare", "false"),
                 ("name", f"Region {i + 1} Team"), ("opportunityAccessLevel", "Read")]  # fmt: skip
        if i:
            pairs.append(("parentRole", role_names[(i - 1) // 3]))
        (base / "roles" / f"{role}.role-meta.xml").write_text(_element("Role", _lines(pairs)))
        written += 1
    (base / "profiles").mkdir(parents=True, exist_ok=True)
    count = min(field_permissions, len(all_fields))
    for p in range(profiles):
        parts = _field_permissions(rng, all_fields, count)
        for obj in names:
            edit = rng.random() < 0.5
            parts.append(_object_permission(obj, ("read", "create", "edit") if edit else ("read",)))
        parts.append("    <userLicense>Salesforce</userLicense>\n")
        name = f"Sales Profile {p + 1}"
        (base / "profiles" / f"{name}.profile-meta.xml").write_text(
            _element("Profile", "    <custom>true</custom>\n" + "".join(parts))
        )
        written += 1
    (base / "permissionsets").mkdir(parents=True, exist_ok=True)
    for p in range(permission_sets):
        team = f"{WORDS[p % len(WORDS)]} Access {p // len(WORDS) + 1}"
        # Salesforce's element order: description, fieldPermissions, hasActivationRequired,
        # label, objectPermissions, tabSettings, userPermissions.
        parts = [f"    <description>Field and object access for the {team} team.</description>\n"]
        parts += _field_permissions(rng, all_fields, count)
        parts.append("    <hasActivationRequired>false</hasActivationRequired>\n")
        parts.append(f"    <label>{team}</label>\n")
        for obj in names:
            parts.append(_object_permission(obj, rng.choices(LEVELS, LEVEL_WEIGHTS)[0]))
        for obj in sorted(rng.sample(names, min(3, len(names)))):
            parts.append(
                f"    <tabSettings>\n        <tab>{obj}</tab>\n"
                "        <visibility>Visible</visibility>\n    </tabSettings>\n"
            )
        for permission in sorted(rng.sample(USER_PERMISSIONS, rng.randint(0, 3))):
            parts.append(
                "    <userPermissions>\n        <enabled>true</enabled>\n"
                f"        <name>{permission}</name>\n    </userPermissions>\n"
            )
        path = base / "permissionsets" / f"{team.replace(' ', '_')}.permissionset-meta.xml"
        path.write_text(_element("PermissionSet", "".join(parts)))
        written += 1
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--objects", type=int, default=90)
    parser.add_argument("--fields", type=int, default=3600)
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--roles", type=int, default=100)
    parser.add_argument("--profiles", type=int, default=70)
    parser.add_argument("--permission-sets", type=int, default=70)
    parser.add_argument("--field-permissions", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    count = generate(
        args.outdir, args.objects, args.fields, args.rules, args.roles, args.profiles,
        args.field_permissions, args.seed, args.permission_sets,
    )  # fmt: skip
    print(f"wrote {count} metadata files to {args.outdir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
