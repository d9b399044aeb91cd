"""RetentionPolicy <-> a recurring bulk-delete job (delete) or a retention policy (archive).

    action: delete    `BulkDelete` (QuerySet of one QueryExpression, RecurrencePattern
                      FREQ=DAILY;INTERVAL=1): the job lives as `asyncoperations` +
                      `bulkdeleteoperations` (its query as FetchXML)
    action: archive   `retentionconfigs` (entitylogicalname, FetchXML criteria,
                      starttime, recurrence FREQ=DAILY;INTERVAL=1)
    action: anonymize refused: Dataverse has no mechanism (a plug-in or a flow)

The criteria are one condition, `dateField` older than `retain` in days
(`olderthan-x-days`; a year is 365.25 days and a month 30.4375, rounded up, so
records are never deleted earlier than the policy says).

Neither a bulk-delete job nor a retention policy has a field for `legalBasis`,
`description` or the period as written, so the job's name carries them:
`<PolicyName> <JSON>`, e.g. `Lead_Cleanup {"legalBasis": "GDPR Art. 5(1)(e)",
"retain": "P7Y"}`. A policy name has no space, so the first space ends it. The
query stays the truth: a period in the name that no longer matches the days in
the query reads back as `P<days>D`, and the plan shows it.

A bulk-delete job cannot be edited: a change cancels the job (statecode 3,
statuscode 32) and submits a new one; a delete cancels it. A retention policy
is patched, and deleted. Jobs and policies whose name is not of that shape are
not crmctl's and are left alone. Reading costs three paged queries.
"""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import quoteattr

from crmctl.errors import Diagnostic, ProviderError
from crmctl.model import Resource
from crmctl.plan.action import Action
from crmctl.plan.model import Change
from crmctl.providers.dataverse.webapi import WebApi

__all__ = ["read_policies", "write_policy", "refusals", "retain_days", "job_name", "parse_name"]

_BULK_DELETE = 13  # asyncoperation operationtype
_DONE = 3  # asyncoperation statecode Completed (succeeded, failed or cancelled)
_CANCELLED = 32
_DAILY = "FREQ=DAILY;INTERVAL=1"
_PERIOD = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$")
_DAYS_PER = (365.25, 30.4375, 7, 1)
_NAME = re.compile(r"^([A-Za-z][A-Za-z0-9_]*) (\{.*\})$", re.S)
_STORED = ("legalBasis", "retain", "description")  # what the name carries, in this order
_OTHERS = "bulk-delete job or retention policy not written by crmctl; left alone"
#: Longest names Dataverse stores (MaxLength of the columns, Microsoft Learn table reference:
#: retentionconfig.name 100; asyncoperation.name and bulkdeleteoperation.name, which a
#: BulkDelete JobName becomes, 256). retentionconfig.uniquename holds 128: crmctl_<name> fits,
#: as a RetentionPolicy name is at most 80 characters (crmctl/limits).
NAME_MAX = {"archive": 100, "delete": 256}


def retain_days(retain: str) -> int:
    """An ISO-8601 period in whole days, rounded up (P7Y -> 2557)."""
    found = _PERIOD.match(retain)
    if found is None:
        raise ProviderError(f"retain {retain!r} is not an ISO-8601 period such as P7Y")
    parts = found.groups()
    return math.ceil(sum(int(p) * per for p, per in zip(parts, _DAYS_PER, strict=True) if p))


def job_name(name: str, spec: dict[str, Any]) -> str:
    """`<name> <JSON of legalBasis, retain, description>` (the keys that have a value)."""
    carried = {key: spec[key] for key in _STORED if spec.get(key)}
    return f"{name} {json.dumps(carried, ensure_ascii=False)}"


def unique_name(name: str) -> str:
    """The `uniquename` of the retention policy of RetentionPolicy `name`."""
    return f"crmctl_{name.lower()}"


def text_length(text: str) -> int:
    """Length as Dataverse counts it (UTF-16 code units: a character outside the BMP is 2)."""
    return len(text.encode("utf-16-le")) // 2


def parse_name(text: str) -> tuple[str, dict[str, Any]] | None:
    """(policy name, carried keys) of a name crmctl wrote, or None."""
    found = _NAME.match(text or "")
    if found is None:
        return None
    try:
        carried = json.loads(found.group(2))
    except ValueError:
        return None
    if not isinstance(carried, dict) or not isinstance(carried.get("legalBasis"), str):
        return None
    return found.group(1), carried


