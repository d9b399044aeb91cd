from crmctl.governance.lint import validation_message
from tests.governance.lint.helpers import findings


def test_pass():
    assert findings(validation_message, "validation_message/pass.yaml") == []


def test_fail():
    assert findings(validation_message, "validation_message/fail.yaml") == [
        "validation_message/fail.yaml:6: ValidationRule/Account.Positive_Seats: its error message "
        "is just the formula (validation-message)",
        "validation_message/fail.yaml:15: ValidationRule/Account.Late: its error message is just "
        "the formula (validation-message)",
    ]
