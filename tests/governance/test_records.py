"""Approval records on disk: written by approve, read back, malformed ones reported with file:line."""

from __future__ import annotations

from datetime import UTC, datetime

from crmctl.governance.records import (
    ApprovedChange,
    read_approvals,
    read_break_glass,
    write_approval,
)

NOW = datetime(2025, 3, 14, 10, 15, tzinfo=UTC)
DIGEST = "a" * 64


def test_a_written_record_reads_back(tmp_path):
    entry = ApprovedChange("PermissionSet/Sales_Rep", "update", DIGEST, None)
    path = write_approval(
        tmp_path,
        "prod",
        "tomas.berg@northwind.example",
        "security-officer",
        [entry],
        "CHG-1234",
        "ok",
        now=NOW,
    )
    again = write_approval(
        tmp_path, "prod", "tomas.berg@northwind.example", "security-officer", [entry], now=NOW
    )
    assert (
        path.relative_to(tmp_path).as_posix()
        == "approvals/prod/20250314T101500Z-tomas.berg-security-officer.yaml"
    )
    assert again.name == "20250314T101500Z-tomas.berg-security-officer-2.yaml"
    assert path.read_text() == (
        "# Written by `crmctl approve` and signed with the approver's SSH key; any edit voids it.\n"
        "#   git add approvals/prod/20250314T101500Z-tomas.berg-security-officer.yaml && git commit\n"
        "apiVersion: crmctl/v1\n"
        "kind: Approval\n"
        "environment: prod\n"
        "approver: tomas.berg@northwind.example\n"
        "role: security-officer\n"
        "at: '2025-03-14T10:15:00+00:00'\n"
        "ticket: CHG-1234\n"
        "comment: ok\n"
        "changes:\n"
        "- address: PermissionSet/Sales_Rep\n"
        "  action: update\n"
        f"  desired: {DIGEST}\n"
        "  live: null\n"
    )
    records, problems = read_approvals(tmp_path, "prod")
    assert problems == []
    assert [(r.path, r.approver, r.role, r.ticket, r.comment, r.changes) for r in records] == [
        ("approvals/prod/20250314T101500Z-tomas.berg-security-officer-2.yaml",
         "tomas.berg@northwind.example", "security-officer", None, None, (entry,)),
        ("approvals/prod/20250314T101500Z-tomas.berg-security-officer.yaml",
         "tomas.berg@northwind.example", "security-officer", "CHG-1234", "ok", (entry,)),
    ]  # fmt: skip
    assert read_approvals(tmp_path, "staging") == ([], [])
    assert read_break_glass(tmp_path, "prod") == ([], [])


def test_malformed_records_are_ignored_with_a_located_warning(tmp_path):
    folder = tmp_path / "approvals" / "prod"
    folder.mkdir(parents=True)
    (folder / "a.yaml").write_text(
        "apiVersion: crmctl/v1\nkind: Approval\nenvironment: prod\napprover: not-an-email\n"
        "role: security-officer\nat: '2025-01-01'\nchanges: []\n"
    )
    (folder / "b.yaml").write_text(
        "apiVersion: crmctl/v1\nkind: Approval\nenvironment: staging\n"
        "approver: a@b.c\nrole: x\nat: now\nchanges: []\n"
    )
    (folder / "c.yaml").write_text("- just a list\n")
    records, problems = read_approvals(tmp_path, "prod")
    assert records == []
    assert [d.render() for d in problems] == [
        "approvals/prod/a.yaml:4: ignored approval record: approver: must be an email address "
        "(got 'not-an-email')",
        "approvals/prod/c.yaml:1: ignored approval record: an approval record holds exactly one "
        "YAML mapping",
        "approvals/prod/b.yaml:1: ignored approval record: it is for environment staging, not prod",
    ]
    assert {d.severity.value for d in problems} == {"warning"}
