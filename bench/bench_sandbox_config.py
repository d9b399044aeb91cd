"""Benchmark: the sandbox CRM's configuration API over HTTP at a large org's scale.

Creates 10,000 configuration items (mostly fields across 100 custom objects,
plus validation rules, duplicate rules, retention policies, roles,
permission sets with many field permissions and users) through the batch
endpoint, then lists them all, and prints request counts and seconds.

    .venv/bin/python bench/bench_sandbox_config.py

Targets: a batch of 1,000 creates well under 5 s; listing 10,000 items in
at most 5 requests and under 0.5 s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

from crmctl.sandbox import SandboxStore, start_server

OBJECTS = 100
FIELDS_PER_OBJECT = 90
RULES_PER_OBJECT = 5
DUPLICATE_RULES_PER_OBJECT = 2
ROLES = 50
PERMISSION_SETS = 30
FIELD_PERMISSIONS = 300  # per permission set
USERS = 20
BATCH = 1000

_TYPES = ["Text", "Number", "Currency", "Date", "Picklist", "Checkbox", "Email", "Percent"]


def _obj(i: int) -> str:
    return f"Bench{i:03d}__c"


def _field_spec(j: int) -> dict[str, Any]:
    ftype = _TYPES[j % len(_TYPES)]
    spec: dict[str, Any] = {"type": ftype, "label": f"Field {j}"}
    if ftype == "Picklist":
        spec["values"] = ["Low", "Medium", "High"]
    return spec


def operations() -> Iterator[dict[str, Any]]:
    """Every create, dependencies first."""
    for i in range(OBJECTS):
        yield {"op": "put", "kind": "CustomObject", "name": _obj(i), "spec": {"label": f"B{i}"}}
    for i in range(OBJECTS):
        for j in range(FIELDS_PER_OBJECT):
            name = f"{_obj(i)}.F{j:03d}__c"
            yield {"op": "put", "kind": "CustomField", "name": name, "spec": _field_spec(j)}
    for i in range(OBJECTS):
        for r in range(RULES_PER_OBJECT):
            condition = f"AND(ISBLANK(F{8 * r:03d}__c), F{8 * r + 1:03d}__c > {r * 100})"
            yield {
                "op": "put",
                "kind": "ValidationRule",
                "name": f"{_obj(i)}.Rule{r}",
                "spec": {"condition": condition, "errorMessage": "Fill it in."},
            }
        for r in range(DUPLICATE_RULES_PER_OBJECT):
            yield {
                "op": "put",
                "kind": "DuplicateRule",
                "name": f"{_obj(i)}.Same{r}",
                "spec": {"match": [{"field": f"F{8 * r:03d}__c"}, {"field": "Name"}]},
            }
        yield {
            "op": "put",
            "kind": "RetentionPolicy",
            "name": f"Keep_{_obj(i).removesuffix('__c')}",
            "spec": {
                "object": _obj(i),
                "dateField": "F003__c",
                "retain": "P7Y",
                "action": "delete",
                "legalBasis": "bench",
            },
        }
    for r in range(ROLES):
        parent = None if r == 0 else f"Role{(r - 1) // 3:02d}"
        yield {
            "op": "put",
            "kind": "Role",
            "name": f"Role{r:02d}",
            "spec": {"label": f"Role {r}", "parent": parent},
        }
    for p in range(PERMISSION_SETS):
        fields = {
            f"{_obj((p + k) % OBJECTS)}.F{k % FIELDS_PER_OBJECT:03d}__c": ["read", "edit"]
            for k in range(FIELD_PERMISSIONS)
        }
        objects = {_obj((p + k) % OBJECTS): ["read", "create", "edit"] for k in range(20)}
        yield {
            "op": "put",
            "kind": "PermissionSet",
            "name": f"Perm{p:02d}",
            "spec": {"label": f"Perm {p}", "objects": objects, "fields": fields},
        }
    for u in range(USERS):
        yield {
            "op": "put",
            "kind": "User",
            "name": f"user{u}@bench.example",
            "spec": {
                "email": f"user{u}@bench.example",
                "lastName": f"User {u}",
                "role": f"Role{u % ROLES:02d}",
                "permissionSets": [f"Perm{u % PERMISSION_SETS:02d}"],
            },
        }


def _session(token: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=BATCH, help="operations per batch request")
    args = parser.parse_args()
    ops = list(operations())
    with tempfile.TemporaryDirectory() as folder:
        store = SandboxStore.open(Path(folder) / "bench.db")
        session = _session(store.initialise())
        server = start_server(store)
        try:
            print(f"creating {len(ops)} configuration items in batches of {args.batch}")
            started = time.perf_counter()
            for first in range(0, len(ops), args.batch):
                batch = ops[first : first + args.batch]
                t0 = time.perf_counter()
                response = session.post(
                    f"{server.api_url}/config/batch", json={"operations": batch}
                )
                response.raise_for_status()
                kinds = Counter(op["kind"] for op in batch)
                what = ", ".join(f"{n} {kind}" for kind, n in kinds.items())
                print(f"  batch of {len(batch)} ({what}): {time.perf_counter() - t0:.2f} s")
            batches = -(-len(ops) // args.batch)
            total = time.perf_counter() - started
            print(f"  total: {batches} requests, {total:.2f} s")

            started, requests_made, items, cursor = time.perf_counter(), 0, 0, None
            while True:
                params = {"limit": 2000, **({"cursor": cursor} if cursor else {})}
                page = session.get(f"{server.api_url}/config", params=params)
                page.raise_for_status()
                body = page.json()
                requests_made += 1
                items += len(body["items"])
                cursor = body["nextCursor"]
                if cursor is None:
                    break
            total = time.perf_counter() - started
            print(f"listing {items} items: {requests_made} requests, {total:.3f} s")

            # Single writes must not re-read the whole configuration.
            started = time.perf_counter()
            for j in range(100):
                response = session.put(
                    f"{server.api_url}/config/CustomField/{_obj(j)}.Extra__c",
                    json={"spec": {"type": "Text", "label": "Extra"}},
                )
                response.raise_for_status()
            total = time.perf_counter() - started
            print(f"100 single PUTs into {items} items: {total:.2f} s ({total * 10:.1f} ms each)")
        finally:
            server.stop()
            store.close()


if __name__ == "__main__":
    main()