def fetch_xml(spec: dict[str, Any]) -> str:
    """The criteria: `dateField` older than `retain`, as FetchXML."""
    return (
        f'<fetch><entity name={quoteattr(str(spec["object"]))}><filter type="and">'
        f'<condition attribute={quoteattr(str(spec["dateField"]))} operator="olderthan-x-days" '
        f'value="{retain_days(str(spec["retain"]))}" /></filter></entity></fetch>'
    )


def _criteria(text: str) -> tuple[str, str, int] | None:
    """(table, date column, days) of FetchXML crmctl wrote, or None."""
    try:
        fetch = ET.fromstring(text or "")
    except ET.ParseError:
        return None
    entity = fetch.find("entity")
    conditions = fetch.findall("entity/filter/condition")
    if fetch.tag != "fetch" or entity is None or len(conditions) != 1:
        return None
    if len(list(entity)) != 1 or len(fetch.findall("entity/filter")) != 1:
        return None
    condition = conditions[0]
    value = condition.get("value") or ""
    if condition.get("operator") != "olderthan-x-days" or not value.isdigit():
        return None
    return str(entity.get("name")), str(condition.get("attribute")), int(value)


def _spec(carried: dict[str, Any], criteria: tuple[str, str, int], action: str) -> dict[str, Any]:
    table, column, days = criteria
    retain = str(carried.get("retain") or "")
    if not _PERIOD.match(retain) or retain_days(retain) != days:
        retain = f"P{days}D"  # the query is the truth
    spec: dict[str, Any] = {
        "object": table,
        "dateField": column,
        "retain": retain,
        "action": action,
        "legalBasis": carried["legalBasis"],
    }
    if carried.get("description"):
        spec["description"] = carried["description"]
    return spec


def read_policies(
    api: WebApi, live: dict[str, dict[str, Any]], notes: dict[str, list[str]]
) -> list[Resource]:
    """crmctl's active bulk-delete jobs and retention policies (into `live` by name)."""
    jobs = {
        row["asyncoperationid"]: row
        for row in api.get_all(
            "asyncoperations",
            {
                "$select": "asyncoperationid,statecode,statuscode,recurrencepattern",
                "$filter": f"operationtype eq {_BULK_DELETE}",
            },
        )
    }
    found: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    for row in api.get_all(
        "bulkdeleteoperations",
        {"$select": "bulkdeleteoperationid,name,orderedquerysetxml,_asyncoperationid_value"},
    ):
        job = jobs.get(str(row.get("_asyncoperationid_value")))
        if job is None or job.get("statecode") == _DONE or not job.get("recurrencepattern"):
            continue  # a one-off job, or one that ended or was cancelled
        criteria = _criteria(str(row.get("orderedquerysetxml") or ""))
        parsed = parse_name(str(row.get("name") or ""))
        if parsed is None or criteria is None:
            notes.setdefault(_OTHERS, []).append(f"bulkdeleteoperation/{row.get('name')}")
            continue
        found.append((parsed[0], {**row, "job": job}, _spec(parsed[1], criteria, "delete")))
    for row in api.get_all(
        "retentionconfigs",
        {"$select": "retentionconfigid,name,entitylogicalname,criteria,recurrence,statecode"},
    ):
        criteria = _criteria(str(row.get("criteria") or ""))
        parsed = parse_name(str(row.get("name") or ""))
        if parsed is None or criteria is None:
            notes.setdefault(_OTHERS, []).append(f"retentionconfig/{row.get('name')}")
            continue
        found.append((parsed[0], row, _spec(parsed[1], criteria, "archive")))
    out = []
    for name, row, spec in found:
        if name in live:
            notes.setdefault(
                "second bulk-delete job or retention policy of one RetentionPolicy; left alone", []
            ).append(f"RetentionPolicy/{name}")
            continue
        live[name] = row
        out.append(Resource("RetentionPolicy", name, spec))
    return out


