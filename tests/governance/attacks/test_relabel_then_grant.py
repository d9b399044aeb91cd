"""Relabelling a field in the manifests cannot lower what a grant on it needs.

The `personal-data` rule of the governed environment asks the data steward for
any grant on a PII or Sensitive field. An author relabels the Sensitive
`Contact.National_Id__c` Public in the same merge that grants it, then applies
only the grant (`--target`), leaving the relabel (which would itself need the
steward) unapplied. The grant is judged on the classification the CRM holds
now as well as the manifests' one, so the steward is still required.
"""

from __future__ import annotations

from pathlib import Path

from crmctl.sandbox.store import SandboxStore
from tests.e2e.helpers import live_specs, manifest, replace_in, write_manifest
from tests.governance.gitrepo import AUTHOR, commit
from tests.governance.test_approvals import TOMAS, apply, approve, refusal

CONTACT = "manifests/standard/contact.yaml"
READERS = manifest(
    "PermissionSet",
    "Id_Readers",
    label="Id Readers",
    description="Checks identity documents for regulated contracts.",
    objects={"Contact": ["read"]},
    fields={"Contact.National_Id__c": ["read"]},
)


def _live(root: Path) -> dict[str, dict]:
    store = SandboxStore.open(root / ".crmctl" / "sandbox.db")
    try:
        return live_specs(store)
    finally:
        store.close()


def _relabel_and_grant(root: Path) -> None:
    replace_in(
        root / CONTACT,
        "  description: Identity document number for regulated contracts; encrypted at rest.\n"
        "  classification: Sensitive\n",
        "  description: Identity document number for regulated contracts; encrypted at rest.\n"
        "  classification: Public\n",
    )
    write_manifest(root, "access/id-readers.yaml", READERS)
    commit(root, AUTHOR, "Call the national id public and let a desk read it")


def test_a_grant_applied_without_the_relabel_still_needs_the_data_steward(governed, crmctl):
    _relabel_and_grant(governed)
    target = ("--target", "PermissionSet/Id_Readers")
    plan = crmctl("plan", "-e", "gov", *target)
    assert plan.exit_code == 0, plan.output
    assert "classification" not in plan.out  # the relabel is left out of this plan
    assert "approvals required: security-officer, data-steward" in plan.out, plan.out

    commit(
        governed,
        TOMAS,
        "Approve",
        approve(crmctl, TOMAS, "security-officer", "PermissionSet/Id_Readers"),
    )
    refused = apply(crmctl, *target)
    assert refused.exit_code == 1, refused.output
    assert refused.err == refusal("PermissionSet/Id_Readers: data-steward: missing")
    assert "PermissionSet/Id_Readers" not in _live(governed)


def test_the_relabel_itself_needs_the_data_steward(governed, crmctl):
    _relabel_and_grant(governed)
    target = ("--target", "CustomField/Contact.National_Id__c")
    plan = crmctl("plan", "-e", "gov", *target)
    assert '      ~ classification: "Sensitive" -> "Public"\n' in plan.out, plan.out
    refused = apply(crmctl, *target)
    assert refused.err == refusal("CustomField/Contact.National_Id__c: data-steward: missing")
    live = _live(governed)["CustomField/Contact.National_Id__c"]
    assert live["classification"] == "Sensitive"
