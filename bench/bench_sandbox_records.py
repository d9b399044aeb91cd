"""Benchmark: record writes over HTTP under validation rules, and seeding demo data.

1. Starts a sandbox server on a free port, sets up an object with eight
   fields and five active validation rules (one reading the related account)
   through the configuration API, then times sequential creates over one
   requests.Session.
2. Loads the example organisation (manifests/) into a new store and times
   seeding 10,000 records into it.

    .venv/bin/python bench/bench_sandbox_records.py [--creates 500] [--seed-records 10000]

Targets: at least 200 creates per second; 10,000 seeded records in a few seconds.
Exit code 1 when the create rate misses its target.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
import yaml

from crmctl.kinds import KINDS
from crmctl.sandbox import SandboxStore, start_server
from crmctl.sandbox.records_api import org_model
from crmctl.sandbox.seed import seed_records

REPO = Path(__file__).resolve().parents[1]
TARGET_CREATES_PER_SECOND = 200

FIELDS: dict[str, dict[str, Any]] = {
    "Account__c": {"type": "Lookup", "label": "Account", "referenceTo": "Account"},
    "Amount__c": {"type": "Currency", "label": "Amount", "precision": 10, "scale": 2, "required": True},
    "Quantity__c": {"type": "Number", "label": "Quantity", "precision": 6, "scale": 0},
    "Discount__c": {"type": "Percent", "label": "Discount", "precision": 5, "scale": 2},
    "Status__c": {"type": "Picklist", "label": "Status", "values": ["Draft", "Placed", "Shipped"]},
    "Start__c": {"type": "Date", "label": "Start", "required": True},
    "End__c": {"type": "Date", "label": "End"},
    "Buyer__c": {"type": "Email", "label": "Buyer"},
}  # fmt: skip
RULES: dict[str, tuple[str, str]] = {
    "Positive_Amount": ("Amount__c <= 0", "Amount__c"),
    "Discount_Cap": ("Discount__c > 0.5", "Discount__c"),
    "End_After_Start": ("NOT(ISBLANK(End__c)) && End__c <= Start__c", "End__c"),
    "Shipped_Needs_Buyer": ('ISPICKVAL(Status__c, "Shipped") && ISBLANK(Buyer__c)', "Buyer__c"),
    "Account_Named": ("NOT(ISBLANK(Account__c)) && ISBLANK(Account__r.Name)", "Account__c"),
}


def bench_creates(creates: int) -> float:
    """Creates per second over HTTP, one session, sequential."""
    with tempfile.TemporaryDirectory() as tmp:
        store = SandboxStore.open(Path(tmp) / "bench.db")
        token = store.initialise()
        server = start_server(store)
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        api = server.api_url
        try:
            operations = [
                {"op": "put", "kind": "CustomObject", "name": "Bench_Order__c",
                 "spec": {"label": "Bench order"}},
                *({"op": "put", "kind": "CustomField", "name": f"Bench_Order__c.{name}", "spec": spec}
                  for name, spec in FIELDS.items()),
                *({"op": "put", "kind": "ValidationRule", "name": f"Bench_Order__c.{name}",
                   "spec": {"condition": condition, "errorMessage": f"{name} failed",
                            "errorField": field}}
                  for name, (condition, field) in RULES.items()),
            ]  # fmt: skip
            response = session.post(f"{api}/config/batch", json={"operations": operations})
            response.raise_for_status()
            account = session.post(f"{api}/records/Account", json={"Name": "Bench Customer"})
            account.raise_for_status()
            account_id = account.json()["id"]
            url = f"{api}/records/Bench_Order__c"
            started = time.perf_counter()
            for i in range(creates):
                record = {
                    "Name": f"Order {i}",
                    "Account__c": account_id,
                    "Amount__c": 100 + i % 900,
                    "Quantity__c": i % 50 + 1,
                    "Discount__c": i % 40,
                    "Status__c": ("Draft", "Placed", "Shipped")[i % 3],
                    "Start__c": "2025-01-01",
                    "End__c": "2025-12-31",
                    "Buyer__c": f"buyer{i}@example.com",
                }
                response = session.post(url, json=record)
                if response.status_code != 201:
                    raise SystemExit(f"create {i} failed: {response.status_code} {response.text}")
            elapsed = time.perf_counter() - started
        finally:
            session.close()
            server.stop()
            store.close()
    rate = creates / elapsed
    print(
        f"{creates} creates over HTTP, {len(RULES)} active validation rules: "
        f"{elapsed:.2f} s, {rate:.0f} records/s (target >= {TARGET_CREATES_PER_SECOND})"
    )
    return rate


def example_org() -> list[dict[str, Any]]:
    """The example organisation's manifests as batch operations, dependencies first."""
    documents = []
    for path in sorted((REPO / "manifests").rglob("*.yaml")):
        documents += [d for d in yaml.safe_load_all(path.read_text()) if d]
    documents.sort(key=lambda d: KINDS.index(d["kind"]))
    return [
        {"op": "put", "kind": d["kind"], "name": d["metadata"]["name"], "spec": d["spec"]}
        for d in documents
    ]


def bench_seed(records: int) -> float:
    """Seconds to seed `records` demo records into the example organisation."""
    with tempfile.TemporaryDirectory() as tmp:
        store = SandboxStore.open(Path(tmp) / "seed.db")
        try:
            store.batch(example_org(), "bench")
            with store.transaction() as conn:
                model = org_model(store, conn)
            started = time.perf_counter()
            result = seed_records(store.transaction, model, records=records, seed=42)
            elapsed = time.perf_counter() - started
        finally:
            store.close()
    counts = ", ".join(f"{name} {count}" for name, count in result.created.items())
    print(f"seeded {sum(result.created.values())} records in {elapsed:.2f} s "
          f"({sum(result.created.values()) / elapsed:.0f} records/s): {counts}")  # fmt: skip
    if result.skipped:
        print(f"  given up after retries: {result.skipped}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creates", type=int, default=500)
    parser.add_argument("--seed-records", type=int, default=10_000)
    args = parser.parse_args(argv)
    rate = bench_creates(args.creates)
    bench_seed(args.seed_records)
    return 0 if rate >= TARGET_CREATES_PER_SECOND else 1


if __name__ == "__main__":
    raise SystemExit(main())