def refusals(resource: Resource) -> list[Diagnostic]:
    """What Dataverse cannot do with this RetentionPolicy: errors at the manifest line."""
    spec = resource.spec
    out = []
    if spec.get("action") == "anonymize":
        out.append(
            Diagnostic(
                "Dataverse has no mechanism to anonymise records (it needs a plug-in or a "
                "flow); refused",
                resource.location("action") or resource.location(),
                resource.address,
                hint="use action: delete (a bulk-delete job) or archive (long-term retention), "
                "or keep this policy out of the Dataverse environment's manifests",
                code="dataverse-unsupported",
            )
        )
    out.extend(_length_refusals(resource))
    if spec.get("filter"):
        out.append(
            Diagnostic(
                "a RetentionPolicy filter is not translated to FetchXML by crmctl yet; refused",
                resource.location("filter") or resource.location(),
                resource.address,
                hint="remove the filter, or express it through dateField",
                code="dataverse-unsupported",
            )
        )
    return out


def _length_refusals(resource: Resource) -> list[Diagnostic]:
    """The names the policy's job or retention policy would get must fit their columns."""
    spec = resource.spec
    action = str(spec.get("action") or "")
    limit = NAME_MAX.get(action)
    if limit is None:
        return []
    what = "retention policy (retentionconfig)" if action == "archive" else "bulk-delete job"
    out = []
    length = text_length(job_name(resource.name, spec))
    if length > limit:
        carried = [key for key in ("legalBasis", "description") if spec.get(key)]
        out.append(
            Diagnostic(
                f"Dataverse keeps the policy's name, legalBasis, retain and description in its "
                f"{what}'s name ('<name> <JSON>'), which holds at most {limit} characters: this "
                f"one would be {length}; refused",
                resource.location("legalBasis") or resource.location(),
                resource.address,
                hint=f"shorten {' or '.join(carried) or 'the policy name'} by at least "
                f"{length - limit} character{'s' if length - limit > 1 else ''}",
                code="dataverse-limit",
            )
        )
    return out


def write_policy(api: WebApi, change: Change, live: dict[str, dict[str, Any]]) -> None:
    """Create, change or delete the job or policy of one RetentionPolicy."""
    row = live.get(change.name)
    spec = change.after or {}
    if change.action is Action.DELETE:
        if row is not None:
            _remove(api, row)
            live.pop(change.name, None)
        return
    if spec.get("action") == "anonymize" or spec.get("filter"):
        raise ProviderError("refused: Dataverse takes neither action: anonymize nor a filter")
    archived = row is not None and "retentionconfigid" in row
    if row is not None and not (archived and spec.get("action") == "archive"):
        _remove(api, row)  # a job cannot be edited; another mechanism replaces this one
        live.pop(change.name, None)
        row = None
    name = job_name(change.name, spec)
    if spec.get("action") == "archive":
        body = {
            "name": name,
            "entitylogicalname": spec["object"],
            "criteria": fetch_xml(spec),
            "recurrence": _DAILY,
        }
        if row is None:
            api.create(
                "retentionconfigs",
                {
                    **body,
                    "uniquename": unique_name(change.name),
                    "starttime": _now(),
                    "statecode": 0,
                    "statuscode": 10,
                },
            )
        else:
            api.send("PATCH", f"retentionconfigs({row['retentionconfigid']})", body)
        return
    answer = api.send(
        "POST",
        "BulkDelete",
        {
            "JobName": name,
            "QuerySet": [
                {
                    "EntityName": spec["object"],
                    "ColumnSet": {"AllColumns": False, "Columns": []},
                    "Criteria": {
                        "FilterOperator": "And",
                        "Conditions": [
                            {
                                "AttributeName": spec["dateField"],
                                "Operator": "OlderThanXDays",
                                "Values": [
                                    {
                                        "Value": str(retain_days(str(spec["retain"]))),
                                        "Type": "System.Int32",
                                    }
                                ],
                            }
                        ],
                    },
                }
            ],
            "StartDateTime": _now(),
            "RecurrencePattern": _DAILY,
            "SendEmailNotification": False,
            "ToRecipients": [],
            "CCRecipients": [],
        },
    )
    if not (isinstance(answer, dict) and answer.get("JobId")):
        raise ProviderError(f"BulkDelete for {change.name} answered without a JobId")


def _remove(api: WebApi, row: dict[str, Any]) -> None:
    if "retentionconfigid" in row:
        api.send("DELETE", f"retentionconfigs({row['retentionconfigid']})")
        return
    # A recurring system job is cancelled, not deleted: its history stays readable.
    api.send(
        "PATCH",
        f"asyncoperations({row['_asyncoperationid_value']})",
        {"statecode": _DONE, "statuscode": _CANCELLED},
    )


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
