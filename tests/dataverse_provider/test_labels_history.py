"""Labels Dataverse does not store (a column's classification) through the history.

The plan compares the manifests' label with the one the last apply recorded. These tests
try to get a label recorded that no plan showed (rollback, recover --finish, a history
written before labels were recorded, a column crmctl adopts) or to lose the recorded one
(a delete), each time looking at the plan a reviewer would read.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from crmctl.config.environment import load_environment
from crmctl.executor import journal_state, snapshot
from crmctl.workspace import Workspace
from tests.dataverse_provider.org import DataverseOrg
from tests.dataverse_provider.org import no_changes as _no_changes
from tests.dataverse_provider.org import write_manifests as _write
from tests.dataverse_provider.test_classification import _account_metadata, _column
from tests.e2e.helpers import manifest

OTHER = manifest(
    "CustomField",
    "account.nw_other",
    type="Text",
    label="Other",
    length=32,
    description="Another column",
    classification="Public",
)
NATIONAL_ID = "CustomField/account.nw_nationalid"


def _history(project: Path) -> Path:
    return project / ".crmctl" / "history-dv"


def _recorded(project: Path) -> dict:
    return json.loads((_history(project) / "dv" / "labels.json").read_text())


def _apply(crmctl) -> str:
    r = crmctl("apply", "-e", "dv", "--auto-approve")
    assert r.exit_code == 0, r.output
    return r.out


def _planned(crmctl, *args: str) -> dict:
    r = crmctl("plan", "-e", "dv", "--format", "json", *args)
    assert r.exit_code == 0, r.output
    return {c["address"]: c for c in json.loads(r.out)["changes"]}


def test_deleting_a_column_carries_its_recorded_label(dv: Path, org: DataverseOrg, crmctl):
    _write(dv, OTHER, _column("PII"))
    _apply(crmctl)
    _write(dv, OTHER)
    change = _planned(crmctl)[NATIONAL_ID]
    assert change["action"] == "delete"
    assert change["before"]["classification"] == "PII"  # a rule on PII governs the delete


def test_rollback_puts_back_the_label_its_version_recorded(dv: Path, org: DataverseOrg, crmctl):
    _write(dv, OTHER, _column("PII"))
    _apply(crmctl)
    _write(dv, OTHER)
    _apply(crmctl)  # v2 deletes the PII column
    assert NATIONAL_ID not in _recorded(dv)
    _write(dv, OTHER, _column("Public"))  # the manifests move on, not applied
    r = crmctl("rollback", "-e", "dv", "--to", "v1", "--auto-approve")
    assert r.exit_code == 0, r.output
    assert '      + classification: "PII"\n' in r.out, r.out  # v1's label, shown
    assert _recorded(dv)[NATIONAL_ID] == {"classification": "PII"}
    change = _planned(crmctl)[NATIONAL_ID]  # and the manifests' Public is a relabel to review
    assert (change["before"]["classification"], change["after"]["classification"]) == (
        "PII",
        "Public",
    )


def test_recover_finish_records_the_interrupted_plans_labels_and_sends_none(
    dv: Path, org: DataverseOrg, crmctl
):
    _write(dv, OTHER)
    _apply(crmctl)
    relabelled = {**OTHER, "spec": {**OTHER["spec"], "classification": "Sensitive"}}
    phone = manifest(
        "CustomField", "contact.nw_phone", type="Text", label="Phone", length=20,
        description="Private phone", classification="PII",
    )  # fmt: skip
    _write(dv, relabelled, phone)
    workspace = Workspace(load_environment("dv", dv))  # an apply that stopped before writing
    try:
        plan = workspace.plan()
        before = snapshot(workspace.read_live().values())
        workspace.journal.start(journal_state("dv", "someone@example.com", plan, before))
    finally:
        workspace.close()
    public = {**phone, "spec": {**phone["spec"], "classification": "Public"}}
    _write(dv, OTHER, public)  # the manifests move on before recover --finish
    stamp = _account_metadata(org)["ServerVersionStamp"]
    r = crmctl("recover", "-e", "dv", "--finish")
    assert r.exit_code == 0, r.output
    assert _account_metadata(org, stamp)["EntityMetadata"] == []  # the relabel sent nothing
    assert _recorded(dv) == {  # the interrupted plan's labels, not today's manifests'
        "CustomField/account.nw_other": {"classification": "Sensitive"},
        "CustomField/contact.nw_phone": {"classification": "PII"},
    }
    planned = _planned(crmctl)
    assert planned["CustomField/contact.nw_phone"]["before"]["classification"] == "PII"
    assert planned["CustomField/account.nw_other"]["before"]["classification"] == "Sensitive"


def test_a_history_without_labels_takes_them_from_its_plans(dv: Path, org: DataverseOrg, crmctl):
    _write(dv, OTHER, _column("PII"))
    _apply(crmctl)
    history = _history(dv)
    for path in history.rglob("labels.json"):  # as a history written before labels were
        path.unlink()
    subprocess.run(["git", "-C", str(history), "commit", "-qam", "older history"], check=True)
    _no_changes(crmctl, "dv")
    _write(dv, OTHER, _column("Public"))
    change = _planned(crmctl)[NATIONAL_ID]
    assert (change["before"]["classification"], change["after"]["classification"]) == (
        "PII",
        "Public",
    )


def test_a_label_no_apply_recorded_is_new(dv: Path, org: DataverseOrg, crmctl):
    """A column whose label is on no record (adopted, or a gap): the manifests' label is a
    change to review, never taken as already approved."""
    _write(dv, OTHER)
    _apply(crmctl)
    labels = _history(dv) / "dv" / "labels.json"
    labels.write_text("{}")
    subprocess.run(["git", "-C", str(_history(dv)), "commit", "-qam", "a gap"], check=True)
    r = crmctl("plan", "-e", "dv", "--detailed-exitcode")
    assert r.exit_code == 2, r.output
    assert ('  ~ CustomField/account.nw_other\n      + classification: "Public"\n\n') in r.out
    _apply(crmctl)
    assert _recorded(dv) == {"CustomField/account.nw_other": {"classification": "Public"}}
    _no_changes(crmctl, "dv")


def _older(project: Path, *versions: int) -> None:
    """Make the history look written before versions recorded labels (all, or some)."""
    history = _history(project)
    paths = (
        [history / "dv" / "versions" / f"{v:06d}" / "labels.json" for v in versions]
        if versions
        else list(history.rglob("labels.json"))
    )
    for path in paths:
        path.unlink()
    subprocess.run(["git", "-C", str(history), "commit", "-qam", "older history"], check=True)


def test_a_rollback_to_a_version_without_labels_keeps_the_recorded_ones(
    dv: Path, org: DataverseOrg, crmctl, tmp_path: Path
):
    _write(dv, OTHER, _column("PII"))
    _apply(crmctl)
    _older(dv, 1)
    _write(dv, OTHER, _column("PII", label="National Identity Number"))
    _apply(crmctl)
    saved = tmp_path / "rollback.json"
    r = crmctl("rollback", "-e", "dv", "--to", "v1", "--out", str(saved))
    assert r.exit_code == 0, r.output
    [change] = [c for c in json.loads(saved.read_text())["changes"] if c["address"] == NATIONAL_ID]
    # The label rules see: PII on both sides (v1 recorded none, so it stays as recorded).
    assert (change["before"]["classification"], change["after"]["classification"]) == (
        "PII",
        "PII",
    )
    r = crmctl("rollback", "-e", "dv", "--to", "v1", "--auto-approve")
    assert r.exit_code == 0, r.output
    assert _recorded(dv)[NATIONAL_ID] == {"classification": "PII"}


def test_an_older_partial_apply_gives_only_its_applied_changes_labels(
    dv: Path, org: DataverseOrg, crmctl
):
    alpha = manifest(
        "CustomField", "account.nw_alpha", type="Text", label="Alpha", length=10,
        description="First in plan order", classification="Public",
    )  # fmt: skip
    _write(dv, alpha, OTHER, _column("PII"))
    _apply(crmctl)
    renamed = {**alpha, "spec": {**alpha["spec"], "label": "Alpha name"}}
    _write(dv, renamed, OTHER, _column("Public", label="National Identity Number"))
    org.server.faults.configure({"failNthWrite": {"n": 4, "status": 500, "when": "before"}})
    r = crmctl("apply", "-e", "dv", "--auto-approve", "--no-restore")
    org.server.faults.clear()
    assert r.exit_code == 1, r.output
    assert "  ~ CustomField/account.nw_alpha       applied\n" in r.out, r.out
    assert "  ~ CustomField/account.nw_nationalid  FAILED" in r.out, r.out
    assert "(failed, partial)" in r.output, r.output
    _older(dv)
    change = _planned(crmctl)[NATIONAL_ID]  # the relabel did not take effect: still pending
    assert (change["before"]["classification"], change["after"]["classification"]) == (
        "PII",
        "Public",
    )
