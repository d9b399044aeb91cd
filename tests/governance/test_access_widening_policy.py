"""A policy can require the security officer exactly for changes that widen access to personal data.

`match: {accessWidening: [PII, Sensitive]}` matches the changes behind the plan's
"access widening" warnings (a permission set, a user's permission sets), and no
other permission-set edit. The gate inside apply enforces it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crmctl.sandbox.store import SandboxStore
from tests.governance.conftest import copy_back, governed_once
from tests.governance.gitrepo import AUTHOR, commit
from tests.governance.test_approvals import TOMAS, apply, approve, refusal
from tests.testing.conftest import edit

PERMS = "manifests/access/permission-sets.yaml"
USERS = "manifests/access/users.yaml"

WIDENING_ENV = """\
description: The embedded sandbox; the security officer approves wider access to personal data
provider:
  type: sandbox
  path: .crmctl/sandbox.db
manifests: [manifests]
history:
  path: .crmctl/history
  remote: {remote}
approvals:
  policyOwners: [security-officer]
  roles:
    security-officer: [tomas.berg@northwind.example]
  rules:
    - name: personal-data-access
      description: Wider access to personal data needs the security officer.
      match:
        accessWidening: [PII, Sensitive]
      require: [security-officer]
"""


@pytest.fixture(scope="session")
def widening_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return governed_once(tmp_path_factory, "widening", WIDENING_ENV)


@pytest.fixture
def widening_governed(
    widening_template: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> Path:
    """gov with the access-widening rule, applied once (v1)."""
    return copy_back(widening_template, monkeypatch)


def _live(root: Path, kind: str, name: str) -> dict:
    store = SandboxStore.open(root / ".crmctl" / "sandbox.db")
    try:
        return store.get_config(kind, name)["spec"]
    finally:
        store.close()


def _grant_national_id(root: Path) -> None:
    edit(
        root / PERMS,
        "    Contact.Preferred_Language__c: [read, edit]\n  system: [ApiEnabled]",
        "    Contact.Preferred_Language__c: [read, edit]\n    Contact.National_Id__c: [read]\n"
        "  system: [ApiEnabled]",
    )
    commit(root, AUTHOR, "Sales reps see national ids", PERMS)


def test_widening_needs_the_security_officer(widening_governed: Path, crmctl) -> None:
    _grant_national_id(widening_governed)
    planned = crmctl("plan", "-e", "gov")
    assert planned.exit_code == 0, planned.output
    assert (
        "  ~ PermissionSet/Sales_Rep\n"
        '      + fields.Contact.National_Id__c: ["read"]\n'
        "      approvals required: security-officer (requested by: maria.garcia@northwind.example)\n"
        "        [ ] security-officer: missing\n" in planned.out
    )
    refused = apply(crmctl)
    assert refused.exit_code == 1
    assert refusal("PermissionSet/Sales_Rep: security-officer: missing") in refused.err
    assert (
        "Contact.National_Id__c"
        not in _live(widening_governed, "PermissionSet", "Sales_Rep")["fields"]
    )

    approve(crmctl, TOMAS, "security-officer")
    done = apply(crmctl)
    assert done.exit_code == 0, done.output
    assert "Recorded as v2 of gov." in done.out
    assert _live(widening_governed, "PermissionSet", "Sales_Rep")["fields"][
        "Contact.National_Id__c"
    ] == ["read"]


def test_a_user_given_a_permission_set_is_the_widening_change(
    widening_governed: Path, crmctl
) -> None:
    edit(
        widening_governed / USERS,
        "  permissionSets: [Marketing]",
        "  permissionSets: [Marketing, Data_Steward]",
    )
    commit(widening_governed, AUTHOR, "Chloé helps the data stewards", USERS)
    refused = apply(crmctl)
    assert refused.exit_code == 1
    assert refusal("User/chloe.martin@northwind.example: security-officer: missing") in refused.err
    approve(crmctl, TOMAS, "security-officer")
    assert apply(crmctl).exit_code == 0


def test_other_permission_set_edits_need_nobody(widening_governed: Path, crmctl) -> None:
    # Sales reps may now edit an Internal field: access widens, but not to personal data.
    edit(
        widening_governed / PERMS,
        "    Account.Customer_Tier__c: [read]\n",
        "    Account.Customer_Tier__c: [read, edit]\n",
    )
    # Edit on a Sensitive field, where the set grants no edit on the object: nobody gains it.
    edit(
        widening_governed / PERMS,
        "    Contact.National_Id__c: [read]\n  system: [ApiEnabled, ViewAllData]",
        "    Contact.National_Id__c: [read, edit]\n  system: [ApiEnabled, ViewAllData]",
    )
    commit(widening_governed, AUTHOR, "Tier edits; officers' field permission", PERMS)
    planned = crmctl("plan", "-e", "gov")
    assert "approvals required" not in planned.out, planned.out
    done = apply(crmctl)
    assert done.exit_code == 0, done.output
    assert _live(widening_governed, "PermissionSet", "Sales_Rep")["fields"][
        "Account.Customer_Tier__c"
    ] == ["read", "edit"]
