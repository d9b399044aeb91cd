"""crmctl drift end to end: another sandbox user changes the CRM by hand over HTTP."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from jsonschema import Draft202012Validator

from crmctl.schemas import schema_dir
from tests.conftest import EXAMPLE
from tests.e2e.helpers import replace_in
from tests.e2e.out_of_band import PRIYA, as_priya, tamper


def apply_all(crmctl) -> None:
    result = crmctl("apply", "--auto-approve")
    assert result.exit_code == 0, result.output


def test_out_of_band_changes_are_reported_with_who_made_them(http_project, sandbox_server, crmctl):
    apply_all(crmctl)
    tamper(sandbox_server)

    result = crmctl("drift")
    assert result.exit_code == 2, result.output
    lines = result.out.splitlines()
    assert lines[0] == f"Environment e2e: sandbox {sandbox_server.url}."
    assert lines[1].startswith("Compared the live CRM with what v1 applied at ")
    assert lines[1].endswith(" by tester@example.com.")
    heads = [line for line in lines if line.startswith("  ") and not line.startswith("      ")]
    assert [h.split(" at ")[0] for h in heads] == [
        f"  ~ CustomField/Account.Region__c  modified out of band by {PRIYA}",
        f"  - ValidationRule/Invoice__c.Positive_Amount  deleted out of band by {PRIYA}",
        f"  + PermissionSet/Hand_Made  created out of band by {PRIYA}",
    ]
    assert '      ~ label: "Region" -> "Sales Region"' in lines
    assert '      + label: "Hand made"' in lines
    assert lines[-1] == ("Drift in e2e: 1 modified, 1 deleted, 1 created out of band; 77 in sync.")


def test_junit_report_written_to_a_file(http_project, sandbox_server, crmctl):
    apply_all(crmctl)
    tamper(sandbox_server)

    result = crmctl("drift", "--format", "junit", "--out", "reports/drift.xml")
    assert result.exit_code == 2, result.output
    assert result.out == (
        "Drift in e2e: 1 modified, 1 deleted, 1 created out of band; 77 in sync. "
        "Report written to reports/drift.xml.\n"
    )
    root = ET.parse(http_project / "reports" / "drift.xml").getroot()
    suite = root.find("testsuite")
    assert (
        suite.get("tests"),
        suite.get("failures"),
        suite.get("errors"),
        suite.get("skipped"),
    ) == (
        "80",
        "3",
        "0",
        "0",
    )
    failed = {
        case.get("name"): (case.get("classname"), case.find("failure"))
        for case in suite.iter("testcase")
        if case.find("failure") is not None
    }
    assert {name: (cls, f.get("type")) for name, (cls, f) in failed.items()} == {
        "CustomField/Account.Region__c": ("CustomField", "modified"),
        "ValidationRule/Invoice__c.Positive_Amount": ("ValidationRule", "deleted"),
        "PermissionSet/Hand_Made": ("PermissionSet", "created"),
    }
    message = failed["CustomField/Account.Region__c"][1].get("message")
    assert message.startswith(f"modified out of band by {PRIYA} at ")
    assert '~ label: "Region" -> "Sales Region"' in failed["CustomField/Account.Region__c"][1].text
    passed = [c for c in suite.iter("testcase") if len(c) == 0]
    assert len(passed) == 77
    assert ("Role", "Role/CEO") in {(c.get("classname"), c.get("name")) for c in passed}


def test_the_old_output_spelling_still_writes_the_report_with_a_deprecation_note(
    http_project, sandbox_server, crmctl
):
    apply_all(crmctl)
    result = crmctl("drift", "--format", "junit", "--output", "drift.xml")
    assert (result.exit_code, result.err) == (
        0,
        "warning: --output is deprecated and will be removed in the next release; use --out\n",
    )
    assert result.out.endswith(" Report written to drift.xml.\n")
    assert ET.parse(http_project / "drift.xml").getroot().find("testsuite") is not None
    both = crmctl("drift", "--out", "a.xml", "--output", "b.xml")
    assert both.exit_code == 1
    assert both.err.endswith("\nError: --output is the old spelling of --out; give only --out\n")
    assert "--output" not in crmctl("drift", "--help").out


def test_json_report_follows_its_schema(http_project, sandbox_server, crmctl):
    apply_all(crmctl)
    tamper(sandbox_server)
    result = crmctl("drift", "--format", "json")
    assert result.exit_code == 2
    report = json.loads(result.out)
    schema = json.loads((schema_dir() / "drift.json").read_text())
    assert list(Draft202012Validator(schema).iter_errors(report)) == []
    assert report["summary"] == {
        "modified": 1,
        "deleted": 1,
        "created": 1,
        "ignored": 0,
        "adopted": 0,
        "pending": 0,
        "inSync": 77,
    }
    assert report["baseline"]["source"] == "history" and report["baseline"]["version"] == 1
    region = report["drift"][0]
    assert region["address"] == "CustomField/Account.Region__c"
    assert region["changedBy"]["actor"] == PRIYA and region["changedBy"]["action"] == "update"
    assert region["diff"] == [
        {"path": "label", "change": "changed", "before": "Region", "after": "Sales Region"}
    ]


def test_markdown_report_for_an_issue(http_project, sandbox_server, crmctl):
    apply_all(crmctl)
    tamper(sandbox_server)
    result = crmctl("drift", "--format", "markdown")
    assert result.exit_code == 2
    lines = result.out.splitlines()
    assert lines[:4] == [
        "<!-- crmctl-drift -->",
        "### crmctl drift in `e2e`",
        "",
        "**Drift in e2e: 1 modified, 1 deleted, 1 created out of band; 77 in sync.**",
    ]
    row = next(line for line in lines if "`CustomField/Account.Region__c`" in line)
    assert row.startswith(f"| ~ | `CustomField/Account.Region__c` | modified: `label` | {PRIYA} | ")


def test_an_ignored_difference_is_reported_as_ignored_and_not_counted(
    http_project, sandbox_server, crmctl
):
    env = http_project / "environments" / "e2e.yaml"
    env.write_text(
        env.read_text()
        + "drift:\n"
        + "  ignore:\n"
        + "    - target: CustomField/Account.*\n"
        + "      path: label\n"
        + "      reason: Sales ops rename labels in the CRM\n"
    )
    apply_all(crmctl)
    api = as_priya(sandbox_server)
    spec = api.get("CustomField", "Account.Region__c")
    api.put("CustomField", "Account.Region__c", {**spec, "label": "Sales Region"})

    result = crmctl("drift")
    assert result.exit_code == 0, result.output
    lines = result.out.splitlines()
    start = lines.index("Ignored (drift.ignore in the environment file; not counted):")
    assert lines[start + 2 : start + 4] == [
        "  ~ CustomField/Account.Region__c  modified: Sales ops rename labels in the CRM",
        '      ~ label: "Region" -> "Sales Region"',
    ]
    assert lines[-1] == "No drift in e2e: 1 ignored, 78 in sync."

    junit = crmctl("drift", "--format", "junit")
    suite = ET.fromstring(junit.out).find("testsuite")
    assert (suite.get("failures"), suite.get("skipped")) == ("0", "1")
    skipped = next(c for c in suite.iter("testcase") if c.find("skipped") is not None)
    assert skipped.get("name") == "CustomField/Account.Region__c"
    assert skipped.find("skipped").get("message") == "ignored: Sales ops rename labels in the CRM"


def test_pending_manifest_changes_are_not_drift(http_project, sandbox_server, crmctl):
    apply_all(crmctl)
    account = http_project / "manifests" / "standard" / "account.yaml"
    replace_in(account, "label: Region", "label: Sales Region")

    result = crmctl("drift")
    assert result.exit_code == 0, result.output
    lines = result.out.splitlines()
    start = lines.index(
        "Pending manifest changes (not applied yet; not drift; crmctl plan shows them):"
    )
    assert lines[start + 2 : start + 4] == [
        "  ~ CustomField/Account.Region__c",
        '      ~ label: "Region" -> "Sales Region"',
    ]
    assert lines[-1] == f"No drift in e2e: 1 pending manifest change, {EXAMPLE.resources} in sync."


def test_since_version_compares_with_what_that_version_applied(
    http_project, sandbox_server, crmctl
):
    apply_all(crmctl)  # v1
    account = http_project / "manifests" / "standard" / "account.yaml"
    replace_in(account, "label: Region", "label: Sales Region")
    apply_all(crmctl)  # v2

    assert crmctl("drift").exit_code == 0
    since_v1 = crmctl("drift", "--since-version", "v1")
    assert since_v1.exit_code == 2, since_v1.output
    lines = since_v1.out.splitlines()
    assert lines[1].startswith("Compared the live CRM with what v1 applied at ")
    assert lines[1].endswith("; later versions up to v2 count as changes.")
    assert lines[5].startswith(
        "  ~ CustomField/Account.Region__c  modified since v1 by admin@sandbox.local at "
    )
    assert "Pending" not in since_v1.out  # the manifests match what v2 applied
    assert lines[-1] == "Drift in e2e since v1: 1 modified, 0 deleted, 0 created; 78 in sync."

    missing = crmctl("drift", "--since-version", "v9")
    assert missing.exit_code == 1
    assert missing.err.startswith("Error: e2e has no version v9")
    bad = crmctl("drift", "--since-version", "latest")
    assert bad.exit_code == 1 and "'latest' is not a version; versions look like v12" in bad.err


def test_without_history_the_manifests_are_the_baseline_and_the_output_says_so(
    http_project, sandbox_server, crmctl
):
    result = crmctl("drift")
    assert result.exit_code == 2
    lines = result.out.splitlines()
    assert lines[1] == (
        "Compared the live CRM with the manifests (no apply is recorded for this environment yet)."
    )
    assert "  - Role/CEO  deleted out of band, or never applied" in lines


def test_in_process_sandbox_attributes_changes_to_the_store_actor(project, crmctl):
    """The local environment: crmctl and the other user write to the same SQLite store."""
    from crmctl.sandbox.store import SandboxStore

    assert crmctl("apply", "--auto-approve").exit_code == 0
    store = SandboxStore.open(project / ".crmctl" / "sandbox.db")
    try:
        store.put_config("Role", "Auditor", {"label": "Auditor"}, actor="ana@example.com")
    finally:
        store.close()
    result = crmctl("drift")
    assert result.exit_code == 2, result.output
    assert "  + Role/Auditor  created out of band by ana@example.com at " in result.out


def test_a_grant_on_what_the_manifests_cannot_define_is_neither_pending_nor_planned(
    http_project, sandbox_server, crmctl
):
    """An admin grants a crmctl permission set read on an object made in Setup. plan keeps
    the entry (it is not crmctl's). Once an apply recorded it, drift must agree with plan:
    no pending change would remove it."""
    apply_all(crmctl)
    store = sandbox_server.store
    store.put_config("CustomObject", "Hand__c", {"label": "Hand", "pluralLabel": "Hands"}, PRIYA)
    rep = next(i["spec"] for i in store.list_all_config() if i["name"] == "Sales_Rep")
    store.put_config(
        "PermissionSet",
        "Sales_Rep",
        {**rep, "objects": {**rep["objects"], "Hand__c": ["read"]}},
        PRIYA,
    )
    planned = crmctl("plan", "--detailed-exitcode")
    assert planned.exit_code == 0, planned.output  # not crmctl's: kept, never shown
    replace_in(http_project / "manifests" / "access" / "roles.yaml", "VP Sales", "VP of Sales")
    apply_all(crmctl)  # v2 records the live permission set, the hand-made entry included

    result = crmctl("drift", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.out)
    assert report["pending"] == [], report["pending"]
    assert report["drift"] == [], report["drift"]
    planned = crmctl("plan", "--detailed-exitcode")
    assert planned.exit_code == 0, planned.output


def test_a_hand_made_grant_on_what_the_manifests_cannot_define_is_drift(
    http_project, sandbox_server, crmctl
):
    """plan keeps the entry (not crmctl's), but drift reports it: someone widened a crmctl
    permission set by hand; it is never counted as adopted into the manifests."""
    apply_all(crmctl)
    store = sandbox_server.store
    store.put_config("CustomObject", "Hand__c", {"label": "Hand", "pluralLabel": "Hands"}, PRIYA)
    rep = next(i["spec"] for i in store.list_all_config() if i["name"] == "Sales_Rep")
    hand = {**rep, "objects": {**rep["objects"], "Hand__c": ["read", "edit"]}}
    store.put_config("PermissionSet", "Sales_Rep", hand, PRIYA)
    result = crmctl("drift", "--format", "json")
    assert result.exit_code == 2, result.output
    [drift] = [
        d for d in json.loads(result.out)["drift"] if d["address"] == "PermissionSet/Sales_Rep"
    ]
    assert drift["adopted"] is False, drift
    assert crmctl("plan", "--detailed-exitcode").exit_code == 0  # and plan leaves it alone
