"""Benchmark: `plan --impact` over 100,000 records and 50 changed validation rules.

Builds a project whose embedded sandbox holds an object with ten fields, 50
active validation rules and 100,000 records (plus 1,000 accounts the rules
read through a lookup), then changes the condition of every rule in the
manifests. Times, in this process, with the same database:

- a plain plan (`Workspace.plan`, the work of `crmctl plan`);
- one pass over the records: read and decode each record, and evaluate each
  of the 50 new rules on it once with the sandbox's formula engine (the
  least any measurement of the rules' impact must do; reading alone is
  printed too, for scale);
- the plan with its impact (`Workspace.plan` and `plan_impact`, the work of
  `crmctl plan --impact`), which evaluates the 50 rules before and after the
  change on every record.

Times are CPU seconds of this process (the best of --repeat runs), so a busy
machine does not skew the ratio. Target: impact <= 3 x (plain plan + one
pass). Prints the ratio; exit code 1 when it misses.

    .venv/bin/python bench/bench_impact.py [--records 100000] [--rules 50] [--repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from crmctl.cli import main
from crmctl.config.environment import load_environment
from crmctl.formula.functions import to_bool
from crmctl.impact.engine import configurations
from crmctl.impact.run import plan_impact
from crmctl.sandbox.enforcement import Caller, compiled_formula, formula_context
from crmctl.sandbox.records import OrgModel, SqlRecords
from crmctl.workspace import Workspace

TARGET_RATIO = 3.0
OBJECT = "Bench_Ticket__c"
FIELDS: dict[str, dict[str, Any]] = {
    "Account__c": {"type": "Lookup", "label": "Account", "referenceTo": "Account"},
    "Amount__c": {"type": "Currency", "label": "Amount", "precision": 10, "scale": 2},
    "Quantity__c": {"type": "Number", "label": "Quantity", "precision": 6, "scale": 0},
    "Discount__c": {"type": "Percent", "label": "Discount", "precision": 5, "scale": 2},
    "Status__c": {"type": "Picklist", "label": "Status", "values": ["New", "Open", "Closed", "Lost"]},
    "Start__c": {"type": "Date", "label": "Start"},
    "End__c": {"type": "Date", "label": "End"},
    "Contact_Email__c": {"type": "Email", "label": "Contact email"},
    "Code__c": {"type": "Text", "label": "Code", "length": 20},
    "Urgent__c": {"type": "Checkbox", "label": "Urgent"},
}  # fmt: skip
_TEMPLATES = (
    "Amount__c > {n}",
    'ISPICKVAL(Status__c, "Closed") && ISBLANK(End__c) && Quantity__c > {m}',
    "LEN(Code__c) > {m}",
    "NOT(ISBLANK(End__c)) && End__c < Start__c + {m}",
    "Urgent__c && Quantity__c < {m}",
    "Discount__c > 0.{m}",
    'ISBLANK(Contact_Email__c) && NOT(ISPICKVAL(Status__c, "New")) && Discount__c > 0.{m}',
    'AND(NOT(ISBLANK(Account__c)), BEGINS(Account__r.Name, "Acme {m}"))',
    'OR(Quantity__c > {n}, CONTAINS(Code__c, "X{m}"))',
    "IF(Urgent__c, Amount__c > {n}, Amount__c > {n} * 2)",
)


def rules(count: int, version: int) -> dict[str, str]:
    """`count` rule conditions; `version` shifts their constants (a changed rule)."""
    out = {}
    for i in range(count):
        template = _TEMPLATES[i % len(_TEMPLATES)]
        out[f"Rule_{i:02d}"] = template.format(
            n=500 + 37 * i + 100 * version, m=(i + version) % 9 + 1
        )
    return out


def manifests(count: int, version: int) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = [
        {"kind": "CustomObject", "metadata": {"name": OBJECT},
         "spec": {"label": "Bench ticket", "pluralLabel": "Bench tickets"}},
    ]  # fmt: skip
    for name, spec in FIELDS.items():
        docs.append({"kind": "CustomField", "metadata": {"name": f"{OBJECT}.{name}"}, "spec": spec})
    for name, condition in rules(count, version).items():
        spec = {"condition": condition, "errorMessage": f"{name} is not met."}
        docs.append(
            {"kind": "ValidationRule", "metadata": {"name": f"{OBJECT}.{name}"}, "spec": spec}
        )
    for doc in docs:
        doc["apiVersion"] = "crmctl/v1"
        doc["metadata"]["owner"] = "bench"
    return docs


def write_manifests(project: Path, count: int, version: int) -> None:
    path = project / "manifests" / "bench.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(manifests(count, version), sort_keys=False))


def fill(db: Path, records: int) -> None:
    """1,000 accounts and `records` tickets, written straight into the records table."""
    rng = random.Random(7)
    conn = sqlite3.connect(db)
    accounts = [f"001BENCH{n:07d}" for n in range(1000)]
    rows = [
        (
            a,
            "account",
            "admin",
            json.dumps({"Id": a, "Name": f"Acme {n % 10} Ltd", "OwnerId": "admin"}),
        )
        for n, a in enumerate(accounts)
    ]
    for n in range(records):
        record_id = f"a00BENCH{n:07d}"
        start = f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        values = {
            "Id": record_id,
            "Name": f"Ticket {n}",
            "OwnerId": "admin",
            "Account__c": rng.choice(accounts),
            "Amount__c": round(rng.uniform(0, 5000), 2),
            "Quantity__c": rng.randint(0, 800),
            "Discount__c": rng.randint(0, 99),
            "Status__c": rng.choice(["New", "Open", "Closed", "Lost"]),
            "Start__c": start,
            "Code__c": "".join(rng.choice("ABCX123") for _ in range(rng.randint(0, 12))),
            "Urgent__c": rng.random() < 0.3,
        }
        if rng.random() < 0.7:
            values["End__c"] = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        if rng.random() < 0.8:
            values["Contact_Email__c"] = f"person{n}@example.com"
        rows.append((record_id, OBJECT.lower(), "admin", json.dumps(values)))
    conn.executemany("INSERT INTO records (id, object, owner_id, fields) VALUES (?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()


def plain_live(env: Any) -> dict[str, Any]:
    workspace = Workspace(env)
    try:
        return workspace.read_live()
    finally:
        workspace.close()


def best(repeat: int, work: Callable[[], Any]) -> tuple[float, Any]:
    """The least CPU time of `repeat` runs (CPU, not wall time: the machine may be shared)."""
    times, result = [], None
    for _ in range(repeat):
        started = time.process_time()
        result = work()
        times.append(time.process_time() - started)
    return min(times), result


def read_pass(db: Path) -> int:
    """Read and decode every record once."""
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT id, fields FROM records WHERE object = ? ORDER BY seq", (OBJECT.lower(),)
        )
        return sum(1 for _, text in rows if json.loads(text))
    finally:
        conn.close()


def rules_pass(db: Path, items: list[dict[str, Any]]) -> int:
    """One pass evaluating every rule of the new configuration on every record, once each,
    with the sandbox's formula engine: the least any impact measurement has to do."""
    model = OrgModel.from_config(items)
    obj = model.object(OBJECT)
    assert obj is not None
    compiled = [
        c
        for c, _, _ in (
            compiled_formula(model, s["condition"]) for _, s in model.validation_rules[obj.key]
        )
    ]
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    reader = SqlRecords(conn, model)
    now = datetime.now(UTC)
    rejected = 0
    try:
        rows = conn.execute("SELECT fields FROM records WHERE object = ? ORDER BY seq", (obj.key,))
        for (text,) in rows:
            values = json.loads(text)
            context = formula_context(model, reader, obj, values, values, Caller("admin"), now)
            rejected += sum(to_bool(rule(context)) for rule in compiled if rule is not None)
    finally:
        conn.close()
    return rejected


