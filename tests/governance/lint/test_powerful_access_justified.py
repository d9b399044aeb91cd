from crmctl.governance.lint import powerful_access_justified
from tests.governance.lint.helpers import findings


def test_pass():
    assert findings(powerful_access_justified, "powerful_access_justified/pass.yaml") == []


def test_fail():
    assert findings(powerful_access_justified, "powerful_access_justified/fail.yaml") == [
        "powerful_access_justified/fail.yaml:6: PermissionSet/Admin: grants ViewAllData, "
        "ModifyAllData, modifyAll on Invoice__c but its description does not say why "
        "(at least 20 characters) (powerful-access-justified)",
        "powerful_access_justified/fail.yaml:14: PermissionSet/Fixer: grants modifyAll on Account "
        "but its description does not say why (at least 20 characters) (powerful-access-justified)",
    ]
