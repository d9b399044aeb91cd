"""`crmctl lint`, and lint inside `plan`: severities per environment."""

from __future__ import annotations

import json

from tests.conftest import EXAMPLE
from tests.e2e.helpers import manifest, write_manifest

OPS = manifest(
    "PermissionSet", "Ops", label="Ops", description="Ops team.", system=["ModifyAllData"]
)
UNOWNED = {
    "apiVersion": "crmctl/v1",
    "kind": "Role",
    "metadata": {"name": "Auditor"},
    "spec": {"label": "Auditor", "parent": "CEO"},
}
FINDINGS = (
    "manifests/extra.yaml:3: Role/Auditor: has no owner (owner-required)\n"
    "  hint: set metadata.owner to the team accountable for it, e.g. owner: sales-ops\n"
    "manifests/extra.yaml:16: PermissionSet/Ops: grants ModifyAllData but its description does "
    "not say why (at least 20 characters) (powerful-access-justified)\n"
    "  hint: write in spec.description why this access is needed and who gets it\n"
)


def lint_env(project, rules: str) -> None:
    text = (project / "environments" / "local.yaml").read_text()
    (project / "environments" / "local.yaml").write_text(text + f"lint:\n{rules}")


def test_the_example_manifests_lint_cleanly(project, crmctl):
    for env in ("prod", "staging", "local"):
        result = crmctl("lint", "-e", env)
        assert (result.exit_code, result.out) == (
            0,
            f"lint: no findings in {EXAMPLE.resources} resources\n",
        )


def test_error_findings_fail_lint_with_file_and_line(project, crmctl):
    write_manifest(project, "extra.yaml", UNOWNED, OPS)
    result = crmctl("lint")
    assert result.exit_code == 1
    assert result.out == FINDINGS + "lint: 2 errors, 0 warnings in 81 resources\n"
    data = json.loads(crmctl("lint", "--format", "json").out)
    assert (data["errors"], data["warnings"], data["resources"]) == (2, 0, 81)
    assert [(f["code"], f["file"], f["line"], f["address"]) for f in data["findings"]] == [
        ("lint/owner-required", "manifests/extra.yaml", 3, "Role/Auditor"),
        ("lint/powerful-access-justified", "manifests/extra.yaml", 16, "PermissionSet/Ops"),
    ]


def test_lint_errors_make_the_plan_not_applicable(project, crmctl):
    write_manifest(project, "extra.yaml", UNOWNED, OPS)
    planned = crmctl("plan")
    assert planned.exit_code == 1
    assert planned.out.startswith(FINDINGS + "\n")
    assert planned.out.endswith(
        "The plan has errors and cannot be applied.\nPlan: 81 to add, 0 to change, 0 to destroy.\n"
    )
    assert crmctl("apply", "--auto-approve").exit_code == 1


def test_severities_are_set_per_environment(project, crmctl):
    write_manifest(project, "extra.yaml", UNOWNED, OPS)
    lint_env(
        project, "  rules:\n    owner-required: warning\n    powerful-access-justified: 'off'\n"
    )
    result = crmctl("lint")
    assert result.exit_code == 0
    assert result.out == (
        "manifests/extra.yaml:3: Role/Auditor: has no owner (owner-required) [warning]\n"
        "  hint: set metadata.owner to the team accountable for it, e.g. owner: sales-ops\n"
        "lint: 0 errors, 1 warning in 81 resources\n"
    )
    planned = crmctl("plan")
    assert planned.exit_code == 0
    assert planned.out.startswith(
        "manifests/extra.yaml:3: Role/Auditor: has no owner (owner-required) [warning]\n"
    )


def test_an_unknown_rule_is_an_invalid_environment_file(project, crmctl):
    lint_env(project, "  rules:\n    owner: warning\n")
    result = crmctl("lint")
    assert result.exit_code == 1
    assert "unknown lint rule; the rules are owner-required, pii-description" in result.err


def test_lint_refuses_invalid_manifests(project, crmctl):
    write_manifest(project, "extra.yaml", manifest("Role", "Auditor", label="A", parent="Nobody"))
    result = crmctl("lint")
    assert result.exit_code == 1
    assert result.err.startswith("Error: the manifests have 1 problem; nothing was linted\n")
