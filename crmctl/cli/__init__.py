"""The `crmctl` command line: parse arguments, call the library, render, exit.

The root command is the only place errors are caught and rendered.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
from pathlib import Path
from typing import Any

import click

from crmctl import __version__

__all__ = ["cli", "main", "USAGE_ERROR_EXIT_CODE", "COMMANDS", "SUBCOMMANDS", "LazyGroup"]

#: A mistyped option or argument is an error like any other (exit 1).
USAGE_ERROR_EXIT_CODE = 1

#: Every top-level command: name -> ("module:attribute", its short help for `crmctl --help`).
#: A command's module is imported only when that command runs (or its own --help is asked
#: for), so `crmctl --version` and `crmctl --help` stay fast. To add a command, write it in
#: its own `crmctl/cli/<name>_cmd.py` and add one line here; tests/cli/test_lazy_cli.py
#: checks that the short help below is the one the command itself gives.
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("crmctl.cli.validate_cmd:validate", "Check manifests: YAML syntax, schemas, and references between resources."),
    "plan": ("crmctl.cli.plan_cmd:plan", "Show what apply would change in the CRM, field by field."),
    "apply": ("crmctl.cli.plan_cmd:apply", "Make the CRM match the manifests."),
    "schema": ("crmctl.cli.schema_cmd:schema", "Print the JSON Schema of a kind (self-contained, for editors)."),
    "history": ("crmctl.cli.history_cmd:history", "List the versions of an environment: when, who, status, changes."),
    "show": ("crmctl.cli.history_cmd:show", "Show one version (its plan, result, approvals and snapshot), or a saved plan file."),
    "diff": ("crmctl.cli.history_cmd:diff", "Show what changed in the CRM's configuration between two versions."),
    "rollback": ("crmctl.cli.history_cmd:rollback", "Return the CRM to the configuration a version left."),
    "recover": ("crmctl.cli.history_cmd:recover", "Recover from an apply that was interrupted (killed, crashed, lost power)."),
    "lock": ("crmctl.cli.history_cmd:lock", "Inspect the apply lock of an environment."),
    "unlock": ("crmctl.cli.history_cmd:unlock", "Remove an environment's lock after checking that its holder is gone."),
    "sandbox": ("crmctl.cli.sandbox_cmd:sandbox", "The sandbox CRM that ships with crmctl: SQLite storage, an HTTP JSON API."),
    "approve": ("crmctl.cli.governance_cmd:approve", "Approve planned changes in a governance role: writes a record signed with your SSH key."),
    "approvals": ("crmctl.cli.governance_cmd:approvals", "Who approved what, what is still missing, and break-glass applies awaiting review."),
    "lint": ("crmctl.cli.governance_cmd:lint", "Check the manifests against the governance rules."),
    "drift": ("crmctl.cli.drift_cmd:drift", "Report changes made to the live CRM outside crmctl."),
    "import": ("crmctl.cli.import_cmd:import_", "Write manifests from the live CRM."),
    "ci": ("crmctl.cli.ci_cmd:ci", "Set up continuous integration for a crmctl project."),
    "test": ("crmctl.cli.test_cmd:test_command", "Run configuration tests: records, access, retention and duplicates."),
    "access": ("crmctl.cli.access_cmd:access", "Show who can read or edit each object and custom field, and through what."),
    "init": ("crmctl.cli.init_cmd:init", "Start a crmctl project in FOLDER (default: the current folder)."),
}  # fmt: skip

#: Subcommands added to a group from other modules once that group is loaded.
SUBCOMMANDS: dict[str, list[str]] = {
    "sandbox": [
        "crmctl.cli.sandbox_salesforce_cmd:connected_app",
        "crmctl.cli.sandbox_salesforce_cmd:api_limit",
        "crmctl.cli.sandbox_load_cmd:load",
        "crmctl.cli.sandbox_dataverse_cmd:dataverse_app",
    ],
}


def _load(target: str) -> Any:
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use, from a table.

    `lazy` maps a command name to ("module:attribute", short help). Listing
    the commands (root `--help`) reads the table only; running a command, or
    asking for its own help, imports its module. `commands` still holds every
    command (loading all of them) for code that walks the tree.
    """

    def __init__(
        self,
        *args: Any,
        lazy: dict[str, tuple[str, str]] | None = None,
        extra: dict[str, list[str]] | None = None,
        **kwargs: Any,
    ) -> None:
        self._loaded: dict[str, click.Command] = {}
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})
        self.extra = dict(extra or {})

    @property  # type: ignore[override]
    def commands(self) -> dict[str, click.Command]:
        for name in list(self.lazy):
            self._resolve(name)
        return self._loaded

    @commands.setter
    def commands(self, value: Any) -> None:
        self._loaded = dict(value)

    def _resolve(self, name: str) -> click.Command | None:
        if name not in self._loaded and name in self.lazy:
            command = _load(self.lazy[name][0])
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.lazy[name][0]} is not a click command")
            if isinstance(command, click.Group):
                for target in self.extra.get(name, []):
                    sub = _load(target)
                    if sub.name not in command.commands:
                        command.add_command(sub)
            self._loaded[name] = command
        return self._loaded.get(name)

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        name = name or cmd.name
        if name is None:
            raise TypeError("a command needs a name")
        self._loaded[name] = cmd

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._resolve(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.lazy, *self._loaded})

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        rows = []
        limit = formatter.width - 6 - max((len(n) for n in names), default=0)
        for name in names:
            loaded = self._loaded.get(name)
            if loaded is not None:
                if loaded.hidden:
                    continue
                rows.append((name, loaded.get_short_help_str(limit)))
            else:
                rows.append(
                    (name, click.Command(name, help=self.lazy[name][1]).get_short_help_str(limit))
                )
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    extra=SUBCOMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
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
    from crmctl.cli.context import CliContext
    from crmctl.errors import CrmctlError

    if project_dir is not None and not project_dir.is_dir():
        raise CrmctlError(f"project folder {project_dir} does not exist")
    ctx.obj = CliContext.for_folder(project_dir, colour=False if no_color else None)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and turn every known failure into a message and an exit code."""
    from crmctl.errors import CrmctlError

    # crmctl builds millions of small objects (a large org's manifests, plans, snapshots) and
    # makes almost no reference cycles: collecting less often saves ~15% of the CPU time.
    gc.set_threshold(50_000, 20, 100)
    try:
        result = cli.main(args=argv, prog_name="crmctl", standalone_mode=False)
    except CrmctlError as exc:
        from crmctl.render.diagnostics import error_text
        from crmctl.render.style import use_colour

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
        from crmctl.cli.suggest import choice_hint, single_dash_hint

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
