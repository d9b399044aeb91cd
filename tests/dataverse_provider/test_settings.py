"""Settings Dataverse does not store are refused at validate (but classification, a label
crmctl keeps in git: tests/dataverse_provider/test_classification.py); spellings read back equal.

A declared setting must never be silently dropped, and a plan must be empty
after an apply: docs/dynamics.md, "Settings Dataverse does not store".
"""

from __future__ import annotations

from pathlib import Path

from tests.dataverse.test_dialect import two_envs  # noqa: F401  (a fixture)

UNSTORED = """\
apiVersion: crmctl/v1
kind: CustomField
metadata: {name: account.nw_tier}
spec:
  type: Text
  label: Tier
  helpText: Gold, Silver or Bronze
  unique: true
  externalId: false
  classification: PII
---
apiVersion: crmctl/v1
kind: DuplicateRule
metadata: {name: account.Same_Tier}
spec:
  match: [{field: nw_tier}]
  action: {onCreate: alert}
"""

ROLES = """\
apiVersion: crmctl/v1
kind: PermissionSet
metadata: {name: No_Depths}
spec:
  label: No Depths
  objects:
    account: [read]
---
apiVersion: crmctl/v1
kind: PermissionSet
metadata: {name: Some_Depths}
spec:
  label: Some Depths
  objects:
    account: [read, edit]
    contact: [viewAll]
  depths:
    account: {read: Global, delete: Basic}
---
apiVersion: crmctl/v1
kind: PermissionSet
metadata: {name: Grants_Nothing}
spec:
  label: Grants Nothing
  objects: {}
"""


def test_settings_dataverse_does_not_store_are_refused_at_their_line(
    two_envs: Path,  # noqa: F811
    crmctl,
) -> None:
    (two_envs / "manifests" / "f.yaml").write_text(UNSTORED)
    r = crmctl("validate", "-e", "dv")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/f.yaml:7: CustomField/account.nw_tier: spec.helpText: a Dataverse column "
        "has no help text apart from its description, which Dataverse's apps show as the "
        "column's tooltip: write the help text in description\n"
        "manifests/f.yaml:8: CustomField/account.nw_tier: spec.unique: uniqueness is an "
        "alternate key in Dataverse, which crmctl does not manage yet: leave unique out in a "
        "Dataverse environment\n"
        "manifests/f.yaml:9: CustomField/account.nw_tier: spec.externalId: an external id is "
        "an alternate key in Dataverse, which crmctl does not manage yet: leave externalId out "
        "in a Dataverse environment\n"
        "manifests/f.yaml:17: DuplicateRule/account.Same_Tier: spec.action: Dataverse has no "
        "per-rule action: its apps decide whether a duplicate warns or blocks, and its Web API "
        "refuses a duplicate only when the client asks for detection; leave action out in a "
        "Dataverse environment\n"
        "4 errors in 1 file\n"
    )


def test_the_same_settings_stay_valid_in_a_salesforce_dialect(two_envs: Path, crmctl) -> None:  # noqa: F811
    (two_envs / "manifests" / "f.yaml").write_text(
        UNSTORED.replace("account.nw_tier", "Account.Tier__c").replace("nw_tier", "Tier__c")
    )
    r = crmctl("validate", "-e", "local")
    assert (r.exit_code, r.out) == (0, "valid: 2 resources in 1 file\n")


def test_every_granted_verb_needs_a_depth(two_envs: Path, crmctl) -> None:  # noqa: F811
    (two_envs / "manifests" / "roles.yaml").write_text(ROLES)
    r = crmctl("validate", "-e", "dv")
    assert r.exit_code == 1
    assert r.out == (
        "manifests/roles.yaml:6: PermissionSet/No_Depths: spec.objects: a Dataverse security "
        "role grants each privilege at a depth: add depths with a depth (Basic, Local, Deep or "
        "Global) for every verb in objects\n"
        "manifests/roles.yaml:15: PermissionSet/Some_Depths: objects.account: 'edit' has no "
        "depth: a Dataverse security role grants each privilege at a depth\n"
        "  hint: add depths.account.edit: Basic, Local, Deep or Global\n"
        "manifests/roles.yaml:16: PermissionSet/Some_Depths: objects.contact: 'viewAll' is not "
        "a Dataverse privilege\n"
        "  hint: grant read with depth Global in depths.contact\n"
        "manifests/roles.yaml:18: PermissionSet/Some_Depths: depths.account: 'delete' is granted "
        "here but not listed in objects.account\n"
        "  hint: add delete to objects.account, or remove depths.account.delete\n"
        "4 errors in 1 file\n"
    )
