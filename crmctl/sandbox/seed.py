"""Realistic, deterministic demo records for the sandbox CRM.

Accounts, contacts, leads, opportunities and cases, plus records of every
custom object in the live configuration (its fields filled by type: picklist
values, numbers within precision and scale, lookups to records seeded
before). Every record passes the same checks as an API write (types,
required, unique, lookups, validation rules); a generated record a rule
rejects is generated again (the later tries with optional custom fields
blank), and skipped when every try fails. Duplicate rules
are not run: the generated names and emails are distinct by construction.

The same seed, configuration, `now` and starting database give the same
records; `now` defaults to today's midnight (UTC), so runs on one day agree.
Records are written in one transaction per object, created over the past three years (so retention
policies have something to do) and owned by the configured active users (by
the `actor` when there are none).
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from crmctl.sandbox.enforcement import Caller, Write, check_write
from crmctl.sandbox.records import (
    FieldDef,
    ObjectDef,
    OrgModel,
    SqlRecords,
    datetime_text,
    insert_record,
    new_record_id,
    next_auto_number,
)

__all__ = ["SeedResult", "seed_records", "plan_counts"]

_SHARES = {"Account": 15, "Contact": 25, "Lead": 20, "Opportunity": 15, "Case": 10}
_CUSTOM_SHARE = 15
_TRIES = 25  # rules like "due after issue" reject random dates often; retries are cheap

FIRST = ["Olivia", "Liam", "Emma", "Noah", "Amara", "Mateo", "Sofia", "Lucas", "Mia", "Elias", "Aisha", "Kenji", "Priya", "Jonas", "Ines", "Chloe", "Tomas", "Maria", "Lars", "Fatima", "Hugo", "Nora", "Ravi", "Leila", "Omar", "Julia", "Finn", "Zoe", "Ivan", "Hana"]  # fmt: skip
LAST = ["Smith", "Garcia", "Muller", "Rossi", "Dubois", "Novak", "Kowalski", "Jensen", "Berg", "Okafor", "Shah", "Watanabe", "Silva", "Martin", "Moreau", "Lindqvist", "Nakamura", "Haddad", "Costa", "Fischer", "Larsen", "Ahmed", "Kim", "Nguyen", "Ortiz"]  # fmt: skip
_COMPANY_A = ["Northwind", "Contoso", "Fabrikam", "Tailspin", "Litware", "Proseware", "Wingtip", "Woodgrove", "Alpine", "Blue", "Yonder", "Coho", "Lucerne", "Margie", "Adatum", "Trey", "Humongous", "Fourth", "Relecloud"]  # fmt: skip
_COMPANY_B = ["Traders", "Systems", "Logistics", "Foods", "Energy", "Analytics", "Robotics", "Pharma", "Textiles", "Media", "Partners", "Solutions", "Dynamics", "Labs", "Motors", "Outfitters"]  # fmt: skip
_SUFFIX = ("Ltd", "GmbH", "Inc", "AS", "SA", "BV", "AB", "Oy", "plc", "LLC")
INDUSTRIES = ("Technology", "Manufacturing", "Retail", "Finance", "Healthcare", "Energy",
              "Education", "Media", "Transportation", "Hospitality")  # fmt: skip
CITIES = (("Oslo", "Norway"), ("Berlin", "Germany"), ("Paris", "France"), ("Madrid", "Spain"),
          ("London", "United Kingdom"), ("Stockholm", "Sweden"), ("Boston", "United States"),
          ("Toronto", "Canada"), ("Tokyo", "Japan"), ("Lisbon", "Portugal"))  # fmt: skip
STAGES = (("Prospecting", 10), ("Qualification", 20), ("Needs Analysis", 30), ("Proposal", 60),
          ("Negotiation", 80), ("Closed Won", 100), ("Closed Lost", 0))  # fmt: skip
LEAD_STATUS = ("Open - Not Contacted", "Working - Contacted", "Closed - Converted",
               "Closed - Not Converted")  # fmt: skip
SUBJECTS = ("Cannot log in", "Invoice question", "Feature request: export", "Data import fails",
            "Slow dashboard", "Change billing address", "API rate limit", "Reset password")  # fmt: skip
WORDS = ["quarterly", "review", "renewal", "pilot", "onboarding", "migration", "expansion", "support", "premium", "standard", "annual", "regional", "partner", "web", "event", "referral", "trial", "upgrade"]  # fmt: skip


@dataclass
class SeedResult:
    """How many records of each object were created, and how many generated ones were given up."""

    created: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def plan_counts(model: OrgModel, total: int) -> dict[str, int]:
    """How many records of each object `total` is split into (largest remainder, exact sum)."""
    custom = sorted((o.name for o in model.objects.values() if o.custom), key=str.lower)
    shares: dict[str, float] = dict(_SHARES)
    for name in custom:
        shares[name] = _CUSTOM_SHARE / len(custom)
    whole = sum(shares.values())
    exact = {name: total * share / whole for name, share in shares.items()}
    counts = {name: int(value) for name, value in exact.items()}
    left = total - sum(counts.values())
    for name in sorted(exact, key=lambda n: (counts[n] - exact[n], n))[:left]:
        counts[name] += 1
    return counts


def seed_records(
    transaction: Callable[[], AbstractContextManager[sqlite3.Connection]],
    model: OrgModel,
    *,
    records: int,
    seed: int = 42,
    now: datetime | None = None,
    actor: str = "seed",
) -> SeedResult:
    """Create `records` demo records, parents before children, one `transaction()` per object.

    `transaction` is `SandboxStore.transaction` or anything that likewise
    yields a connection inside BEGIN … COMMIT.
    """
    now = now or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    gen = _Generator(model, random.Random(seed), now, actor)
    result = SeedResult()
    counts = plan_counts(model, records)
    for name in _order(model, counts):
        obj = model.objects[name.lower()]
        missing = [
            f.reference_to
            for f in obj.fields.values()
            if f.custom
            and f.required
            and f.reference_to
            and not gen.ids.get(f.reference_to.lower())
        ]
        if missing and counts[name]:
            result.warnings.append(f"{name}: skipped, no {missing[0]} records to point at")
            continue
        with transaction() as conn:
            created, skipped = gen.create(conn, obj, counts[name])
        result.created[obj.name] = created
        if skipped:
            result.skipped[obj.name] = skipped
    return result


def _order(model: OrgModel, counts: dict[str, int]) -> list[str]:
    """Standard objects first, then custom objects after the custom objects they look up."""
    order = [name for name in _SHARES if name in counts]
    pending = [name for name in counts if name not in _SHARES]
    while pending:
        waiting = {name.lower() for name in pending}
        ready = next(
            (name for name in pending if not _targets(model, name) & (waiting - {name.lower()})),
            pending[0],  # a lookup cycle: take the next one as it comes
        )
        order.append(ready)
        pending.remove(ready)
    return order


def _targets(model: OrgModel, name: str) -> set[str]:
    fields = model.objects[name.lower()].fields.values()
    return {f.reference_to.lower() for f in fields if f.custom and f.reference_to}


class _Generator:
    """Makes plausible field values; remembers the ids it created for lookups."""

    def __init__(self, model: OrgModel, rng: random.Random, now: datetime, actor: str) -> None:
        self.model, self.rng, self.now, self.actor = model, rng, now, actor
        self.ids: dict[str, list[str]] = {}  # object key -> ids created
        self.contacts_of: dict[str, list[str]] = {}  # account id -> contact ids
        self.names: dict[str, str] = {}  # account id -> name
        self.serial = 0
        owners = [u["name"] for u in model.users.values() if u.get("active", True)]
        self.owners = sorted(owners) or [actor]

    def create(self, conn: sqlite3.Connection, obj: ObjectDef, count: int) -> tuple[int, int]:
        reader = SqlRecords(conn, self.model)
        ids = new_record_id(conn, obj, count) if count else []
        created = skipped = 0
        standard = _STANDARD.get(obj.name)
        for record_id in ids:
            owner = self.rng.choice(self.owners)
            caller = Caller(owner, is_admin=True)  # admins may set OwnerId and CreatedDate
            for attempt in range(_TRIES):
                self.serial += 1
                values = standard(self, record_id) if standard else {}
                # Late tries leave optional custom fields blank: a rule about a field
                # the generator cannot fill sensibly (VALUE(Coupon__c)) then holds.
                values |= self._custom_fields(obj, values, optional=attempt < _TRIES // 2)
                if owner.lower() in self.model.users:  # else the actor owns it, as creator
                    values["OwnerId"] = owner
                values["CreatedDate"] = datetime_text(
                    self.now - timedelta(minutes=self.rng.randrange(3 * 365 * 24 * 60))
                )
                outcome = check_write(self.model, reader, Write(obj, values, caller, self.now))
                if not outcome.problems:
                    break
            else:
                skipped += 1
                continue
            record = outcome.record
            record["Id"] = record_id
            if obj.auto_number:
                record[obj.auto_field] = next_auto_number(conn, obj, obj.auto_number)
            insert_record(conn, obj, record)
            self.ids.setdefault(obj.key, []).append(record_id)
            if obj.name == "Contact" and record.get("AccountId"):
                self.contacts_of.setdefault(record["AccountId"], []).append(record_id)
            created += 1
        return created, skipped

    # -- values by field type, for custom fields

    def _custom_fields(
        self, obj: ObjectDef, given: dict[str, Any], optional: bool = True
    ) -> dict[str, Any]:
        out = {}
        for fdef in obj.fields.values():
            if not fdef.writable or fdef.name in given or (not fdef.custom and fdef.name != "Name"):
                continue
            if fdef.name == "Name" and (not obj.custom or obj.auto_number):
                continue
            if not fdef.required and (not optional or self.rng.random() < 0.3):
                continue
            value = self.value(obj, fdef)
            if value is not None:
                out[fdef.name] = value
        return out

    def value(self, obj: ObjectDef, fdef: FieldDef) -> Any:
        """A plausible value of the field's type (None when there is nothing to point at)."""
        rng, name = self.rng, fdef.name.lower()
        if fdef.name == "Name":
            return f"{obj.name.removesuffix('__c').replace('_', ' ')} {self.serial:05d}"[
                : fdef.length
            ]
        if fdef.unique and fdef.is_text:
            return f"{fdef.name[:3].upper()}{self.serial:08d}"[: fdef.length]
        if "birth" in name and fdef.type == "Date":
            return self.date(days_back=80 * 365, days_ahead=-18 * 365)
        maker = _BY_TYPE.get(fdef.type)
        if maker is not None:
            return maker(self, fdef)
        if fdef.type in ("Lookup", "MasterDetail"):
            if fdef.reference_to == "User":
                return rng.choice(self.owners)
            targets = self.ids.get((fdef.reference_to or "").lower())
            return rng.choice(targets) if targets else None
        if "ip_address" in name or name.startswith("ip"):
            return ".".join(str(rng.randrange(1, 255)) for _ in range(4))
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(2, 6)))
        return words.capitalize()[: fdef.length]

    def number(self, fdef: FieldDef, low: float, high: float) -> int | float:
        scale, precision = fdef.scale or 0, fdef.precision or 18
        high = min(high, 10 ** (precision - scale) - 1)
        value = round(self.rng.uniform(low, high), scale)
        return int(value) if scale == 0 else value

    def date(self, days_back: int = 3 * 365, days_ahead: int = 365) -> str:
        return (
            (self.now - timedelta(days=self.rng.randrange(-days_ahead, days_back)))
            .date()
            .isoformat()
        )

    def person(self) -> tuple[str, str, str]:
        first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        email = f"{first.lower()}.{last.lower()}.{self.serial}@{self.rng.choice(_COMPANY_A).lower()}.example"
        return first, last, email

    def phone(self) -> str:
        return f"+{self.rng.randrange(1, 99)} {self.rng.randrange(100, 999)} {self.rng.randrange(1000000, 9999999)}"

    def company(self) -> str:
        rng = self.rng
        return (
            f"{rng.choice(_COMPANY_A)} {rng.choice(_COMPANY_B)} {rng.choice(_SUFFIX)} {self.serial}"
        )


