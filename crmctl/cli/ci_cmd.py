"""`crmctl ci init`: write CI workflows (GitHub Actions, GitLab CI) and a pre-commit hook."""

from __future__ import annotations

import click

from crmctl.ci import ci_settings, github_files, gitlab_files, precommit_files, write_files
from crmctl.cli.context import CliContext, env_option
from crmctl.config.environment import display_path


@click.group()
def ci() -> None:
    """Set up continuous integration for a crmctl project.

    \b
    Examples:
      crmctl ci init --github -e prod
      crmctl ci init --gitlab -e prod --pre-commit
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
    metavar="COMMAND",
    help="How CI installs crmctl (default: pip install of this crmctl version).",
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

    The pipeline validates and lints the manifests on every push, posts the
    plan as a pull-request comment (updated in place on each push), applies
    on merge to the main branch (crmctl apply refuses unless the approvals
    the environment's policy demands are on record) and runs drift detection
    every night, failing on drift and keeping the JUnit report.

    Credentials are read from the CI's secret store into the environment
    variables the environment file names (tokenEnv, clientIdEnv …); the
    generated files list them at the top. Existing files are never
    overwritten without --force.

    \b
    Examples:
      crmctl ci init --github -e prod
      crmctl ci init --gitlab -e prod --branch trunk
      crmctl ci init --pre-commit
      crmctl ci init --github --force --install 'pip install -e ./tools/crmctl'
    """
    if not (github or gitlab or pre_commit):
        raise click.UsageError("choose at least one of --github, --gitlab and --pre-commit")
    env = obj.environment(env_name or "prod")
    settings = ci_settings(env, install, branch)
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
