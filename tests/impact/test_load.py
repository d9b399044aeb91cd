"""`crmctl sandbox load`: bad input is refused with its file and line, and nothing changes."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.impact.conftest import contact_id


def stored(project: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(project / ".crmctl" / "sandbox.db")
    try:
        return conn.execute("SELECT id, fields FROM records ORDER BY seq").fetchall()
    finally:
        conn.close()


def test_the_fixture_records_are_stored_typed(impact_project: Path) -> None:
    rows = dict(stored(impact_project))
    assert len(rows) == 12
    c02 = json.loads(rows[contact_id("c02")])
    assert c02["Score__c"] == 1234.56 and "Email" not in c02 and c02["Code__c"] == "ABCDEFG"
    assert json.loads(rows[contact_id("c03")])["Score__c"] == 5


def test_a_bad_value_names_its_file_and_line_and_nothing_is_loaded(impact_project, crmctl) -> None:
    before = stored(impact_project)
    folder = impact_project / "bad"
    folder.mkdir()
    (folder / "Contact.csv").write_text(
        "Id,LastName,Score__c,Last_Seen__c\n003BAD0000000001,Ok,1,2024-01-01\n"
        '003BAD0000000002,"Two\nlines",lots,2024-01-01\n003BAD0000000003,Late,2,yesterday\n',
        encoding="utf-8",
    )
    r = crmctl("sandbox", "load", "--from", "bad")
    assert r.exit_code == 1
    assert r.err == (
        "Error: the snapshot has 2 problems; nothing was loaded\n"
        "bad/Contact.csv:3: Score__c: 'lots' is not a number\n"
        "bad/Contact.csv:5: Last_Seen__c: 'yesterday' is not a date (YYYY-MM-DD)\n"
        "hint: fix the files and load again\n"
    )
    assert stored(impact_project) == before


def test_json_records_are_read_with_their_lines(impact_project, crmctl) -> None:
    path = impact_project / "Contact.json"
    path.write_text(
        '{"result": {"records": [\n  {"attributes": {"type": "Contact"}, "Id": "003J00000000001",'
        ' "LastName": "Ok"},\n  {"Id": "003J00000000002", "Nickname__c": "x"}\n]}}\n',
        encoding="utf-8",
    )
    r = crmctl("sandbox", "load", "--from", "Contact.json")
    assert (r.exit_code, r.err) == (
        1,
        "Error: Contact.json:3: Contact has no field 'Nickname__c'; nothing was loaded\n"
        "hint: fix the files and load again\n",
    )
    path.write_text(path.read_text().replace('"Nickname__c": "x"', '"LastName": "Two"'))
    r = crmctl("sandbox", "load", "--from", "Contact.json")
    assert r.exit_code == 0, r.output
    assert dict(stored(impact_project))["003J00000000002"] == json.dumps(
        {"Id": "003J00000000002", "LastName": "Two"}
    )


def test_ids_already_stored_are_refused_unless_replaced(impact_project, crmctl) -> None:
    r = crmctl("sandbox", "load", "--from", "records/Visit__c.csv")
    assert r.exit_code == 1
    assert r.err.splitlines()[:3] == [
        "Error: the snapshot has 2 problems; nothing was loaded",
        "records/Visit__c.csv:2: a record with Id a00IMP0000000001 is already stored",
        "records/Visit__c.csv:3: a record with Id a00IMP0000000002 is already stored",
    ]
    assert r.err.endswith("hint: add --replace to replace the stored records of these objects\n")
    (impact_project / "records" / "Visit__c.csv").write_text("Id,Name\na00IMP0000000009,Only\n")
    r = crmctl("sandbox", "load", "--from", "records/Visit__c.csv", "--replace")
    assert r.exit_code == 0, r.output
    visits = [i for i, _ in stored(impact_project) if i.startswith("a00")]
    assert visits == ["a00IMP0000000009"]


def test_unknown_objects_missing_ids_and_a_database_without_configuration(
    impact_project, crmctl
) -> None:
    (impact_project / "Widget__c.csv").write_text("Id,Name\nw1,x\n")
    r = crmctl("sandbox", "load", "--from", "Widget__c.csv")
    assert r.err.startswith(
        "Error: Widget__c.csv:1: no object named 'Widget__c' holds records here"
    )
    (impact_project / "Lead.csv").write_text("LastName,Company\nDoe,Acme\n")
    r = crmctl("sandbox", "load", "--from", "Lead.csv")
    assert r.err.startswith(
        "Error: Lead.csv:2: no Id: every record needs its CRM id (1-18 letters and digits)"
    )
    r = crmctl("sandbox", "load", "--db", "empty.db", "--from", "Lead.csv")
    assert r.exit_code == 1
    assert "empty.db holds no configuration to type the records by" in r.err
    assert not (impact_project / "empty.db").exists()