_BY_TYPE: dict[str, Callable[[_Generator, FieldDef], Any]] = {
    "Number": lambda g, f: g.number(f, 1, 100),
    "Currency": lambda g, f: g.number(f, 10, 20000),
    "Percent": lambda g, f: g.number(f, 0, 40),
    "Checkbox": lambda g, f: g.rng.random() < 0.5 if f.default is None else f.default,
    "Date": lambda g, f: g.date(),
    "DateTime": lambda g, f: datetime_text(
        g.now - timedelta(minutes=g.rng.randrange(3 * 365 * 1440))
    ),
    "Picklist": lambda g, f: g.rng.choice(f.values) if f.values else None,
    "MultiPicklist": lambda g, f: ";".join(
        g.rng.sample(f.values, min(len(f.values), g.rng.randrange(1, 3)))
    ),
    "Email": lambda g, f: g.person()[2],
    "Phone": lambda g, f: g.phone(),
    "Url": lambda g, f: f"https://www.{g.rng.choice(_COMPANY_A).lower()}.example/{g.serial}",
}


# -- the standard objects, by hand so they read like a real org


def _account(g: _Generator, record_id: str) -> dict[str, Any]:
    name = g.company()
    g.names[record_id] = name
    city, country = g.rng.choice(CITIES)
    return {
        "Name": name,
        "Type": g.rng.choice(("Prospect", "Customer", "Customer", "Partner")),
        "Industry": g.rng.choice(INDUSTRIES),
        "Rating": g.rng.choice(("Hot", "Warm", "Cold")),
        "Phone": g.phone(),
        "Website": f"https://www.{name.split()[0].lower()}{g.serial}.example",
        "BillingCity": city,
        "BillingCountry": country,
        "NumberOfEmployees": g.rng.randrange(5, 20000),
        "AnnualRevenue": g.rng.randrange(100, 500000) * 1000,
        "AccountSource": g.rng.choice(("Web", "Referral", "Partner", "Trade Show")),
    }


