from crmctl.governance.lint import owner_required
from tests.governance.lint.helpers import findings


def test_pass():
    assert findings(owner_required, "owner_required/pass.yaml") == []


def test_fail():
    assert findings(owner_required, "owner_required/fail.yaml") == [
        "owner_required/fail.yaml:3: Role/Auditor: has no owner (owner-required)",
        "owner_required/fail.yaml:8: Role/Clerk: has no owner (owner-required)",
    ]
