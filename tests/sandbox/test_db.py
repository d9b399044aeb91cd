"""The database: versioned migrations, WAL, and clear errors for files it cannot use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crmctl.sandbox import SandboxError, SandboxStore
from crmctl.sandbox.db import MIGRATIONS, SCHEMA_VERSION, connect, migrate, schema_version


def test_a_new_database_is_at_the_current_version_in_wal_mode(tmp_path: Path) -> None:
    SandboxStore.open(tmp_path / "new.db").close()
    conn = connect(tmp_path / "new.db")
    assert schema_version(conn) == SCHEMA_VERSION == len(MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    versions = [v for (v,) in conn.execute("SELECT version FROM schema_version ORDER BY version")]
    assert versions == list(range(1, SCHEMA_VERSION + 1))


def test_a_version_1_database_is_migrated_and_keeps_its_configuration(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = connect(path)
    assert migrate(conn, target=1) == 1
    # What crmctl at schema version 1 wrote: an object, and its audit entry.
    spec = {
        "label": "Invoice",
        "pluralLabel": "Invoices",
        "sharingModel": "ReadWrite",
        "recordName": {"label": "Invoice Name", "type": "Text"},
    }
    conn.execute(
        "INSERT INTO config VALUES ('CustomObject', 'Invoice__c', ?, 3, "
        "'2024-01-01T00:00:00.000000Z', 'old@example.com')",
        (json.dumps(spec),),
    )
    conn.execute(
        "INSERT INTO audit (at, actor, action, kind, name, before, after) VALUES "
        "('2024-01-01T00:00:00.000000Z', 'old@example.com', 'create', 'CustomObject', "
        "'Invoice__c', NULL, ?)",
        (json.dumps(spec),),
    )
    conn.close()

    store = SandboxStore.open(path)
    try:
        assert schema_version(connect(path)) == SCHEMA_VERSION
        item = store.get_config("CustomObject", "Invoice__c")
        assert item == {
            "kind": "CustomObject",
            "name": "Invoice__c",
            "spec": spec,
            "version": 3,
            "updatedAt": "2024-01-01T00:00:00.000000Z",
            "updatedBy": "old@example.com",
        }
        # Tables of later versions work, and the old items take part in the rules.
        token = store.initialise()
        assert store.authenticate(token).is_admin
        store.put_config(
            "CustomField", "Invoice__c.Amount__c", {"type": "Number", "label": "A"}, "me"
        )
        with pytest.raises(SandboxError) as refused:
            store.delete_config("CustomObject", "Invoice__c", "me")
        assert refused.value.code == "IN_USE"
        assert [e["seq"] for e in store.audit()] == [1, 2]
    finally:
        store.close()


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION))
def test_every_older_version_opens(tmp_path: Path, version: int) -> None:
    conn = connect(tmp_path / "old.db")
    migrate(conn, target=version)
    conn.close()
    store = SandboxStore.open(tmp_path / "old.db")
    store.put_config("Role", "CEO", {"label": "CEO"}, "me")
    store.close()
    assert schema_version(connect(tmp_path / "old.db")) == SCHEMA_VERSION


def test_a_database_from_a_newer_crmctl_is_refused(tmp_path: Path) -> None:
    SandboxStore.open(tmp_path / "new.db").close()
    conn = connect(tmp_path / "new.db")
    conn.execute(
        "INSERT INTO schema_version VALUES (?, '2099-01-01T00:00:00Z')", (SCHEMA_VERSION + 1,)
    )
    conn.close()
    with pytest.raises(SandboxError) as refused:
        SandboxStore.open(tmp_path / "new.db")
    assert refused.value.code == "SCHEMA_TOO_NEW"
    assert refused.value.hint == "upgrade crmctl, or use a database made by this version"


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("these are not the tables you are looking for\n" * 100)
    with pytest.raises(SandboxError) as refused:
        SandboxStore.open(path)
    assert refused.value.code == "DATABASE_ERROR"
    assert str(refused.value).startswith(f"cannot open the sandbox database {path}: ")


def test_open_without_create_needs_an_existing_database(tmp_path: Path) -> None:
    with pytest.raises(SandboxError) as refused:
        SandboxStore.open(tmp_path / "missing.db", create=False)
    assert refused.value.message == f"no sandbox database at {tmp_path / 'missing.db'}"
    assert (
        refused.value.hint == f"create one with: crmctl sandbox init --db {tmp_path / 'missing.db'}"
    )
    assert not (tmp_path / "missing.db").exists()


def test_a_failed_migration_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    conn = connect(tmp_path / "old.db")
    migrate(conn, target=1)
    conn.execute("CREATE TABLE tokens (x)")  # collides with what version 2 creates
    with pytest.raises(Exception, match="already exists"):
        migrate(conn)
    assert schema_version(conn) == 1
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'admins'").fetchone() == (
        0,
    )
