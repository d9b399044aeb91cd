"""`crmctl ci init`: write CI workflows (GitHub Actions, GitLab CI) and a pre-commit hook."""

from __future__ import annotations

from pathlib import Path

import click

from crmctl.ci import (
    PLAN_MARKER,
    ci_settings,
    github_files,
    gitlab_files,
    install_command,
    precommit_files,
    running_install_source,
    write_files,
)
from crmctl.cli.context import CliContext, env_option
from crmctl.config.environment import display_path
from crmctl.errors import CrmctlError, PlanError
from crmctl.plan.encode import read_plan
from crmctl.render.comment_view import COMMENT_LIMIT, full_plan_markdown, plan_comment


@click.group()
def ci() -> None:
    """Set up continuous integration for a crmctl project.

    \b
    Examples:
      crmctl ci init --github -e prod
      crmctl ci init --gitlab -e prod --pre-commit
      crmctl ci comment plan.json --exit-code 1 --out comment.md
    """


@ci.command()
@env_option
@click.option("--github", "github", is_flag=True, help="Write GitHub Actions workflows.")
@click.option("--gitlab", "gitlab", is_flag=True, help="Write .gitlab-ci.yml.")
@click.option("--pre-commit", "pre_commit", is_flag=True, help="Write .pre-commit-config.yaml too.")
@click.option(
    "--branch", default="main", show_default=True, help="The branch whose merges are applied."
)
@click.option(
    "--install",
    metavar="SPEC",
    help="The pip requirement CI installs crmctl from, pinned: a VCS URL at a commit "
    "('crmctl @ git+https://…@SHA'), a wheel URL, or crmctl==VERSION from an index that "
    "publishes it. Default: the source this crmctl was installed from.",
)
@click.option("--force", is_flag=True, help="Overwrite files that exist.")
@click.pass_obj
def init(
    obj: CliContext,
    env_name: str | None,
    github: bool,
    gitlab: bool,
    pre_commit: bool,
    branch: str,
    install: str | None,
    force: bool,
) -> int:
    """Write CI configuration that runs crmctl against an environment.

    The pipeline validates and lints the manifests and runs the configuration
    tests (crm-tests/) on every push, posts the plan as a pull-request comment
    (updated in place on each push, also when the plan fails), applies
    on merge to the main branch (crmctl apply refuses unless the approvals
    the environment's policy demands are on record) and runs drift detection
    every night, failing on drift and keeping the JUnit report.

    Credentials are read from the CI's secret store into the environment
    variables the environment file names (tokenEnv, clientIdEnv …); the
    generated files list them at the top. Existing files are never
    overwritten without --force.

    CI installs crmctl with `pip install SPEC`. Without --install, SPEC is the
    exact source this crmctl was installed from (its pip metadata tells: a VCS
    URL at its commit, a wheel or archive URL, or an index version); a local
    folder or editable checkout is written with a warning, since CI cannot
    reach it.

    \b
    Examples:
      crmctl ci init --github -e prod
      crmctl ci init --gitlab -e prod --branch trunk
      crmctl ci init --pre-commit
      crmctl ci init --github --install 'crmctl @ git+https://github.com/acme/crmctl@4f2a9c1'
    """
    if not (github or gitlab or pre_commit):
        raise click.UsageError("choose at least one of --github, --gitlab and --pre-commit")
    env = obj.environment(env_name)
    if install is not None and not install.strip():
        raise click.UsageError("--install needs a pip requirement, e.g. 'crmctl @ git+URL@COMMIT'")
    if install is None:
        source = running_install_source()
        install = source.requirement
        if source.warning and (github or gitlab):
            click.echo(f"warning: {source.warning}", err=True)
    settings = ci_settings(env, install_command(install.strip()), branch)
    files: dict[str, str] = {}
    if github:
        files.update(github_files(settings))
    if gitlab:
        files.update(gitlab_files(settings))
    if pre_commit:
        files.update(precommit_files(settings))
    written = write_files(obj.project_dir, files, force)
    for path in written:
        click.echo(f"  wrote {display_path(path)}")
    if env.history_remote is None and (github or gitlab):
        click.echo(
            f"note: {display_path(env.file)} has no history.remote, so every CI run starts "
            "without the versions earlier runs recorded: drift then compares with the "
            "manifests. Set history.remote to a git repository CI can push to.",
            err=True,
        )
    names = ", ".join(s.name for s in settings.secrets) or "none"
    click.echo(
        f"CI set up for environment {env.name}. Secrets the CI must provide: {names}. "
        "Commit the files to turn it on."
    )
    return 0


@ci.command()
@click.argument("plan_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--exit-code",
    "exit_code",
    type=int,
    required=True,
    help="The exit status of the `crmctl plan` that wrote PLAN_FILE.",
)
@click.option(
    "--errors",
    "errors_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="What that plan printed on standard error (quoted when it failed).",
)
@click.option("-e", "--env", "env_name", default="", help="The environment, for the title.")
@click.option("--link", metavar="URL", help="Where the full plan can be downloaded.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"Write the comment here (at most {COMMENT_LIMIT:,} characters).",
)
@click.option(
    "--full",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the whole plan as markdown here (for the job's artifact).",
)
def comment(
    plan_file: Path,
    exit_code: int,
    errors_file: Path | None,
    env_name: str,
    link: str | None,
    out: Path | None,
    full: Path | None,
) -> int:
    """Write the pull-request comment for a plan saved with --format json.

    Used by the generated CI. The comment starts with a "cannot be applied"
    banner and its reasons when the plan failed (PLAN_FILE may then be empty),
    then the summary and the changes that need approval; the change table and
    the diffs fill the rest, up to a size every code host accepts, and a note
    says what was left out and links the full plan (--link).

    Exit status: 0 when the comment was written, whatever the plan's status.

    \b
    Examples:
      crmctl plan -e prod --format json > plan.json 2> plan-errors.txt
      crmctl ci comment plan.json --exit-code $? --errors plan-errors.txt --full plan.md
      crmctl ci comment plan.json --exit-code 0 --link "$URL" --out comment.md
    """
    error_output = ""
    if errors_file is not None and errors_file.exists():
        error_output = errors_file.read_text(encoding="utf-8", errors="replace")
    plan = None
    if plan_file.exists() and plan_file.stat().st_size > 0:
        try:
            plan = read_plan(plan_file)
        except PlanError:
            if exit_code in (0, 2):
                raise
    elif exit_code in (0, 2):
        raise CrmctlError(
            f"{plan_file} is empty or missing, yet the plan succeeded",
            hint="write it with: crmctl plan --format json > PLAN_FILE",
        )
    if full is not None:
        _write(full, full_plan_markdown(plan, exit_code, error_output, env_name))
    if out is not None or full is None:
        text = plan_comment(plan, exit_code, error_output, link, PLAN_MARKER, env_name)
        if out is None:
            click.echo(text, nl=False)
        else:
            _write(out, text)
    return 0


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CrmctlError(f"cannot write {path}: {exc.strerror or exc}") from None
