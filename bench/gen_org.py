"""Write a synthetic, valid CRM organisation for benchmarks and tests.

    python bench/gen_org.py OUTDIR --resources 10000 [--seed N]

OUTDIR gets `manifests/` (one file per custom object with its fields,
validation rules and duplicate rules; fields on standard objects; roles,
permission sets, users and retention policies) and `environments/local.yaml`.
The mix follows a large real org: for 10,000 resources, 100 custom objects,
about 8,000 fields of every type, 800 validation rules with real-looking
formulas, 150 roles, 50 permission sets holding thousands of field
permissions, 750 users, 100 duplicate rules and 50 retention policies. The
same seed always writes the same files.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = ["generate", "main"]

#: Share of each kind in the organisation; fields take whatever is left.
SHARES = {
    "CustomObject": 0.01,
    "ValidationRule": 0.08,
    "Role": 0.015,
    "PermissionSet": 0.005,
    "User": 0.075,
    "DuplicateRule": 0.01,
    "RetentionPolicy": 0.005,
}

STANDARD = ("Account", "Contact", "Lead", "Opportunity", "Case")
PREFIXES = (
    "Service", "Sales", "Partner", "Product", "Customer", "Billing", "Field", "Support",
    "Marketing", "Project", "Vendor", "Contract", "Asset", "Order", "Quality", "Training",
)  # fmt: skip
NOUNS = (
    "Agreement", "Visit", "Claim", "Shipment", "Milestone", "Survey", "Incident", "Booking",
    "Renewal", "Inspection", "Certificate", "Request", "Payment", "Forecast", "Territory",
    "Warranty", "Review", "Entitlement", "Allocation", "Estimate",
)  # fmt: skip
#: Field names by type, so a Date field is called Start or Renewal, not Region.
WORDS = {
    "Text": ("Reference", "Code", "Source", "Owner_Team", "External_Key", "Summary_Line"),
    "TextArea": ("Notes", "Comments", "Instructions"),
    "LongTextArea": ("Details", "History", "Transcript"),
    "Number": ("Quantity", "Score", "Seats", "Units", "Attempts"),
    "Currency": ("Amount", "Budget", "Price", "Fee", "Credit_Limit"),
    "Percent": ("Discount", "Margin", "Probability", "Commission"),
    "Date": ("Start", "End", "Due", "Review", "Renewal", "Signed", "Closed"),
    "DateTime": ("Last_Contacted", "Submitted_At", "Escalated_At"),
    "Checkbox": ("Approved", "Verified", "Is_Active", "Opted_Out", "Needs_Review"),
    "Email": ("Email", "Billing_Email", "Notify_Email"),
    "Phone": ("Phone", "Hotline", "Mobile"),
    "Url": ("Website", "Portal_Url"),
    "Picklist": ("Region", "Tier", "Stage", "Status", "Priority", "Channel", "Segment"),
    "MultiPicklist": ("Interests", "Products", "Languages"),
    "Lookup": ("Related", "Parent", "Partner", "Primary"),
}
PICKLISTS = (
    ("New", "In Progress", "On Hold", "Closed"),
    ("Low", "Medium", "High", "Critical"),
    ("EMEA", "AMER", "APAC", "LATAM"),
    ("Bronze", "Silver", "Gold", "Platinum"),
    ("Web", "Phone", "Email", "Partner", "Event", "Referral"),
    ("Draft", "Submitted", "Approved", "Rejected", "Cancelled"),
)
#: Each custom object first gets one field of each of these, so formulas have what they need.
BASE_TYPES = ("Picklist", "Date", "Date", "Number", "Currency", "Text", "Checkbox", "Email")
OTHER_TYPES = (
    ("Text", 18), ("TextArea", 4), ("LongTextArea", 3), ("Number", 8), ("Currency", 6),
    ("Percent", 5), ("Date", 8), ("DateTime", 6), ("Checkbox", 8), ("Email", 3),
    ("Phone", 3), ("Url", 2), ("Picklist", 12), ("MultiPicklist", 3), ("Lookup", 6),
)  # fmt: skip
FIRST_NAMES = (
    "Ada", "Bilal", "Chen", "Dana", "Elif", "Femi", "Greta", "Hiro", "Ines", "Jonas", "Kai",
    "Lena", "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Vera",
)  # fmt: skip
LAST_NAMES = (
    "Andersen", "Berg", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito",
    "Jensen", "Kowalski", "Larsen", "Moreau", "Nakamura", "Okafor", "Petrov", "Rossi",
)  # fmt: skip
SYSTEM_PERMISSIONS = ("ApiEnabled", "ExportReport", "ManageUsers", "ViewSetup", "RunReports")
OBJECT_ACCESS = (
    ["read"],
    ["read", "create"],
    ["read", "create", "edit"],
    ["read", "create", "edit", "delete"],
    ["read", "edit", "viewAll"],
    ["read", "create", "edit", "delete", "viewAll", "modifyAll"],
)

ENVIRONMENT = """\
description: Synthetic organisation for benchmarks (bench/gen_org.py)
provider:
  type: sandbox
  path: .crmctl/sandbox.db
