"""The apply journal: appended events read back, a torn last line, and what counts as damage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crmctl.history.journal import Journal, JournalDamagedError, JournalState, Write


def _state() -> JournalState:
    return JournalState("e", "a@x", 123, "host", "2026-01-01T00:00:00+00:00", {"changes": []}, {})


def test_events_are_appended_and_read_back(tmp_path: Path) -> None:
    journal, state = Journal(tmp_path, "e"), _state()
    journal.start(state)
    first, second = Write("a" * 32, ["Role/A", "Role/B"]), Write("b" * 32, ["Role/C"])
    journal.sent(state, first)
    journal.noted(first, "0Af000000000001AAA")
    journal.answered(state, first, ["Role/A", "Role/B"])
    journal.sent(state, second)
    read = journal.read()
    assert read is not None
    assert [(w.write_id, w.addresses, w.applied, w.refs) for w in read.writes] == [
        ("a" * 32, ["Role/A", "Role/B"], ["Role/A", "Role/B"], ["0Af000000000001AAA"]),
        ("b" * 32, ["Role/C"], None, []),
    ]
    assert read.sent == ["Role/A", "Role/B", "Role/C"]
    assert read.applied == ["Role/A", "Role/B"]
    assert [w.write_id for w in read.unanswered_or_failed()] == ["b" * 32]
    # One line per event: nothing is rewritten as the apply goes on.
    assert len(journal.path.read_text().splitlines()) == 5


def test_a_line_torn_by_a_crash_is_ignored_only_at_the_end(tmp_path: Path) -> None:
    journal, state = Journal(tmp_path, "e"), _state()
    journal.start(state)
    journal.sent(state, Write("a" * 32, ["Role/A"]))
    with open(journal.path, "a") as out:
        out.write('{"done": "aaaa')  # the process died while appending
    read = journal.read()
    assert read is not None and [w.write_id for w in read.unanswered] == ["a" * 32]
    with open(journal.path, "a") as out:
        out.write('\n{"recording": 2}\n')
    with pytest.raises(JournalDamagedError, match=r"is damaged \(line 3: "):
        journal.read()


def test_an_id_for_a_write_never_sent_is_damage(tmp_path: Path) -> None:
    journal, state = Journal(tmp_path, "e"), _state()
    journal.start(state)
    with open(journal.path, "a") as out:
        out.write(json.dumps({"ref": "c" * 32, "remote": "0Af1"}) + "\n")
    with pytest.raises(JournalDamagedError, match="line 2: an id of an unsent write"):
        journal.read()


def test_writes_are_found_in_a_damaged_log(tmp_path: Path) -> None:
    journal = Journal(tmp_path, "e")
    journal.path.write_text(
        "garbage\n"
        + json.dumps({"sent": "d" * 32, "addresses": []})
        + "\n"
        + json.dumps({"ref": "d" * 32, "remote": "0Af2"})
        + "\n"
    )
    assert [(w.write_id, w.refs) for w in journal.writes_anyhow()] == [("d" * 32, ["0Af2"])]
