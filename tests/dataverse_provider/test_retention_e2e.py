"""RetentionPolicy on the Dataverse emulator: bulk-delete jobs (delete) and retentionconfigs (archive)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.dataverse_provider.org import DataverseOrg
from tests.dataverse_provider.org import apply_ok as _apply
from tests.dataverse_provider.org import plan_is_empty as _plan_is_empty
from tests.dataverse_provider.org import write_manifests as _write
from tests.dataverse_provider.test_provider_e2e import TABLE
from tests.e2e.helpers import manifest

ISSUED = manifest("CustomField", "nw_invoice.nw_issuedon", type="Date", label="Issued on")
PAID = manifest("CustomField", "nw_invoice.nw_paidon", type="Date", label="Paid on")
PURGE = manifest(
    "RetentionPolicy",
    "Invoice_Purge",
    object="nw_invoice",
    dateField="nw_issuedon",
    retain="P7Y",
    action="delete",
    legalBasis="HGB §257: invoices are kept ten years; ours seven",
    description="Old invoices go",
)
ARCHIVE = manifest(
    "RetentionPolicy",
    "Invoice_Archive",
    object="nw_invoice",
    dateField="nw_issuedon",
    retain="P18M",
    action="archive",
    legalBasis="Contract, clause 9",
)


def _jobs(org: DataverseOrg) -> list[dict[str, Any]]:
    """Bulk-delete jobs with their system job's state, read with plain OData."""
    states = {
        j["asyncoperationid"]: (j["statecode"], j["statuscode"], j["recurrencepattern"])
        for j in org.web("GET", "asyncoperations", params={"$filter": "operationtype eq 13"})[
            "value"
        ]
    }
    return [
        {
            "name": row["name"],
            "query": row["orderedquerysetxml"],
            "state": states[row["_asyncoperationid_value"]],
        }
        for row in org.web("GET", "bulkdeleteoperations")["value"]
    ]


def test_a_delete_policy_is_a_recurring_bulk_delete_job(
    dv: Path, org: DataverseOrg, crmctl
) -> None:
    _write(dv, TABLE, ISSUED, PURGE)
    _apply(crmctl)
    jobs = _jobs(org)
    assert len(jobs) == 1
    name, _, carried = jobs[0]["name"].partition(" ")
    assert name == "Invoice_Purge"
    assert json.loads(carried) == {
        "legalBasis": "HGB §257: invoices are kept ten years; ours seven",
        "retain": "P7Y",
        "description": "Old invoices go",
    }
    # 7 years of 365.25 days, rounded up: never earlier than the policy says.
    assert 'attribute="nw_issuedon" operator="olderthan-x-days" value="2557"' in jobs[0]["query"]
    assert '<entity name="nw_invoice">' in jobs[0]["query"]
    assert jobs[0]["state"][2] == "FREQ=DAILY;INTERVAL=1"
    assert jobs[0]["state"][0] != 3  # not completed: it recurs
    _plan_is_empty(crmctl)


def test_a_delete_policy_change_shows_field_by_field_and_replaces_the_job(
    dv: Path, org: DataverseOrg, crmctl
) -> None:
    _write(dv, TABLE, ISSUED, PURGE)
    _apply(crmctl)
    purge = dict(PURGE, spec={**PURGE["spec"], "retain": "P90D", "legalBasis": "Consent"})
    _write(dv, TABLE, ISSUED, purge)
    r = crmctl("plan", "-e", "dv")
    assert r.exit_code == 0, r.output
    assert (
        "  ~ RetentionPolicy/Invoice_Purge\n"
        '      ~ retain: "P7Y" -> "P90D"\n'
        '      ~ legalBasis: "HGB §257: invoices are kept ten years; ours seven" -> "Consent"\n'
    ) in r.out, r.out
    assert "Plan: 0 to add, 1 to change, 0 to destroy." in r.out
    _apply(crmctl)
    jobs = sorted(_jobs(org), key=lambda j: j["state"][0])
    assert [j["state"][:2] for j in jobs] == [(1, 10), (3, 32)]  # the new waits, the old cancelled
    assert 'value="90"' in jobs[0]["query"]
    assert 'value="2557"' in jobs[1]["query"]
    _plan_is_empty(crmctl)


