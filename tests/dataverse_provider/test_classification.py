"""A column's `classification` on Dataverse: a governance label crmctl keeps in git.

Dataverse columns have no classification. The provider says so (`unstored_keys`); each apply
records the labels it carried out in the history, and the plan compares the manifests' label
with that one: a relabel is a change, shown and governed, that sends nothing to Dataverse.
The label never drifts (docs/dynamics.md, *Labels crmctl keeps in git*).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.dataverse_provider.org import DataverseOrg, governed_env
from tests.dataverse_provider.org import no_changes as _no_changes
from tests.dataverse_provider.org import write_manifests as _write
from tests.e2e.helpers import manifest
from tests.governance.conftest import PEOPLE, approve_governance_as, as_person, bare_remote
from tests.governance.gitrepo import AUTHOR, commit, init
from tests.governance.keys import write_signers

STEWARD = "amara.okafor@northwind.example"
ATTRIBUTE = "EntityDefinitions(LogicalName='account')/Attributes(LogicalName='nw_nationalid')"


def _account_metadata(org: DataverseOrg, since: str | None = None) -> dict:
    """RetrieveMetadataChanges for the account table (plain OData): changed since `since`."""
    query = {
        "Criteria": {"FilterOperator": "And", "Conditions": [{
            "PropertyName": "LogicalName", "ConditionOperator": "Equals",
            "Value": {"Type": "System.String", "Value": "account"}}]},
        "Properties": {"AllProperties": False, "PropertyNames": ["LogicalName", "Attributes"]},
    }  # fmt: skip
    if since is None:
        return org.web(
            "GET", "RetrieveMetadataChanges(Query=@p1)", params={"@p1": json.dumps(query)}
        )
    return org.web(
        "GET",
        "RetrieveMetadataChanges(Query=@p1,ClientVersionStamp=@p2)",
        params={"@p1": json.dumps(query), "@p2": f"'{since}'"},
    )


def _column(classification: str, label: str = "National ID") -> dict:
    return manifest(
        "CustomField",
        "account.nw_nationalid",
        type="Text",
        label=label,
        length=32,
        description="Identity document number",
        classification=classification,
    )


def test_classification_plans_empty_after_apply_and_never_drifts(
    project: Path,
    org: DataverseOrg,
    crmctl,
) -> None:
    org.write_env(project, "dv")
    _write(project, _column("PII"))
    r = crmctl("validate", "-e", "dv")
    assert (r.exit_code, r.out) == (0, "valid: 1 resource in 1 file\n")
    r = crmctl("plan", "-e", "dv")
    assert '      + classification: "PII"\n' in r.out  # the label, shown with the new column
    r = crmctl("apply", "-e", "dv", "--auto-approve")
    assert r.exit_code == 0, r.output
    _no_changes(crmctl, "dv")
    live = org.web("GET", ATTRIBUTE)
    assert "classification" not in json.dumps(live).lower()  # nothing of it was sent

    # A reclassification is compared with the label the last apply recorded: it is planned
    # (and governed) like any change, yet nothing of it is sent to Dataverse.
    _write(project, _column("Sensitive"))
    r = crmctl("plan", "-e", "dv", "--detailed-exitcode")
    assert r.exit_code == 2, r.output
    assert (
        '  ~ CustomField/account.nw_nationalid\n      ~ classification: "PII" -> "Sensitive"\n\n'
    ) in r.out, r.out
    assert r.out.endswith("Plan: 0 to add, 1 to change, 0 to destroy.\n"), r.out
    r = crmctl("drift", "-e", "dv", "--format", "json")  # the CRM did not change: no drift
    assert (r.exit_code, r.err) == (0, ""), r.out
    report = json.loads(r.out)
    assert report["drift"] == []
    [pending] = report["pending"]  # only the relabel, still to be applied
    assert (pending["address"], pending["action"]) == (
        "CustomField/account.nw_nationalid",
        "update",
    )
    assert "classification" in json.dumps(pending), pending
    stamp = _account_metadata(org)["ServerVersionStamp"]
    r = crmctl("apply", "-e", "dv", "--auto-approve")
    assert r.exit_code == 0, r.output
    assert r.out.endswith(
        "Apply complete: 0 added, 1 changed, 0 destroyed. Recorded as v2 of dv.\n"
    ), r.out
    assert _account_metadata(org, stamp)["EntityMetadata"] == []  # no metadata write went out
    assert "classification" not in json.dumps(org.web("GET", ATTRIBUTE)).lower()
    _no_changes(crmctl, "dv")

    # With a change Dataverse stores, only that change is planned.
    _write(project, _column("Sensitive", label="National Identity Number"))
    r = crmctl("plan", "-e", "dv", "--detailed-exitcode")
    assert r.exit_code == 2, r.output
    assert (
        "  ~ CustomField/account.nw_nationalid\n"
        '      ~ label: "National ID" -> "National Identity Number"\n\n'
    ) in r.out
    assert "classification" not in r.out
    assert r.out.endswith("Plan: 0 to add, 1 to change, 0 to destroy.\n")
    r = crmctl("apply", "-e", "dv", "--auto-approve")
    assert r.exit_code == 0, r.output
    _no_changes(crmctl, "dv")


READERS = manifest(
    "PermissionSet",
    "Id_Readers",
    label="Id Readers",
    objects={"account": ["read"]},
    depths={"account": {"read": "Global"}},
    fields={"account.nw_nationalid": ["read"]},
)

APPROVALS = f"""\
    data-steward: [{STEWARD}]
  rules:
    - name: personal-data
      match:
        classifications: [PII, Sensitive]
      require: [data-steward]
