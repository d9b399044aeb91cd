"""`crmctl sandbox dataverse-app`: application users registered from the command line."""

from __future__ import annotations

from pathlib import Path


def test_an_app_is_added_from_an_environment_variable_and_listed(tmp_path: Path, crmctl) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "sandbox.db"
    assert crmctl("sandbox", "init", "--db", str(db)).exit_code == 0
    missing = crmctl("sandbox", "dataverse-app", "add", "--db", str(db), "--client-id", "APP-1",
                     "--secret-env", "DV_TEST_SECRET")  # fmt: skip
    assert missing.exit_code == 1
    assert "environment variable DV_TEST_SECRET is not set" in missing.output
    added = crmctl("sandbox", "dataverse-app", "add", "--db", str(db), "--client-id", "APP-1",
                   "--secret-env", "DV_TEST_SECRET", env={"DV_TEST_SECRET": "s3cret-value"})  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "for app app-1 holds the role System Administrator." in added.output
    wrong = crmctl("sandbox", "dataverse-app", "add", "--db", str(db), "--client-id", "APP-2",
                   "--secret-env", "DV_TEST_SECRET", "--role", "Nobody",
                   env={"DV_TEST_SECRET": "x"})  # fmt: skip
    assert wrong.exit_code == 1 and "no role named 'Nobody'" in wrong.output
    listed = crmctl("sandbox", "dataverse-app", "list", "--db", str(db))
    assert listed.exit_code == 0
    assert listed.output.startswith("app-1  user ")
    assert "roles: System Administrator" in listed.output
    assert "s3cret-value" not in listed.output + added.output
