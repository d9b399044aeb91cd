from crmctl.governance.lint import LintSettings, user_permission_sets
from tests.governance.lint.helpers import findings


def test_pass():
    assert findings(user_permission_sets, "user_permission_sets/pass.yaml") == []


def test_fail():
    assert findings(user_permission_sets, "user_permission_sets/fail.yaml") == [
        "user_permission_sets/fail.yaml:8: User/ada@northwind.example: holds 6 permission sets; "
        "at most 5 are allowed (user-permission-sets)",
    ]


def test_the_limit_is_set_per_environment():
    settings = LintSettings.from_section({"maxPermissionSetsPerUser": 6})
    assert findings(user_permission_sets, "user_permission_sets/fail.yaml", settings) == []
    strict = LintSettings.from_section({"maxPermissionSetsPerUser": 4})
    assert findings(user_permission_sets, "user_permission_sets/pass.yaml", strict) == [
        "user_permission_sets/pass.yaml:8: User/ada@northwind.example: holds 5 permission sets; "
        "at most 4 are allowed (user-permission-sets)",
    ]
