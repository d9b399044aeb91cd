"""The generated CI works as generated: its steps run, in order, in a fresh venv, against the
sandbox CRM over HTTP; the files pass the code hosts' published schemas."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from crmctl.ci import PLAN_MARKER
from tests.ci.runner import (
    REPO,
    GitLabNotes,
    base_env,
    build_wheel,
    fresh_venv,
    run_github_job,
    run_gitlab_job,
)
from tests.conftest import built_once
from tests.e2e.helpers import desired_specs, live_specs, replace_in

SECRETS_NEEDED = "CRMCTL_TEST_TOKEN"


@pytest.fixture(scope="session")
def crmctl_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel of this checkout, built once per test run (shared by the xdist workers)."""
    (wheel,) = built_once(tmp_path_factory, "crmctl-wheel", build_wheel).glob("crmctl-*.whl")
    return wheel


@pytest.fixture
def venv(tmp_path: Path, crmctl_wheel: Path) -> tuple[Path, str]:
    """A fresh venv without crmctl for this test, and the requirement that installs the wheel:
    each test's first "Install crmctl" step really installs it."""
    return fresh_venv(tmp_path, crmctl_wheel)


@pytest.fixture
def ci_project(http_project: Path, crmctl, tmp_path: Path, venv: tuple[Path, str]):
    """The example project with crm-tests/, its CI generated to install crmctl into a fresh venv."""
    shutil.copytree(REPO / "crm-tests", http_project / "crm-tests")
    bin_dir, requirement = venv
    result = crmctl("ci", "init", "--github", "--gitlab", "-e", "e2e", "--install", requirement)
    assert result.exit_code == 0, result.output
    assert "warning" not in result.err  # an explicit --install is not second-guessed
    return http_project, base_env(bin_dir, tmp_path / "home")


def github_job(project: Path, name: str) -> dict:
    workflow = yaml.safe_load((project / ".github/workflows/crmctl.yml").read_text())
    return workflow["jobs"][name]


def test_the_github_workflow_validates_plans_comments_and_applies(ci_project, sandbox_server):
    project, env = ci_project
    secrets = {SECRETS_NEEDED: sandbox_server.token}
    temp = project.parent / "runner-temp"

    validate = run_github_job(github_job(project, "validate"), project, env, secrets, temp)
    assert validate.failed is None, validate.failed
    assert [s.name for s in validate.steps] == [
        "actions/checkout@v4",
        "actions/setup-python@v5",
        "Install crmctl",
        "crmctl validate",
        "crmctl lint",
        "crmctl test (the configuration tests in crm-tests/)",
    ]
    assert validate.steps[-1].stdout.splitlines()[-1].endswith("0 failed, 0 errors")

    plan = run_github_job(github_job(project, "plan"), project, env, secrets, temp)
    assert plan.failed is None, plan.failed
    expected = len(desired_specs(project))
    assert plan.comment is not None and plan.comment.startswith(PLAN_MARKER + "\n")
    assert f"**Plan: {expected} to add, 0 to change, 0 to destroy.**" in plan.comment
    assert "cannot be applied" not in plan.comment
    assert (
        "Also as a file: [the full plan](https://ci.example/artifacts/full-plan)." in plan.comment
    )
    artifact = plan.artifacts["crmctl-plan-e2e"]
    assert [p.name for p in artifact] == ["plan.md", "plan.json"]
    assert artifact[0].read_text().startswith("### crmctl plan for `e2e`")
    assert live_specs(sandbox_server.store) == {}  # planning changed nothing

    apply = run_github_job(github_job(project, "apply"), project, env, secrets, temp)
    assert apply.failed is None, apply.failed
    assert live_specs(sandbox_server.store) == desired_specs(project)

    again = run_github_job(github_job(project, "plan"), project, env, secrets, temp)
    assert again.failed is None, again.failed
    assert "**No changes. The CRM matches the manifests.**" in (again.comment or "")