"""


def _steward_approves_then_apply(crmctl, project: Path, ticket: str, summary: str) -> None:
    """The data steward approves the plan under `ticket`; the apply ends with `summary`."""
    approved = crmctl(
        "approve", "-e", "gov", "--role", "data-steward", "--ticket", ticket,
        env=as_person(STEWARD),
    )  # fmt: skip
    assert approved.exit_code == 0, approved.output
    record = re.search(r" in (approvals/gov/\S+\.yaml)", approved.out).group(1)
    commit(project, AUTHOR, f"Approve {ticket}", record)
    done = crmctl("apply", "-e", "gov", "--auto-approve")
    assert done.exit_code == 0, done.output
    assert done.out.endswith(f"Apply complete: {summary} of gov.\n"), done.out
    _no_changes(crmctl, "gov")


def test_a_change_to_a_pii_column_needs_the_data_steward_on_dataverse(
    project: Path,
    org: DataverseOrg,
    crmctl,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for folder in ("manifests", "environments"):
        shutil.rmtree(project / folder)
    (project / "environments").mkdir()
    (project / "environments" / "gov.yaml").write_text(
        governed_env(org.url, bare_remote(project), APPROVALS)
    )
    _write(project, _column("PII"))
    write_signers(project, *PEOPLE)
    init(project)
    monkeypatch.setenv("CRMCTL_ACTOR", AUTHOR)
    approve_governance_as(crmctl)
    missing = (
        "Error: 1 required approval is missing or does not count; nothing was applied:\n"
        "  - CustomField/account.nw_nationalid: data-steward: missing\n"
        "hint: crmctl approvals -e gov shows who approved what; an approver records one with: "
        "crmctl approve -e gov --role ROLE --ticket ID\n"
    )
    refused = crmctl("apply", "-e", "gov", "--auto-approve")
    assert (refused.exit_code, refused.err) == (1, missing)

    _steward_approves_then_apply(
        crmctl, project, "DPO-1", "1 added, 0 changed, 0 destroyed. Recorded as v1"
    )

    # The live column has no classification; the manifests' PII still governs its changes.
    _write(project, _column("PII", label="National Identity Number"))
    commit(project, AUTHOR, "Rename the national id column", "dv/org.yaml")
    refused = crmctl("apply", "-e", "gov", "--auto-approve")
    assert (refused.exit_code, refused.err) == (1, missing)
    live = org.web("GET", ATTRIBUTE + "?$select=DisplayName")
    assert live["DisplayName"]["UserLocalizedLabel"]["Label"] == "National ID"

    # The open door this closes: relabel the PII column Public, then grant it.
    _write(project, _column("Public", label="National Identity Number"))
    commit(project, AUTHOR, "Call the national id public", "dv/org.yaml")
    r = crmctl("plan", "-e", "gov", "--detailed-exitcode")
    assert r.exit_code == 2, r.output
    assert '      ~ classification: "PII" -> "Public"\n' in r.out, r.out
    refused = crmctl("apply", "-e", "gov", "--auto-approve")
    assert (refused.exit_code, refused.err) == (1, missing)  # the old label still governs

    # Leaving the relabel out of the apply does not help: a grant is judged on the label in
    # effect (the one the last apply recorded) as well as on the manifests'.
    _write(project, _column("Public", label="National Identity Number"), READERS)
    commit(project, AUTHOR, "Let the desk read national ids", "dv/org.yaml")
    target = ("--target", "PermissionSet/Id_Readers")
    r = crmctl("plan", "-e", "gov", *target)
    assert r.exit_code == 0, r.output
    assert "classification" not in r.out  # the relabel is not in this plan
    refused = crmctl("apply", "-e", "gov", "--auto-approve", *target)
    assert refused.exit_code == 1, refused.output
    assert "  - PermissionSet/Id_Readers: data-steward: missing\n" in refused.err, refused.err
    assert org.web("GET", "roles", params={"$filter": "name eq 'Id Readers'"})["value"] == []

    # With the steward's approval the relabel is applied and recorded; nothing else changes.
    _steward_approves_then_apply(
        crmctl, project, "DPO-2", "1 added, 1 changed, 0 destroyed. Recorded as v2"
    )