def test_removing_a_delete_policy_cancels_its_job(dv: Path, org: DataverseOrg, crmctl) -> None:
    _write(dv, TABLE, ISSUED, PURGE)
    _apply(crmctl)
    _write(dv, TABLE, ISSUED)
    r = crmctl("plan", "-e", "dv")
    assert "  - RetentionPolicy/Invoice_Purge\n" in r.out, r.out
    _apply(crmctl)
    assert [j["state"][:2] for j in _jobs(org)] == [(3, 32)]
    _plan_is_empty(crmctl)


def test_an_archive_policy_is_a_retention_config(dv: Path, org: DataverseOrg, crmctl) -> None:
    _write(dv, TABLE, ISSUED, ARCHIVE)
    _apply(crmctl)
    rows = org.web("GET", "retentionconfigs")["value"]
    assert len(rows) == 1
    assert rows[0]["entitylogicalname"] == "nw_invoice"
    assert rows[0]["recurrence"] == "FREQ=DAILY;INTERVAL=1"
    assert 'operator="olderthan-x-days" value="548"' in rows[0]["criteria"]  # 18 months
    assert rows[0]["name"] == (
        'Invoice_Archive {"legalBasis": "Contract, clause 9", "retain": "P18M"}'
    )
    _plan_is_empty(crmctl)
    archive = dict(ARCHIVE, spec={**ARCHIVE["spec"], "dateField": "nw_paidon"})
    _write(dv, TABLE, ISSUED, PAID, archive)
    r = crmctl("plan", "-e", "dv")
    assert (
        '  ~ RetentionPolicy/Invoice_Archive\n      ~ dateField: "nw_issuedon" -> "nw_paidon"\n'
        in r.out
    ), r.out
    _apply(crmctl)
    rows = org.web("GET", "retentionconfigs")["value"]
    assert len(rows) == 1 and 'attribute="nw_paidon"' in rows[0]["criteria"]
    _plan_is_empty(crmctl)
    _write(dv, TABLE, ISSUED)
    _apply(crmctl)
    assert org.web("GET", "retentionconfigs")["value"] == []
    _plan_is_empty(crmctl)


def test_a_period_changed_by_hand_in_the_query_shows_as_drift(
    dv: Path, org: DataverseOrg, crmctl
) -> None:
    _write(dv, TABLE, ISSUED, ARCHIVE)
    _apply(crmctl)
    row = org.web("GET", "retentionconfigs")["value"][0]
    criteria = row["criteria"].replace('value="548"', 'value="30"')
    org.web("PATCH", f"retentionconfigs({row['retentionconfigid']})", json={"criteria": criteria})
    r = crmctl("plan", "-e", "dv")
    assert '      ~ retain: "P30D" -> "P18M"\n' in r.out, r.out
    _apply(crmctl)
    _plan_is_empty(crmctl)


def test_anonymize_and_filter_are_refused_at_their_lines(dv: Path, crmctl) -> None:
    anonymize = manifest(
        "RetentionPolicy",
        "Invoice_Mask",
        object="nw_invoice",
        dateField="nw_issuedon",
        retain="P1Y",
        action="anonymize",
        anonymizeFields=["nw_issuedon"],
        legalBasis="GDPR",
    )
    filtered = dict(PURGE, spec={**PURGE["spec"], "filter": "nw_issuedon = null"})
    path = _write(dv, TABLE, ISSUED, anonymize, filtered)
    lines = path.read_text().splitlines()
    action = next(i for i, line in enumerate(lines) if "action: anonymize" in line) + 1
    filter_line = next(i for i, line in enumerate(lines) if line.strip().startswith("filter:")) + 1
    r = crmctl("plan", "-e", "dv")
    assert r.exit_code == 1, r.output
    assert (
        f"dv/org.yaml:{action}: RetentionPolicy/Invoice_Mask: Dataverse has no mechanism to "
        "anonymise records (it needs a plug-in or a flow); refused"
    ) in r.output, r.output
    assert (
        f"dv/org.yaml:{filter_line}: RetentionPolicy/Invoice_Purge: a RetentionPolicy filter is "
        "not translated to FetchXML by crmctl yet; refused"
    ) in r.output, r.output
