from crmctl.governance.lint import pii_description
from tests.governance.lint.helpers import findings


def test_pass():
    assert findings(pii_description, "pii_description/pass.yaml") == []


def test_fail():
    assert findings(pii_description, "pii_description/fail.yaml") == [
        "pii_description/fail.yaml:7: CustomField/Contact.Passport__c: is classified Sensitive "
        "but has no description (pii-description)",
        "pii_description/fail.yaml:16: CustomField/Contact.Nickname__c: is classified PII "
        "but has no description (pii-description)",
    ]
