from crmctl.governance.lint import pii_retention
from tests.governance.lint.helpers import findings


def test_pass():
    assert findings(pii_retention, "pii_retention/pass.yaml") == []


def test_fail():
    assert findings(pii_retention, "pii_retention/fail.yaml") == [
        "pii_retention/fail.yaml:7: CustomField/Contact.Passport__c: is classified Sensitive but "
        "no RetentionPolicy covers Contact (pii-retention)",
    ]
