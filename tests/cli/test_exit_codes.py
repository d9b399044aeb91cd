"""Exit codes: 0 success, 1 any error (usage errors included), 2 only changes present / drift."""

from __future__ import annotations

import pytest

from tests.conftest import EXAMPLE


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--bogus",), "Error: No such option '--bogus'."),
        (("plan", "--bogus"), "Error: No such option '--bogus'. Did you mean '--out'?"),
        (("plan", "--target", "Sales_Rep"), "is not KIND/NAME"),
        (("plan", "--format", "yaml"), "Error: Invalid value for '--format'"),
        (("validate", "--format", "sarif"), "Error: Invalid value for '--format'"),
        (("nonsense",), "Error: No such command 'nonsense'."),
        (("apply", "--auto-approve", "a.json", "b.json"), "Error: Got unexpected extra argument"),
        (("history", "extra", "args"), "Error: Got unexpected extra arguments"),
    ],
)
def test_usage_errors_exit_1_not_2(project, crmctl, args, message) -> None:
    result = crmctl(*args)
    assert result.exit_code == 1, result.output
    assert message in result.err


def test_2_still_means_changes_present(project, crmctl) -> None:
    result = crmctl("plan", "--detailed-exitcode")
    assert result.exit_code == 2, result.output
    assert result.out.splitlines()[-1].startswith(f"Plan: {EXAMPLE.resources} to add")


def test_help_and_version_exit_0(crmctl) -> None:
    assert crmctl("--help").exit_code == 0
    assert crmctl("--version").exit_code == 0
