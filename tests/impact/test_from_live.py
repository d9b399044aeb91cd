"""`--impact-from-live`: live records read through the provider's query API, read-only."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import REPO
from tests.impact.conftest import FIXTURES, use_manifests, write_records


def staging_project(root: Path, url: str) -> None:
    """The fixture project with a `staging` environment served over HTTP at `url`."""
    (root / "environments" / "staging.yaml").write_text(
        f"provider:\n  type: sandbox\n  url: {url}\n  tokenEnv: CRMCTL_STAGING_TOKEN\n"
        "manifests: [manifests]\nhistory: {path: .crmctl/history}\n",
        encoding="utf-8",
    )


def test_live_records_over_http_give_the_hand_counted_figures(
    tmp_path, monkeypatch, crmctl, sandbox_server
) -> None:
    root = tmp_path / "live"
    (root / "environments").mkdir(parents=True)
    shutil.copy(FIXTURES / "local.yaml", root / "environments" / "local.yaml")
    staging_project(root, sandbox_server.url)
    use_manifests(root, "before")
    monkeypatch.chdir(root)
    monkeypatch.setenv("CRMCTL_STAGING_TOKEN", sandbox_server.token)
    monkeypatch.setenv("CRMCTL_ACTOR", "tester@example.com")
    monkeypatch.setenv("NO_COLOR", "1")
    assert crmctl("apply", "-e", "staging", "--auto-approve").exit_code == 0
    server_db = str(sandbox_server.store.path)
    loaded = crmctl("sandbox", "load", "--db", server_db, "--from", str(write_records(root / "r")))
    assert loaded.exit_code == 0, loaded.output
    use_manifests(root, "after")
    before = sandbox_server.store.path.read_bytes()

    r = crmctl("plan", "-e", "staging", "--impact-from-live", "--format", "json")
    assert r.exit_code == 0, r.output
    impact = json.loads(r.out)["impact"]
    assert impact["source"] == (
        f"the live CRM (sandbox {sandbox_server.url}, at most 10000 records per object, read-only)"
    )
    assert impact["records"] == {"Contact": 10, "Visit__c": 2}
    found = {c["address"]: c["findings"] for c in impact["changes"]}
    assert [f["count"] for f in found["ValidationRule/Contact.Email_Needed"]] == [3]
    assert [f["count"] for f in found["CustomField/Contact.Tier__c"]] == [3]
    assert [f["count"] for f in found["DuplicateRule/Contact.Same_Email"]] == [4]
    assert impact["notes"] == []

    limited = crmctl(
        "plan", "-e", "staging", "--impact-from-live", "--impact-limit", "4", "--format", "json"
    )
    impact = json.loads(limited.out)["impact"]
    assert impact["records"] == {"Contact": 4, "Visit__c": 2}
    assert impact["notes"] == [
        "Contact: only the first 4 live records were read (--impact-limit); counts are of those"
    ]
    assert sandbox_server.store.path.read_bytes() == before  # read-only


def test_a_remote_environment_without_a_source_says_where_records_can_come_from(
    impact_project, crmctl, monkeypatch
) -> None:
    staging_project(impact_project, "http://127.0.0.1:9")
    monkeypatch.setenv("CRMCTL_STAGING_TOKEN", "unused")
    r = crmctl("plan", "-e", "staging", "--impact")
    assert r.exit_code == 1
    assert r.err.startswith(
        "Error: environment staging (sandbox) keeps its records in the CRM, not on this machine; "
        "nothing to measure the impact on\nhint: load a records export into a sandbox database"
    )
    r = crmctl("plan", "-e", "staging", "--impact-from-live", "--impact-db", "x.db")
    assert r.exit_code == 1
    assert r.err.endswith("Error: --impact-db and --impact-from-live are two sources; give one\n")
    r = crmctl("plan", "--impact-db", "missing.db")
    assert (r.exit_code, r.err) == (
        1,
        f"Error: {impact_project / 'missing.db'}: no such sandbox database\n"
        "hint: create one with crmctl sandbox init, fill it with crmctl sandbox seed or "
        "crmctl sandbox load --from FILE\n",
    )


def test_salesforce_cannot_read_live_records_yet(project, crmctl) -> None:
    r = crmctl("plan", "-e", "prod", "--impact-from-live")
    assert r.exit_code == 1
    assert r.err.startswith(
        "Error: --impact-from-live is not supported for the salesforce provider yet; nothing was read\n"
        "hint: export the records with the vendor's tools and load them: crmctl sandbox load -e prod"
    )
    assert (REPO / "docs" / "impact.md").is_file()


def test_the_in_process_sandbox_reads_its_own_records_as_live(impact_project, crmctl) -> None:
    r = crmctl("plan", "--impact-from-live", "--impact-limit", "3", "--format", "json")
    assert r.exit_code == 0, r.output
    impact = json.loads(r.out)["impact"]
    assert impact["source"].startswith("the live CRM (sandbox .crmctl/sandbox.db (in-process)")
    assert impact["records"] == {"Contact": 3, "Visit__c": 2}
    # c01-c03: c02 has a Code__c longer than 5 characters
    (code,) = [c for c in impact["changes"] if c["address"] == "CustomField/Contact.Code__c"]
    assert [(f["count"], f["total"]) for f in code["findings"]] == [(1, 3)]
