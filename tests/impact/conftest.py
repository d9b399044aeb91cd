"""The impact fixture: ten Contact records and two visits, counted by hand.

Written under fixtures/before/ (applied first), measured against the change
in fixtures/after/. Dates are days before today, so the retention figures
hold on any day (no date is within three days of a cutoff).

    id   LastName First Email      Tier    Code     Score    Legacy Region Last seen
    c01  Smith    Ann   ann@x.com  Gold    ABC      12.5     old1   North  10 days ago
    c02  Li       Bo    -          Gold    ABCDEFG  1234.56  -      North  400
    c03  Jones    Cy    bo@x.com   Bronze  AB       5        old3   -      200
    c04  Ng       Di    -          Bronze  ABCDEF   -        -      South  160
    c05  Brown    Ed    ann@x.com  Silver  -        99.99    old5   -      340
    c06  Green    Flo   -          Silver  XYZXYZ   100      -      East   100
    c07  White    Gus   ANN@x.com  -       -        -        -      West   -
    c08  Black    Hal   bo@x.com   Bronze  Q        0.5      x      -      380
    c09  Ox       Ida   -          -       -        -        -      North  50
    c10  Grey     Jo    jo@x.com   Gold    -        -        -      South  190
"""

from __future__ import annotations

import csv
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"

COLUMNS = ["LastName", "FirstName", "Email", "Tier__c", "Code__c", "Score__c", "Legacy__c",
           "Region__c", "Last_Seen__c"]  # fmt: skip
ROWS = {
    "c01": ["Smith", "Ann", "ann@x.com", "Gold", "ABC", "12.5", "old1", "North", 10],
    "c02": ["Li", "Bo", "", "Gold", "ABCDEFG", "1234.56", "", "North", 400],
    "c03": ["Jones", "Cy", "bo@x.com", "Bronze", "AB", "5", "old3", "", 200],
    "c04": ["Ng", "Di", "", "Bronze", "ABCDEF", "", "", "South", 160],
    "c05": ["Brown", "Ed", "ann@x.com", "Silver", "", "99.99", "old5", "", 340],
    "c06": ["Green", "Flo", "", "Silver", "XYZXYZ", "100", "", "East", 100],
    "c07": ["White", "Gus", "ANN@x.com", "", "", "", "", "West", None],
    "c08": ["Black", "Hal", "bo@x.com", "Bronze", "Q", "0.5", "x", "", 380],
    "c09": ["Ox", "Ida", "", "", "", "", "", "North", 50],
    "c10": ["Grey", "Jo", "jo@x.com", "Gold", "", "", "", "South", 190],
}


def contact_id(key: str) -> str:
    """The CRM id of fixture record `c01` …: 003IMP0000000001."""
    return f"003IMP{int(key[1:]):010d}"


def write_records(folder: Path) -> Path:
    """Contact.csv and Visit__c.csv, dates relative to today (UTC)."""
    folder.mkdir(parents=True, exist_ok=True)
    today = datetime.now(UTC).date()
    with (folder / "Contact.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["Id", *COLUMNS])
        for key, row in ROWS.items():
            days = row[-1]
            seen = (today - timedelta(days=days)).isoformat() if days is not None else ""
            writer.writerow([contact_id(key), *row[:-1], seen])
    (folder / "Visit__c.csv").write_text(
        "Id,Name\na00IMP0000000001,First visit\na00IMP0000000002,Second visit\n", encoding="utf-8"
    )
    return folder


def use_manifests(project: Path, which: str) -> None:
    """Make fixtures/<which>/ the project's manifests."""
    shutil.rmtree(project / "manifests", ignore_errors=True)
    shutil.copytree(FIXTURES / which, project / "manifests")


@pytest.fixture
def impact_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crmctl) -> Path:
    """The fixture project: `before` applied, the records loaded, `after` in the manifests."""
    root = tmp_path / "project"
    (root / "environments").mkdir(parents=True)
    shutil.copy(FIXTURES / "local.yaml", root / "environments" / "local.yaml")
    use_manifests(root, "before")
    monkeypatch.chdir(root)
    monkeypatch.setenv("CRMCTL_ACTOR", "tester@example.com")
    monkeypatch.delenv("CRMCTL_ENV", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    applied = crmctl("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    loaded = crmctl("sandbox", "load", "--from", str(write_records(root / "records")))
    assert loaded.exit_code == 0, loaded.output
    use_manifests(root, "after")
    return root
