from crmctl.governance.lint import external_pii_access
from tests.governance.lint.helpers import findings


def test_pass():
    assert findings(external_pii_access, "external_pii_access/pass.yaml") == []


def test_fail():
    assert findings(external_pii_access, "external_pii_access/fail.yaml") == [
        "external_pii_access/fail.yaml:15: PermissionSet/Partner_Portal: is for external users "
        "but can read contact.personal_mobile__c, classified PII (external-pii-access)",
    ]
