"""Environment files: choosing one, what they may hold, overrides and protect selectors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from crmctl.config.environment import load_environment
from crmctl.config.loader import load_desired_state, merge_patch
from tests.conftest import EXAMPLE

SANDBOX = "provider:\n  type: sandbox\n  path: .crmctl/test.db\n"


def add_environment(project: Path, text: str) -> None:
    """Write `environments/test.yaml`."""
    (project / "environments" / "test.yaml").write_text(textwrap.dedent(text))


def add_sandbox_environment(project: Path, rest: str) -> None:
    """Write `environments/test.yaml`: an in-process sandbox (lines 1-3), then `rest`."""
    add_environment(project, SANDBOX + textwrap.dedent(rest))


@pytest.mark.parametrize("name", ["local", "staging", "prod"])
def test_every_shipped_environment_validates(project: Path, crmctl, name: str) -> None:
    r = crmctl("validate", "-e", name)
    assert (r.exit_code, r.out, r.err) == (
        0,
        f"valid: {EXAMPLE.resources} resources in {EXAMPLE.files} files\n",
        "",
    )


def test_environment_from_crmctl_env_and_by_path(project: Path, crmctl) -> None:
    add_sandbox_environment(project, "manifests: [manifests/objects, manifests/standard]\n")
    r = crmctl("validate", env={"CRMCTL_ENV": "test"})
    assert (r.exit_code, r.out) == (0, "valid: 50 resources in 6 files\n")
    r = crmctl("validate", "-e", "environments/test.yaml")
    assert (r.exit_code, r.out) == (0, "valid: 50 resources in 6 files\n")


def test_unknown_environment_lists_the_available_ones(project: Path, crmctl) -> None:
    r = crmctl("validate", "-e", "qa")
    assert (r.exit_code, r.out) == (1, "")
    assert r.err == (
        "Error: no environment 'qa': environments/qa.yaml does not exist\n"
        "hint: available: dynamics, dynamics-local, local, prod, staging\n"
    )


def test_misspelt_environment_suggests_the_closest(project: Path, crmctl) -> None:
    r = crmctl("validate", "-e", "prd")
    assert (r.exit_code, r.out) == (1, "")
    assert r.err == (
        "Error: no environment 'prd': environments/prd.yaml does not exist\n"
        "hint: did you mean 'prod'? available: dynamics, dynamics-local, local, prod, staging\n"
    )


def test_environment_file_path_that_does_not_exist(project: Path, crmctl) -> None:
    r = crmctl("validate", "-e", "envs/qa.yaml")
    assert (r.exit_code, r.out) == (1, "")
    assert r.err == "Error: environment file envs/qa.yaml does not exist\n"


def test_secret_literal_in_the_provider_is_an_unknown_key(project: Path, crmctl) -> None:
    add_environment(
        project,
        """\
        provider:
          type: sandbox
          url: https://crm.example
          token: abc123
        """,
    )
    r = crmctl("validate", "-e", "test")
    assert (r.exit_code, r.out) == (1, "")
    assert r.err == (
        "Error: environment file environments/test.yaml has 2 problems\n"
        "environments/test.yaml:1: provider: a sandbox provider has either `path` (in-process) "
        "or `url` and `tokenEnv` (over HTTP)\n"
        "environments/test.yaml:4: provider: unknown key 'token'\n"
        "  hint: did you mean 'tokenEnv'?\n"
    )


def test_salesforce_secret_given_by_value(project: Path, crmctl) -> None:
    add_environment(
        project,
        """\
        provider:
          type: salesforce
          instanceUrl: https://northwind.my.salesforce.com
          auth:
            method: client_credentials
            clientIdEnv: 3MVG9-consumer-key
            clientSecret: s3cr3t
        """,
    )
    r = crmctl("validate", "-e", "test")
    assert (r.exit_code, r.out) == (1, "")
    assert r.err == (
        "Error: environment file environments/test.yaml has 3 problems\n"
        "environments/test.yaml:4: provider.auth: missing required key 'clientSecretEnv'\n"
        "environments/test.yaml:6: provider.auth.clientIdEnv: must be the NAME of an environment "
        "variable (secrets never go in this file) (got '3MVG9-consumer-key')\n"
        "environments/test.yaml:7: provider.auth: unknown key 'clientSecret'\n"
        "  hint: did you mean 'clientSecretEnv'?\n"
    )


def test_sandbox_with_both_path_and_url(project: Path, crmctl) -> None:
    add_environment(
        project,
        """\
        description: Confused
        provider:
          type: sandbox
          path: .crmctl/sandbox.db
          url: http://127.0.0.1:8765
          tokenEnv: CRMCTL_TOKEN
        """,
    )
    r = crmctl("validate", "-e", "test")
    assert (r.exit_code, r.out) == (1, "")
    assert r.err == (
        "Error: environment file environments/test.yaml has 1 problem\n"
        "environments/test.yaml:2: provider: a sandbox provider has either `path` (in-process) "
        "or `url` and `tokenEnv` (over HTTP)\n"
    )


@pytest.mark.parametrize("text", ["", "# only a comment\n", "- provider\n", "a: 1\n---\nb: 2\n"])
def test_environment_file_that_is_not_one_mapping(project: Path, crmctl, text: str) -> None:
    add_environment(project, text)
    r = crmctl("validate", "-e", "test")
    assert (r.exit_code, r.out) == (1, "")
    line = 3 if "---" in text else 1
    assert r.err == (
        "Error: environment file environments/test.yaml has 1 problem\n"
        f"environments/test.yaml:{line}: an environment file holds exactly one YAML mapping\n"
    )


def test_environment_file_with_a_yaml_error(project: Path, crmctl) -> None:
    add_environment(project, "provider: {type: sandbox, path: x.db\n")
    r = crmctl("validate", "-e", "test")
    assert (r.exit_code, r.out) == (1, "")
    assert r.err == (
        "Error: environment file environments/test.yaml has 1 problem\n"
        "environments/test.yaml:2: invalid YAML: did not find expected ',' or '}' "
        "(while parsing a flow mapping on line 1)\n"
    )


def test_manifest_folder_that_does_not_exist(project: Path, crmctl) -> None:
    add_sandbox_environment(project, "manifests: [manifests/objects, manifests/sales]\n")
    r = crmctl("validate", "-e", "test")
    assert (r.exit_code, r.err) == (1, "")
    assert r.out == "manifests/sales: no such file or folder\n1 error in 1 file\n"


def test_override_target_that_is_not_declared(project: Path, crmctl) -> None:
    add_sandbox_environment(
        project,
        """\
        overrides:
          - target: Role/Board_Member
            spec: {label: APAC}
          - target: Role/VP_Sale
            spec: {label: VP}
        """,
    )
    r = crmctl("validate", "-e", "test")
    assert (r.exit_code, r.err) == (1, "")
    assert r.out == (
        "environments/test.yaml:5: override target Role/Board_Member is not declared "
        "in the manifests\n"
        "environments/test.yaml:7: override target Role/VP_Sale is not declared in the manifests\n"
        "  hint: did you mean Role/VP_Sales?\n"
        "2 errors in 1 file\n"
    )


def test_override_that_makes_a_resource_invalid(project: Path, crmctl) -> None:
    add_sandbox_environment(
        project,
        """\
        overrides:
          - target: CustomField/Invoice__c.Amount__c
            reason: Finance wants more digits in staging
            spec:
              precision: 20
              length: 10
        """,
    )
    r = crmctl("validate", "-e", "test")
    assert (r.exit_code, r.err) == (1, "")
    assert r.out == (
        "environments/test.yaml:7: CustomField/Invoice__c.Amount__c: after override: "
        "spec.length: length applies only to Text, LongTextArea and Html fields\n"
        "environments/test.yaml:7: CustomField/Invoice__c.Amount__c: after override: "
        "spec.precision must be at most 18 (got 20)\n"
        "2 errors in 1 file\n"
    )


def test_override_patches_the_desired_state(project: Path) -> None:
    add_sandbox_environment(
        project,
        """\
        overrides:
          - target: User/maria.garcia@northwind.example
            spec:
              active: false
              role: null
              permissionSets: [Service_Agent]
          - target: CustomField/Account.Region__c
            spec: {values: [EMEA, AMER]}
        """,
    )
    state = load_desired_state(load_environment("test", project))
    assert state.diagnostics == []
    assert state.resources["User/maria.garcia@northwind.example"].spec == {
        "email": "maria.garcia@northwind.example",
        "firstName": "María",
        "lastName": "García",
        "active": False,
        "permissionSets": ["Service_Agent"],
    }
    assert state.resources["CustomField/Account.Region__c"].spec["values"] == ["EMEA", "AMER"]


def test_staging_deactivates_the_contractor(project: Path) -> None:
    local = load_desired_state(load_environment("local", project))
    staging = load_desired_state(load_environment("staging", project))
    address = "User/ines.moreau@northwind.example"
    assert (local.resources[address].spec["active"], staging.resources[address].spec["active"]) == (
        True,
        False,
    )


def test_reference_problem_introduced_by_an_override_points_at_the_override(
    project: Path, crmctl
) -> None:
    add_sandbox_environment(
        project,
        """\
        overrides:
          - target: Role/Operations
            spec: {parent: Board}
        """,
    )
    r = crmctl("validate", "-e", "test")
    assert r.exit_code == 1
    assert r.out.splitlines()[0] == (
        "environments/test.yaml:LINE: Role/Operations: parent role 'Board' is not declared"
    ).replace(
        "LINE", str(_line_of(project / "environments" / "test.yaml", "spec: {parent: Board}"))
    )


def test_merge_patch_merges_mappings_replaces_lists_and_removes_nulls() -> None:
    target = {"a": 1, "b": {"c": 2, "d": 3}, "e": [1, 2], "f": "x"}
    patch = {"b": {"c": None, "g": 4}, "e": [3], "f": None, "h": {"i": None, "j": 5}}
    assert merge_patch(target, patch) == {"a": 1, "b": {"d": 3, "g": 4}, "e": [3], "h": {"j": 5}}
    assert target == {"a": 1, "b": {"c": 2, "d": 3}, "e": [1, 2], "f": "x"}


def test_merge_patch_with_a_non_mapping_replaces_the_whole_value() -> None:
    assert merge_patch({"a": 1}, ["x"]) == ["x"]
    assert merge_patch("text", {"a": None, "b": 1}) == {"b": 1}


def test_protect_selectors(project: Path, crmctl) -> None:
    add_sandbox_environment(
        project,
        """\
        protect:
          - CustomObject/*
          - "*/Account.*"
          - User/*@northwind.example
          - Profile/Admin
          - CustomField
          - "*"
        """,
    )
    r = crmctl("validate", "-e", "test")
    hint = "must be Kind/name (glob patterns allowed), e.g. CustomObject/* or User/*@example.com"
    assert (r.exit_code, r.out) == (1, "")
    assert r.err == (
        "Error: environment file environments/test.yaml has 3 problems\n"
        f"environments/test.yaml:8: protect[3]: {hint} (got 'Profile/Admin')\n"
        f"environments/test.yaml:9: protect[4]: {hint} (got 'CustomField')\n"
        f"environments/test.yaml:10: protect[5]: {hint} (got '*')\n"
    )


def test_valid_protect_selectors(project: Path) -> None:
    add_sandbox_environment(project, "protect: [CustomObject/*, '*/Account.*', User/*@x.org]\n")
    assert load_environment("test", project).protect == [
        "CustomObject/*",
        "*/Account.*",
        "User/*@x.org",
    ]


def test_override_target_cannot_be_a_pattern(project: Path, crmctl) -> None:
    add_sandbox_environment(project, "overrides:\n  - target: User/*\n    spec: {active: false}\n")
    r = crmctl("validate", "-e", "test")
    assert (r.exit_code, r.out) == (1, "")
    assert r.err == (
        "Error: environment file environments/test.yaml has 1 problem\n"
        "environments/test.yaml:5: overrides[0].target: target must be one resource's address, "
        "Kind/name (got 'User/*')\n"
    )


def _line_of(path: Path, text: str) -> int:
    """The 1-based line of `path` holding `text`."""
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)
