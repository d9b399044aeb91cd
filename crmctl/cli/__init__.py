"""The `crmctl` command line: parse arguments, call the library, render, exit.

The root command is the only place errors are caught and rendered.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from crmctl import __version__
from crmctl.cli.context import CliContext
from crmctl.cli.suggest import choice_hint, single_dash_hint
from crmctl.errors import CrmctlError
from crmctl.render.diagnostics import error_text
from crmctl.render.style import use_colour

__all__ = ["cli", "main", "USAGE_ERROR_EXIT_CODE"]

#: A mistyped option or argument is an error like any other (exit 1).
USAGE_ERROR_EXIT_CODE = 1


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "-C",
    "--project-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The project folder (the one holding environments/ and manifests/). Default: the "
    "nearest folder at or above the current one that holds environments/ or crmctl.yaml.",
)
@click.option("--no-color", is_flag=True, help="Never colour output (NO_COLOR=1 does the same).")
@click.version_option(__version__, prog_name="crmctl")
@click.pass_context
def cli(ctx: click.Context, project_dir: Path | None, no_color: bool) -> None:
    """crmctl: CRM configuration as code.

    Custom objects, fields, validation rules, roles, permission sets, users,
    duplicate rules and retention policies live as YAML manifests in git.
    `crmctl plan` compares them with the live CRM, `crmctl apply` carries the
    plan out.

    \b
    Start here:
      crmctl validate              check the manifests of the default environment (local)
      crmctl schema CustomField    the JSON Schema of a kind, for editors
    """
    if project_dir is not None and not project_dir.is_dir():
        raise CrmctlError(f"project folder {project_dir} does not exist")
    ctx.obj = CliContext.for_folder(project_dir, colour=False if no_color else None)


def _register() -> None:
    from crmctl.cli import history_cmd, plan_cmd, sandbox_cmd, schema_cmd, validate_cmd

    cli.add_command(validate_cmd.validate)
    cli.add_command(plan_cmd.plan)
    cli.add_command(plan_cmd.apply)
    cli.add_command(schema_cmd.schema)
    for command in (
        history_cmd.history,
        history_cmd.show,
        history_cmd.diff,
        history_cmd.rollback,
        history_cmd.recover,
        history_cmd.lock,
        history_cmd.unlock,
    ):
        cli.add_command(command)
    cli.add_command(sandbox_cmd.sandbox)

    from crmctl.cli import sandbox_load_cmd, sandbox_salesforce_cmd

    sandbox_cmd.sandbox.add_command(sandbox_salesforce_cmd.connected_app)
    sandbox_cmd.sandbox.add_command(sandbox_salesforce_cmd.api_limit)
    sandbox_cmd.sandbox.add_command(sandbox_load_cmd.load)

    from crmctl.cli import governance_cmd

    cli.add_command(governance_cmd.approve)
    cli.add_command(governance_cmd.approvals)
    cli.add_command(governance_cmd.lint)

    from crmctl.cli import ci_cmd, drift_cmd, import_cmd

    cli.add_command(drift_cmd.drift)
    cli.add_command(import_cmd.import_)
    cli.add_command(ci_cmd.ci)

    from crmctl.cli import access_cmd, test_cmd

    cli.add_command(test_cmd.test_command)
    cli.add_command(access_cmd.access)

    from crmctl.cli import init_cmd

    cli.add_command(init_cmd.init)


_register()


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and turn every known failure into a message and an exit code."""
    try:
        result = cli.main(args=argv, prog_name="crmctl", standalone_mode=False)
    except CrmctlError as exc:
        click.echo(error_text(exc, use_colour(sys.stderr)), err=True)
        return exc.exit_code
    except click.exceptions.Abort as exc:
        # click turns Ctrl-C into Abort; an apply's second Ctrl-C carries what to do next.
        cause = exc.__cause__
        if isinstance(cause, KeyboardInterrupt):
            click.echo(str(cause) or "Interrupted.", err=True)
            return 130
        click.echo("Aborted.", err=True)
        return 1
    except click.UsageError as exc:
        # click exits 2 on usage errors, but 2 means "changes present" / "drift found"
        # here: in CI a typo must not read as drift.
        words = sys.argv[1:] if argv is None else argv
        choice_hint(single_dash_hint(exc, words), words).show()
        return USAGE_ERROR_EXIT_CODE
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except KeyboardInterrupt as exc:
        click.echo(str(exc) or "Interrupted.", err=True)
        return 130
    except Exception as exc:  # a bug in crmctl: say so plainly, traceback only on request
        if os.environ.get("CRMCTL_DEBUG"):
            raise
        click.echo(
            f"Error: internal error: {type(exc).__name__}: {exc}\n"
            "hint: this is a bug in crmctl; run again with CRMCTL_DEBUG=1 for the traceback and report it",
            err=True,
        )
        return 1
    return result if isinstance(result, int) else 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