def run(records: int, count: int, repeat: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        (project / "environments").mkdir()
        (project / "environments" / "local.yaml").write_text(
            "provider: {type: sandbox, path: .crmctl/sandbox.db}\nmanifests: [manifests]\n"
            "history: {path: .crmctl/history}\n"
        )
        write_manifests(project, count, version=0)
        os.environ.setdefault("CRMCTL_ACTOR", "bench")
        with contextlib.redirect_stdout(io.StringIO()):
            code = main(["-C", str(project), "apply", "--auto-approve"])
        if code != 0:
            raise SystemExit("applying the benchmark configuration failed")
        db = project / ".crmctl" / "sandbox.db"
        fill(db, records)
        write_manifests(project, count, version=1)
        env = load_environment("local", project)

        def plain() -> Any:
            workspace = Workspace(env)
            try:
                return workspace.plan()
            finally:
                workspace.close()

        def with_impact() -> Any:
            workspace = Workspace(env)
            try:
                plan = workspace.plan()
                return plan_impact(env, workspace.provider, workspace.live or {}, plan)
            finally:
                workspace.close()

        t_plan, plan = best(repeat, plain)
        t_read, seen = best(repeat, lambda: read_pass(db))
        _, after = configurations(plain_live(env), plan.changes)
        t_pass, _ = best(repeat, lambda: rules_pass(db, after))
        t_impact, report = best(repeat, with_impact)
    changed = sum(c.address.startswith("ValidationRule/") for c in plan.changes)
    rejected = sum(f.count for c in report.changes for f in c.findings)
    ratio = t_impact / (t_plan + t_pass)
    print(f"{seen} records, {changed} changed validation rules (each evaluated before and after)")
    print(f"  plain plan            {t_plan:7.2f} s")
    print(f"  reading the records   {t_read:7.2f} s  (decode only, for scale)")
    print(f"  one pass over records {t_pass:7.2f} s  (every new rule evaluated once per record)")
    print(f"  plan --impact         {t_impact:7.2f} s  ({rejected} rejections found)")
    verdict = "ok" if ratio <= TARGET_RATIO else "MISSED"
    print(
        f"  ratio {ratio:.2f} x (plain plan + one pass); target <= {TARGET_RATIO:.0f} x: {verdict}"
    )
    return ratio


def main_bench() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rules", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    ratio = run(args.records, args.rules, args.repeat)
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main_bench())
