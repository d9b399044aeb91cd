"""REST calls: SOQL queries with paging, and sObject Collections in batches of 200."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from crmctl.errors import ProviderError
from crmctl.providers.salesforce.connection import Connection

__all__ = ["RestClient", "SaveResult", "COLLECTION_SIZE"]

#: Records one sObject Collections request may hold.
COLLECTION_SIZE = 200
_BATCH_SIZE = 2000  # query page size asked for (Sforce-Query-Options: batchSize)


@dataclass(frozen=True)
class SaveResult:
    """One record's outcome in a collection request."""

    id: str | None
    success: bool
    message: str  # empty on success


class RestClient:
    """Queries and collection writes over one connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def query(self, soql: str) -> list[dict[str, Any]]:
        """Every record of a query, following nextRecordsUrl."""
        return list(self.iter_query(soql))

    def iter_query(self, soql: str) -> Iterator[dict[str, Any]]:
        headers = {"Sforce-Query-Options": f"batchSize={_BATCH_SIZE}"}
        page = self.connection.rest("GET", "query", params={"q": soql}, headers=headers)
        while True:
            if not isinstance(page, dict) or not isinstance(page.get("records"), list):
                raise ProviderError(f"query {soql!r}: the answer is not a query result")
            yield from page["records"]
            if page.get("done", True) or not page.get("nextRecordsUrl"):
                return
            page = self.connection.rest("GET", page["nextRecordsUrl"], headers=headers)

    def create(self, records: list[dict[str, Any]], all_or_none: bool = True) -> list[SaveResult]:
        return self._collection("POST", records, all_or_none)

    def update(self, records: list[dict[str, Any]], all_or_none: bool = True) -> list[SaveResult]:
        return self._collection("PATCH", records, all_or_none)

    def delete(self, ids: list[str], all_or_none: bool = True) -> list[SaveResult]:
        results: list[SaveResult] = []
        for start in range(0, len(ids), COLLECTION_SIZE):
            batch = ids[start : start + COLLECTION_SIZE]
            params = {"ids": ",".join(batch), "allOrNone": str(all_or_none).lower()}
            body = self.connection.rest("DELETE", "composite/sobjects", params=params)
            results.extend(_results(body, len(batch)))
            if not all(r.success for r in results):
                break
        return results

    def _collection(
        self, method: str, records: list[dict[str, Any]], all_or_none: bool
    ) -> list[SaveResult]:
        results: list[SaveResult] = []
        for start in range(0, len(records), COLLECTION_SIZE):
            batch = records[start : start + COLLECTION_SIZE]
            body = self.connection.rest(
                method, "composite/sobjects", json={"allOrNone": all_or_none, "records": batch}
            )
            results.extend(_results(body, len(batch)))
            if not all(r.success for r in results):
                break  # stop at the first failing batch: later ones depend on it
        return results


def _results(body: Any, expected: int) -> list[SaveResult]:
    if not isinstance(body, list) or len(body) != expected:
        raise ProviderError("an sObject Collections answer does not match its request")
    out = []
    for item in body:
        errors = item.get("errors") or []
        message = "; ".join(
            f"{e.get('statusCode') or e.get('errorCode')}: {e.get('message')}"
            + (f" ({', '.join(e['fields'])})" if e.get("fields") else "")
            for e in errors
        )
        out.append(SaveResult(item.get("id"), bool(item.get("success")), message))
    return out