manifests:
  - manifests
"""


@dataclass
class CrmObject:
    """An object of the org and the fields it has, by type."""

    name: str
    custom: bool
    fields: dict[str, list[str]] = field(default_factory=dict)  # type -> field names
    relationships: list[str] = field(default_factory=list)  # e.g. Parent_3__r
    docs: list[dict[str, Any]] = field(default_factory=list)

    def add(self, ftype: str, name: str) -> None:
        self.fields.setdefault(ftype, []).append(name)

    def pick(self, rng: random.Random, ftype: str) -> str | None:
        names = self.fields.get(ftype)
        return rng.choice(names) if names else None


def _document(kind: str, name: str, spec: dict[str, Any], owner: str) -> dict[str, Any]:
    return {
        "apiVersion": "crmctl/v1",
        "kind": kind,
        "metadata": {"name": name, "owner": owner},
        "spec": spec,
    }


def _counts(resources: int) -> dict[str, int]:
    counts = {kind: max(1, round(resources * share)) for kind, share in SHARES.items()}
    counts["CustomField"] = resources - sum(counts.values())
    if counts["CustomField"] < len(BASE_TYPES) * counts["CustomObject"]:
        raise SystemExit(f"--resources {resources} is too small; use at least 100")
    return counts


def _object_names(rng: random.Random, count: int) -> list[str]:
    combos = [f"{p}_{n}" for p in PREFIXES for n in NOUNS]
    rng.shuffle(combos)
    names = combos[:count]
    names += [f"Extra_Object_{i}" for i in range(count - len(names))]
    return [f"{n}__c" for n in names]


def _field_spec(
    rng: random.Random, ftype: str, label: str, targets: list[str], rel: str
) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": ftype, "label": label}
    if ftype == "Text":
        spec["length"] = rng.choice((20, 40, 80, 120, 255))
    elif ftype == "LongTextArea":
        spec["length"] = rng.choice((1000, 4000, 32768))
    elif ftype in ("Number", "Currency", "Percent"):
        precision = rng.choice((3, 5, 8, 12, 16, 18))
        spec["precision"] = precision
        spec["scale"] = rng.randint(0, min(4, precision))
    elif ftype in ("Picklist", "MultiPicklist"):
        values: list[Any] = list(rng.choice(PICKLISTS))
        if ftype == "Picklist" and rng.random() < 0.4:
            values[0] = {"value": values[0], "default": True}
        if rng.random() < 0.2:
            values[-1] = {"value": values[-1], "label": f"{values[-1]} (legacy)", "active": False}
        spec["values"] = values
    elif ftype == "Lookup":
        spec["referenceTo"] = rng.choice(targets)
        spec["relationshipName"] = rel
    elif ftype == "Checkbox":
        spec["defaultValue"] = rng.random() < 0.3
    if rng.random() < 0.3:
        spec["description"] = f"{label}, kept for reporting and follow-up."
    if rng.random() < 0.15 and ftype not in ("Checkbox", "LongTextArea", "MultiPicklist"):
        spec["required"] = True
    spec["classification"] = rng.choice(("Public", "Internal", "Internal", "Confidential", "PII"))
    return spec


def _fields(rng: random.Random, objects: list[CrmObject], count: int) -> None:
    """Spread `count` fields over the objects: each custom object first gets the base types."""
    custom = [o for o in objects if o.custom]
    targets = [o.name for o in custom] + list(STANDARD)
    plan: list[tuple[CrmObject, str]] = [(o, t) for o in custom for t in BASE_TYPES]
    types = [t for t, _ in OTHER_TYPES]
    weights = [w for _, w in OTHER_TYPES]
    while len(plan) < count:
        owner = rng.choice(objects) if rng.random() < 0.9 else rng.choice(custom)
        plan.append((owner, rng.choices(types, weights)[0]))
    serial: dict[str, int] = {}
    for obj, ftype in plan:
        word = rng.choice(WORDS[ftype])
        serial[obj.name] = serial.get(obj.name, 0) + 1
        api = f"{word}_{serial[obj.name]}"
        label = f"{word.replace('_', ' ')} {serial[obj.name]}"
        spec = _field_spec(rng, ftype, label, targets, api)
        obj.add(ftype, f"{api}__c")
        if ftype == "Lookup":
            obj.relationships.append(f"{api}__r")
        kind_owner = "sales-ops" if obj.custom else "crm-admins"
        obj.docs.append(_document("CustomField", f"{obj.name}.{api}__c", spec, kind_owner))


#: Formula templates: (needed field types, builder). Builders get one field name per type.
FORMULAS: list[tuple[tuple[str, ...], Callable[..., str]]] = [
    (("Picklist", "Date"), lambda p, d: f'ISPICKVAL({p}, "Closed") && ISBLANK({d})'),
    (("Number",), lambda n: f"OR({n} < 0, {n} > 1000000)"),
    (("Date", "Date"), lambda a, b: f"NOT(ISBLANK({a})) && {a} < {b}"),
    (("Text",), lambda t: f'LEN({t}) > 0 && NOT(REGEX({t}, "[A-Z0-9-]+"))'),
    (("Checkbox", "Email"), lambda c, e: f"AND({c}, ISBLANK({e}))"),
    (("Currency", "Picklist"), lambda c, p: f'{c} > 50000 && NOT(ISPICKVAL({p}, "Approved"))'),
    (
        ("Picklist", "Number", "Date"),
        lambda p, n, d: (
            "AND(\n"
            f'  ISPICKVAL({p}, "In Progress"),\n'
            f"  OR(ISBLANK({n}), {n} <= 0),  /* needs a positive figure */\n"
            f"  {d} < TODAY()\n"
            ")\n"
        ),
    ),
    (("Date",), lambda d: f"{d} > ADDMONTHS(TODAY(), 24)"),
    (
        ("Picklist", "Currency"),
        lambda p, c: f'CASE(TEXT({p}), "High", 3, "Critical", 4, 1) * 1000 < {c}',
    ),
    (("Email",), lambda e: f'NOT(ISBLANK({e})) && NOT(CONTAINS({e}, "@"))'),
    (("Text", "Checkbox"), lambda t, c: f"IF({c}, ISBLANK(TRIM({t})), false)"),
]


def _rule(rng: random.Random, obj: CrmObject, index: int) -> dict[str, Any]:
    usable = [
        (needs, build)
        for needs, build in FORMULAS
        if all(len(obj.fields.get(t, [])) >= needs.count(t) for t in set(needs))
    ]
    needs, build = rng.choice(usable)
    chosen: list[str] = []
    for ftype in needs:
        options = [f for f in obj.fields[ftype] if f not in chosen]
        chosen.append(rng.choice(options))
    condition = build(*chosen)
    if obj.relationships and rng.random() < 0.25:
        condition = f"({condition}) || ISBLANK({rng.choice(obj.relationships)}.Name)"
    spec: dict[str, Any] = {
        "condition": condition,
        "errorMessage": f"Check {chosen[0].removesuffix('__c').replace('_', ' ')} before saving.",
    }
    if rng.random() < 0.7:
        spec["errorField"] = chosen[-1]
    if rng.random() < 0.1:
        spec["active"] = False
    return _document("ValidationRule", f"{obj.name}.Rule_{index}", spec, "sales-ops")


def _duplicate_rule(rng: random.Random, obj: CrmObject, index: int) -> dict[str, Any]:
    match: list[dict[str, str]] = [{"field": "Name", "method": rng.choice(("exact", "fuzzy"))}]
    extra = obj.pick(rng, "Email") or obj.pick(rng, "Text")
    if extra:
        match.append({"field": extra})
    spec = {
        "match": match,
        "action": {"onCreate": rng.choice(("block", "alert")), "onEdit": "alert"},
    }
    return _document("DuplicateRule", f"{obj.name}.Duplicate_{index}", spec, "data-governance")


def _retention(rng: random.Random, obj: CrmObject, index: int) -> dict[str, Any]:
    date_field = obj.pick(rng, "Date") or "CreatedDate"
    action = rng.choice(("delete", "archive", "anonymize"))
    spec: dict[str, Any] = {
        "object": obj.name,
        "dateField": date_field,
        "retain": rng.choice(("P90D", "P18M", "P2Y", "P7Y", "P10Y")),
        "action": action,
    }
    if action == "anonymize":
        personal = obj.fields.get("Email", []) + obj.fields.get("Phone", [])
        spec["anonymizeFields"] = sorted(set(personal[:3])) or ["Name"]
    picklist = obj.pick(rng, "Picklist")
    if picklist and rng.random() < 0.6:
        spec["filter"] = f'ISPICKVAL({picklist}, "Closed")'
    spec["legalBasis"] = "Kept for the contract's limitation period, then removed."
    return _document("RetentionPolicy", f"Retention_{index}", spec, "legal")


def _roles(rng: random.Random, count: int) -> list[dict[str, Any]]:
    docs = [_document("Role", "CEO", {"label": "Chief Executive Officer", "parent": None}, "hr")]
    names = ["CEO"]
    for i in range(1, count):
        name = f"{rng.choice(PREFIXES)}_Role_{i}"
        parent = rng.choice(names)  # an earlier role, so the hierarchy has no cycle
        docs.append(
            _document("Role", name, {"label": name.replace("_", " "), "parent": parent}, "hr")
        )
        names.append(name)
    return docs


def _permission_set(rng: random.Random, index: int, objects: list[CrmObject]) -> dict[str, Any]:
    granted = rng.sample(objects, k=min(len(objects), rng.randint(3, 25)))
    field_perms: dict[str, list[str]] = {}
    for obj in rng.sample(objects, k=min(len(objects), rng.randint(5, 40))):
        names = [n for names in obj.fields.values() for n in names]
        for name in rng.sample(names, k=min(len(names), rng.randint(2, 20))):
            field_perms[f"{obj.name}.{name}"] = ["read"] if rng.random() < 0.5 else ["read", "edit"]
    spec: dict[str, Any] = {
        "label": f"Access Bundle {index}",
        "description": "Generated for the benchmark.",
        "objects": {o.name: list(rng.choice(OBJECT_ACCESS)) for o in granted},
        "fields": dict(sorted(field_perms.items())),
    }
    if rng.random() < 0.5:
        spec["system"] = sorted(rng.sample(SYSTEM_PERMISSIONS, k=rng.randint(1, 3)))
    return _document("PermissionSet", f"Access_Bundle_{index}", spec, "security")


def _users(rng: random.Random, count: int, roles: list[str], sets: list[str]) -> list[dict]:
    docs = []
    for i in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first.lower()}.{last.lower()}.{i}@example.com"
        spec = {
            "email": email,
            "firstName": first,
            "lastName": last,
            "role": rng.choice(roles),
            "permissionSets": sorted(rng.sample(sets, k=min(len(sets), rng.randint(1, 3)))),
        }
        if rng.random() < 0.05:
            spec["active"] = False
        docs.append(_document("User", email, spec, "hr"))
    return docs


class _Dumper(yaml.SafeDumper):
    """YAML as people write manifests: block mappings, short lists and pairs inline,
    multi-line formulas as block scalars."""


def _scalars(items: Any) -> bool:
    return all(not isinstance(item, dict | list) for item in items)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _represent_list(dumper: yaml.SafeDumper, value: list) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=_scalars(value))


def _represent_dict(dumper: yaml.SafeDumper, value: dict) -> yaml.Node:
    short = all(len(str(v)) <= 40 for v in value.values())
    inline = len(value) <= 3 and _scalars(value.values()) and short and "label" not in value
    return dumper.represent_mapping("tag:yaml.org,2002:map", value, flow_style=inline)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(dict, _represent_dict)


def _write(path: Path, docs: list[dict[str, Any]], comment: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = yaml.dump_all(
        docs, Dumper=_Dumper, sort_keys=False, width=120, allow_unicode=True,
    )  # fmt: skip
    path.write_text(f"# {comment}\n{body}", encoding="utf-8")


def generate(outdir: Path, resources: int = 10_000, seed: int = 1) -> dict[str, int]:
    """Write the organisation under `outdir`; return how many resources of each kind."""
    rng = random.Random(seed)
    counts = _counts(resources)
    objects = [CrmObject(n, True) for n in _object_names(rng, counts["CustomObject"])]
    objects += [CrmObject(n, False) for n in STANDARD]
    custom = [o for o in objects if o.custom]
    for obj in custom:
        label = obj.name.removesuffix("__c").replace("_", " ")
        spec: dict[str, Any] = {"label": label, "sharingModel": rng.choice(("Private", "Read"))}
        if rng.random() < 0.5:
            prefix = "".join(word[0] for word in label.split())
            spec["recordName"] = {"type": "AutoNumber", "displayFormat": f"{prefix}-{{00000}}"}
        obj.docs.append(_document("CustomObject", obj.name, spec, "sales-ops"))
    _fields(rng, objects, counts["CustomField"])
    for i in range(counts["ValidationRule"]):
        obj = custom[i % len(custom)]
        obj.docs.append(_rule(rng, obj, i))
    for i in range(counts["DuplicateRule"]):
        obj = custom[i % len(custom)]
        obj.docs.append(_duplicate_rule(rng, obj, i))
    manifests = outdir / "manifests"
    for obj in objects:
        folder = "objects" if obj.custom else "standard"
        stem = obj.name.removesuffix("__c").lower().replace("_", "-")
        if obj.docs:
            _write(manifests / folder / f"{stem}.yaml", obj.docs, f"The {obj.name} object.")
    roles = _roles(rng, counts["Role"])
    _write(manifests / "access" / "roles.yaml", roles, "The role hierarchy.")
    sets = [_permission_set(rng, i, objects) for i in range(counts["PermissionSet"])]
    for doc in sets:
        name = doc["metadata"]["name"].lower().replace("_", "-")
        _write(manifests / "access" / "permission-sets" / f"{name}.yaml", [doc], "Access.")
    users = _users(
        rng,
        counts["User"],
        [r["metadata"]["name"] for r in roles],
        [s["metadata"]["name"] for s in sets],
    )
    for start in range(0, len(users), 100):
        chunk = users[start : start + 100]
        _write(manifests / "access" / f"users-{start // 100 + 1:02d}.yaml", chunk, "Users.")
    policies = [
        _retention(rng, custom[i % len(custom)], i) for i in range(counts["RetentionPolicy"])
    ]
    _write(manifests / "retention" / "policies.yaml", policies, "Retention policies.")
    env = outdir / "environments" / "local.yaml"
    env.parent.mkdir(parents=True, exist_ok=True)
    env.write_text(ENVIRONMENT, encoding="utf-8")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path, help="folder to write manifests/ and environments/ in")
    parser.add_argument("--resources", type=int, default=10_000, help="how many (default 10000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    args = parser.parse_args(argv)
    counts = generate(args.outdir, args.resources, args.seed)
    summary = ", ".join(f"{n} {kind}" for kind, n in counts.items())
    print(f"wrote {sum(counts.values())} resources to {args.outdir}: {summary}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
