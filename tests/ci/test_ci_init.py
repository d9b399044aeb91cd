"""crmctl ci init: the generated files are valid YAML and call real crmctl commands."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest
import yaml

from crmctl.cli import cli

REPO = Path(__file__).resolve().parents[2]


def shell_commands(path: Path) -> list[str]:
    """Every shell command the file runs: GitHub `run:`, GitLab `script:`, pre-commit `entry:`."""
    data = yaml.safe_load(path.read_text())
    found: list[str] = []

    def walk(node, key=None):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for item in node:
                walk(item, key)
        elif isinstance(node, str) and key in ("run", "script", "before_script", "entry"):
            found.append(node)

    walk(data)
    return found


def crmctl_invocations(commands: list[str]) -> list[list[str]]:
    """The arguments of every `crmctl ...` invocation, up to a pipe, redirect or `;`."""
    calls = []
    for command in commands:
        for line in command.splitlines():
            for match in re.finditer(r"(?:^|[\s;&|(])crmctl\s+([^|;&>\n]*)", line):
                calls.append(shlex.split(match.group(1)))
    return calls


def resolve(args: list[str]) -> tuple[list[str], click.Command, list[str]]:
    """(command path, click command, its arguments) for `crmctl ARGS`."""
    command: click.Command = cli
    path: list[str] = []
    while isinstance(command, click.Group) and args and args[0] in command.commands:
        path.append(args[0])
        command, args = command.commands[args[0]], args[1:]
    return path, command, args


def check_invocation(crmctl, args: list[str]) -> None:
    path, command, rest = resolve(args)
    assert path, f"crmctl {' '.join(args)}: no such subcommand"
    assert not isinstance(command, click.Group), f"crmctl {' '.join(args)}: a group, not a command"
    help_text = crmctl(*path, "--help").out
    for option in (a.split("=")[0] for a in rest if a.startswith("-")):
        assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", help_text), (
            f"crmctl {' '.join(path)} has no option {option}"
        )
    # A shell variable stands for a value CI fills in ($PLAN_EXIT_CODE: a number).
    values = ["0" if a.startswith("$") else a for a in rest]
    command.make_context(" ".join(path), values)  # raises on anything click would refuse


def test_github_workflows(project, crmctl):
    result = crmctl("ci", "init", "--github", "-e", "prod")
    assert result.exit_code == 0, result.output
    assert result.out.splitlines() == [
        "  wrote .github/workflows/crmctl.yml",
        "  wrote .github/workflows/crmctl-drift.yml",
        "CI set up for environment prod. Secrets the CI must provide: CRMCTL_SF_CLIENT_ID, CRMCTL_SF_JWT_KEY. "
        "Commit the files to turn it on.",
    ]
    main = project / ".github" / "workflows" / "crmctl.yml"
    drift = project / ".github" / "workflows" / "crmctl-drift.yml"
    workflow = yaml.safe_load(main.read_text())
    assert set(workflow) == {"name", "on", "permissions", "jobs"}
    assert workflow["on"] == {"push": {"branches": ["**"]}, "pull_request": {"branches": ["main"]}}
    jobs = workflow["jobs"]
    assert list(jobs) == ["validate", "plan", "apply"]
    assert jobs["apply"]["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert jobs["plan"]["permissions"]["pull-requests"] == "write"
    assert jobs["plan"]["env"]["CRMCTL_SF_CLIENT_ID"] == "${{ secrets.CRMCTL_SF_CLIENT_ID }}"
    (comment,) = [s for s in jobs["plan"]["steps"] if s.get("uses", "").startswith("actions/gi")]
    assert comment["uses"] == "actions/github-script@v7"
    assert "const marker = '<!-- crmctl-plan -->';" in comment["with"]["script"]
    assert "updateComment" in comment["with"]["script"]
    # Whatever the plan's outcome, the comment is posted; the job fails after it.
    assert jobs["plan"]["steps"][-1]["name"] == "Fail when the plan cannot be applied"
    assert jobs["plan"]["if"].startswith("${{ !cancelled() && ")

    nightly = yaml.safe_load(drift.read_text())
    assert nightly["on"]["schedule"] == [{"cron": "17 3 * * *"}]
    steps = nightly["jobs"]["drift"]["steps"]
    upload = steps[-1]
    assert upload["uses"] == "actions/upload-artifact@v4" and upload["if"] == "always()"
    assert upload["with"]["path"] == "drift.xml"

    calls = crmctl_invocations(shell_commands(main) + shell_commands(drift))
    comment_args = ["plan.json", "--exit-code", "$PLAN_EXIT_CODE", "--errors", "plan-errors.txt"]
    assert calls == [
        ["validate", "-e", "prod"],
        ["lint", "-e", "prod"],
        ["plan", "-e", "prod", "--format", "json"],
        ["ci", "comment", *comment_args, "-e", "prod", "--full", "plan.md"],
        [
            "ci",
            "comment",
            *comment_args,
            "-e",
            "prod",
            "--link",
            "$FULL_PLAN_URL",
            "--out",
            "comment.md",
        ],
        ["apply", "--auto-approve", "-e", "prod"],
        ["drift", "-e", "prod", "--format", "junit", "--out", "drift.xml"],
        ["drift", "-e", "prod", "--format", "markdown"],
    ]
    for call in calls:
        check_invocation(crmctl, call)


def test_gitlab_pipeline(project, crmctl):
    result = crmctl("ci", "init", "--gitlab", "-e", "staging", "--branch", "trunk")
    assert result.exit_code == 0, result.output
    path = project / ".gitlab-ci.yml"
    pipeline = yaml.safe_load(path.read_text())
    assert pipeline["stages"] == ["validate", "plan", "apply", "drift"]
    assert pipeline["apply"]["rules"][-1] == {
        "if": '$CI_COMMIT_BRANCH == "trunk" && $CI_PIPELINE_SOURCE == "push"'
    }
    assert pipeline["drift"]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}]
    assert pipeline["drift"]["artifacts"]["reports"] == {"junit": "drift.xml"}
    assert "#   CRMCTL_STAGING_TOKEN (type Variable)\n" in path.read_text()
    calls = crmctl_invocations(shell_commands(path))
    assert calls == [
        ["validate", "-e", "staging"],
        ["lint", "-e", "staging"],
        ["plan", "-e", "staging", "--format", "json"],
        [
            "ci",
            "comment",
            "plan.json",
            "--exit-code",
            "$PLAN_EXIT_CODE",
            "--errors",
            "plan-errors.txt",
            "-e",
            "staging",
            "--full",
            "plan.md",
            "--link",
            "$CI_JOB_URL/artifacts/file/plan.md",
            "--out",
            "comment.md",
        ],
        ["apply", "--auto-approve", "-e", "staging"],
        ["drift", "-e", "staging", "--format", "junit", "--out", "drift.xml"],
    ]
    for call in calls:
        check_invocation(crmctl, call)


def test_pre_commit_config(project, crmctl):
    assert crmctl("ci", "init", "--pre-commit", "-e", "prod").exit_code == 0
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
    (hook,) = config["repos"][0]["hooks"]
    assert hook["files"] == r"^manifests/.*\.ya?ml$" and hook["pass_filenames"] is True
    assert re.match(hook["files"], "manifests/access/roles.yaml")
    for call in crmctl_invocations([hook["entry"]]):
        check_invocation(crmctl, call)


def test_the_repository_pre_commit_hook(crmctl):
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    (hook,) = hooks
    assert hook["id"] == "crmctl-validate"
    assert hook["files"] == r"^manifests/.*\.ya?ml$" and hook["pass_filenames"] is True
    assert hook["entry"] == "crmctl validate"
    check_invocation(crmctl, shlex.split(hook["entry"])[1:])


def test_existing_files_are_not_overwritten_without_force(project, crmctl):
    assert crmctl("ci", "init", "--github").exit_code == 0
    main = project / ".github" / "workflows" / "crmctl.yml"
    main.write_text("# mine\n")
    refused = crmctl("ci", "init", "--github")
    assert refused.exit_code == 1
    assert refused.err.splitlines()[0] == (
        "Error: refusing to overwrite .github/workflows/crmctl.yml, "
        ".github/workflows/crmctl-drift.yml; nothing was written"
    )
    assert main.read_text() == "# mine\n"
    assert crmctl("ci", "init", "--github", "--force").exit_code == 0
    assert main.read_text().startswith("# Generated by `crmctl ci init --github`")


def test_a_platform_is_required(project, crmctl):
    result = crmctl("ci", "init")
    assert result.exit_code == 1
    assert "choose at least one of --github, --gitlab and --pre-commit" in result.err


@pytest.mark.parametrize("command", [["drift"], ["import"], ["ci"], ["ci", "init"]], ids=" ".join)
def test_new_commands_have_help_with_an_example(crmctl, command):
    result = crmctl(*command, "--help")
    assert result.exit_code == 0
    assert "Examples:\n" in result.out
    assert f"crmctl {' '.join(command[:1])} " in result.out.split("Examples:\n", 1)[1]
