"""Mistyped roles, kinds, targets and options get an error naming what was probably meant."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.helpers import desired_specs


def test_single_dash_long_option_suggests_the_double_dash_spelling(project: Path, crmctl):
    result = crmctl("apply", "-auto-approve")
    assert result.exit_code == 1
    assert result.out == ""
    assert result.err.endswith(
        "\nError: No such option '-auto-approve'. Did you mean '--auto-approve'?\n"
    )
    assert crmctl("plan").out.splitlines()[-1].startswith("Plan: ")  # nothing was applied


def test_a_short_option_that_does_not_exist_gets_no_suggestion(project: Path, crmctl):
    result = crmctl("plan", "-x")
    assert (result.exit_code, result.err.splitlines()[-1]) == (1, "Error: No such option '-x'.")


def test_a_target_that_matches_nothing_is_an_error_naming_the_closest_address(
    project: Path, crmctl
):
    result = crmctl("plan", "--target", "PermissionSet/Sales_Repp")
    assert (result.exit_code, result.err) == (1, "")
    assert result.out == (
        "--target PermissionSet/Sales_Repp matches no resource in the manifests or the CRM\n"
        "  hint: did you mean PermissionSet/Sales_Rep?\n"
        "\n"
        "The plan has errors and cannot be applied.\n"
        "No changes planned.\n"
    )


def test_a_target_matching_nothing_fails_even_when_another_target_has_changes(
    project: Path, crmctl
):
    result = crmctl("apply", "--auto-approve", "--target", "Role/CEO", "--target", "role/ceo")
    assert result.exit_code == 1
    lines = result.out.splitlines()
    assert lines[:3] == [
        "--target role/ceo matches no resource in the manifests or the CRM",
        "  hint: did you mean Role/CEO?",
        "",
    ]
    assert "  + Role/CEO" in lines
    assert lines[-2:] == [
        "The plan has errors and cannot be applied.",
        "Plan: 1 to add, 0 to change, 0 to destroy.",
    ]
    still = crmctl("plan", "--target", "Role/CEO")  # nothing was applied
    assert still.out.splitlines()[-1] == "Plan: 1 to add, 0 to change, 0 to destroy."


def test_a_mistyped_kind_in_a_target_names_the_kind(project: Path, crmctl):
    result = crmctl("plan", "--target", "PermissionSets/Sales_Rep")
    assert result.exit_code == 1
    assert result.out.splitlines()[:2] == [
        "--target PermissionSets/Sales_Rep matches no resource in the manifests or the CRM",
        "  hint: PermissionSets is not a kind; did you mean PermissionSet?",
    ]


def test_an_exclude_that_matches_nothing_is_a_warning(project: Path, crmctl):
    result = crmctl("plan", "--target", "Role/CEO", "--exclude", "Role/Nobody_Here")
    assert result.exit_code == 0, result.output
    roles = sorted(a for a in desired_specs(project) if a.startswith("Role/"))
    assert len(roles) > 5
    assert result.out.splitlines()[:2] == [
        "--exclude Role/Nobody_Here matches no resource in the manifests or the CRM [warning]",
        f"  hint: Role resources: {', '.join(roles[:5])} and {len(roles) - 5} more",
    ]


def test_an_unknown_role_is_named_with_the_closest_role(project: Path, crmctl):
    result = crmctl("approve", "-e", "prod", "--role", "security-oficer")
    assert (result.exit_code, result.out) == (1, "")
    assert result.err == (
        "Error: 'security-oficer' is not a role in prod's policy; nothing was recorded\n"
        "hint: did you mean 'security-officer'? (roles: crm-admin, data-steward, "
        "security-officer, legal-compliance, change-manager)\n"
    )
    assert not (project / "approvals").exists()


def test_a_mistyped_kind_or_format_value_suggests_the_closest_choice(project: Path, crmctl):
    schema = crmctl("schema", "CustomFeild")
    assert schema.exit_code == 1
    assert schema.err.endswith(
        "'CustomFeild' is not one of 'CustomObject', 'GlobalValueSet', 'CustomField', "
        "'StandardField', 'RecordType', 'ValidationRule', 'DuplicateRule', 'RetentionPolicy', "
        "'Role', 'PermissionSet', 'User', 'environment'. Did you mean 'CustomField'?\n"
    )
    fmt = crmctl("plan", "--format=jsn")
    assert fmt.exit_code == 1
    assert fmt.err.endswith(
        "Error: Invalid value for '--format': 'jsn' is not one of 'text', 'markdown', 'json', "
        "'html'. "
        "Did you mean 'json'?\n"
    )
    far = crmctl("plan", "--format", "xyz")
    assert far.err.endswith("'xyz' is not one of 'text', 'markdown', 'json', 'html'.\n")