def _contact(g: _Generator, record_id: str) -> dict[str, Any]:
    first, last, email = g.person()
    city, country = g.rng.choice(CITIES)
    accounts = g.ids.get("account")
    return {
        "FirstName": first,
        "LastName": last,
        "Email": email,
        "Phone": g.phone(),
        "Title": g.rng.choice(("CEO", "CFO", "Head of IT", "Buyer", "Engineer", "Office Manager")),
        "AccountId": g.rng.choice(accounts) if accounts else None,
        "MailingCity": city,
        "MailingCountry": country,
        "LeadSource": g.rng.choice(("Web", "Referral", "Event", "Partner")),
    }


def _lead(g: _Generator, record_id: str) -> dict[str, Any]:
    first, last, email = g.person()
    status = g.rng.choice(LEAD_STATUS)
    return {
        "FirstName": first,
        "LastName": last,
        "Email": email,
        "Company": g.company(),
        "Status": status,
        "IsConverted": status == "Closed - Converted",
        "LeadSource": g.rng.choice(("Web", "Referral", "Event", "Partner", "Cold Call")),
        "Industry": g.rng.choice(INDUSTRIES),
    }


def _opportunity(g: _Generator, record_id: str) -> dict[str, Any]:
    stage, probability = g.rng.choice(STAGES)
    account = g.rng.choice(g.ids["account"]) if g.ids.get("account") else None
    product = g.rng.choice(("Platform", "Analytics add-on", "Support plan", "Seats expansion"))
    return {
        "Name": f"{g.names.get(account or '', 'New customer')} - {product}"[:120],
        "AccountId": account,
        "StageName": stage,
        "Probability": probability,
        "CloseDate": g.date(days_back=540, days_ahead=180),
        "Amount": g.rng.randrange(20, 2000) * 100,
        "IsClosed": stage.startswith("Closed"),
        "IsWon": stage == "Closed Won",
        "Type": g.rng.choice(("New Business", "Existing Business")),
    }


def _case(g: _Generator, record_id: str) -> dict[str, Any]:
    account = g.rng.choice(g.ids["account"]) if g.ids.get("account") else None
    contacts = g.contacts_of.get(account or "", [])
    status = g.rng.choice(("New", "Working", "Escalated", "Closed"))
    return {
        "Subject": g.rng.choice(SUBJECTS),
        "Status": status,
        "Priority": g.rng.choice(("Low", "Medium", "High")),
        "Origin": g.rng.choice(("Email", "Phone", "Web")),
        "AccountId": account,
        "ContactId": g.rng.choice(contacts) if contacts else None,
        "IsClosed": status == "Closed",
        "IsEscalated": status == "Escalated",
    }


_STANDARD: dict[str, Callable[[_Generator, str], dict[str, Any]]] = {
    "Account": _account,
    "Contact": _contact,
    "Lead": _lead,
    "Opportunity": _opportunity,
    "Case": _case,
}