def test_a_failing_plan_is_still_posted_with_the_reasons_and_fails_the_job(
    ci_project, sandbox_server
):
    project, env = ci_project
    replace_in(project / "manifests/objects/invoice.yaml", "type: Currency", "type: Money")
    secrets = {SECRETS_NEEDED: sandbox_server.token}
    temp = project.parent / "runner-temp"

    validate = run_github_job(github_job(project, "validate"), project, env, secrets, temp)
    assert validate.failed is not None and validate.failed.name == "crmctl validate"

    plan = run_github_job(github_job(project, "plan"), project, env, secrets, temp)
    assert plan.failed is not None
    assert plan.failed.name == "Fail when the plan cannot be applied"
    assert plan.failed.stderr == ("crmctl plan failed (exit status 1); the plan comment says why\n")
    comment = plan.comment or ""
    assert comment.startswith(
        PLAN_MARKER + "\n### crmctl plan for `e2e`\n\n"
        "> ❌ **This plan cannot be applied.** Fix the problems below and push again.\n"
    )
    assert "manifests/objects/invoice.yaml:" in comment
    assert "Money" in comment
    assert "crmctl-plan-e2e" in plan.artifacts
    assert live_specs(sandbox_server.store) == {}


def test_the_gitlab_jobs_run_and_post_the_merge_request_note(ci_project, sandbox_server):
    project, env = ci_project
    pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    assert pipeline["default"]["image"] == "python:3.11"  # has git; -slim does not
    notes = GitLabNotes()
    try:
        env = {
            **env,
            SECRETS_NEEDED: sandbox_server.token,
            "GITLAB_USER_EMAIL": "admin@northwind.example",
            "CI_API_V4_URL": notes.url,
            "CI_PROJECT_ID": "42",
            "CI_MERGE_REQUEST_IID": "7",
            "CI_JOB_URL": "https://gitlab.example/crm/-/jobs/99",
            "CRMCTL_GITLAB_TOKEN": "glpat-test",
        }
        validate = run_gitlab_job(pipeline, "validate", project, env)
        assert validate.returncode == 0, validate.stderr
        assert validate.stdout.splitlines()[-1].endswith("0 failed, 0 errors")

        for _ in range(2):  # the second run updates the note instead of adding one
            plan = run_gitlab_job(pipeline, "plan", project, env)
            assert plan.returncode == 0, plan.stderr
    finally:
        notes.stop()
    assert [(r.method, r.path, r.token) for r in notes.requests] == [
        ("GET", "/api/v4/projects/42/merge_requests/7/notes?per_page=100", "glpat-test"),
        ("POST", "/api/v4/projects/42/merge_requests/7/notes", "glpat-test"),
        ("GET", "/api/v4/projects/42/merge_requests/7/notes?per_page=100", "glpat-test"),
        ("PUT", "/api/v4/projects/42/merge_requests/7/notes/1", "glpat-test"),
    ]
    (note,) = notes.notes
    assert note["body"] == (project / "comment.md").read_text()
    assert note["body"].startswith(PLAN_MARKER + "\n### crmctl plan for `e2e`\n")
    expected = len(desired_specs(project))
    assert f"**Plan: {expected} to add, 0 to change, 0 to destroy.**" in note["body"]
    assert (
        "[the full plan](https://gitlab.example/crm/-/jobs/99/artifacts/file/plan.md)"
        in (note["body"])
    )
    assert (project / "plan.md").read_text().startswith("### crmctl plan for `e2e`")


@pytest.mark.parametrize(
    ("flag", "files", "schema"),
    [
        (
            "--github",
            [".github/workflows/crmctl.yml", ".github/workflows/crmctl-drift.yml"],
            "vendor.github-workflows",
        ),
        ("--gitlab", [".gitlab-ci.yml"], "vendor.gitlab-ci"),
    ],
)
def test_generated_files_pass_the_published_schema(project, crmctl, flag, files, schema):
    result = crmctl("ci", "init", flag, "-e", "prod", "--install", "crmctl==0.1.0")
    assert result.exit_code == 0, result.output
    check = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *files],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "ok -- validation done" in check.stdout
