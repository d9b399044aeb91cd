from crmctl.governance.lint import user_role
from tests.governance.lint.helpers import findings


def test_pass():
    assert findings(user_role, "user_role/pass.yaml") == []


def test_fail():
    assert findings(user_role, "user_role/fail.yaml") == [
        "user_role/fail.yaml:4: User/ada@northwind.example: is active but has no role (user-role)",
        "user_role/fail.yaml:13: User/bob@northwind.example: is active but has no role (user-role)",
    ]
