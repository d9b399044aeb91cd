"""What every command gets from the root command."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import click

from crmctl.config.environment import DEFAULT_ENVIRONMENT, Environment, load_environment
from crmctl.config.project import find_project_root, is_project_root

__all__ = ["CliContext", "env_option", "format_option", "cache_option"]


@dataclass
class CliContext:
    project_dir: Path
    colour: bool | None  # None: decide per stream
    in_project: bool = True  # False: no project folder was found (project_dir is the cwd)

    @classmethod
    def for_folder(cls, given: Path | None, colour: bool | None = None) -> CliContext:
        """-C DIR as given, else the nearest project folder at or above the current one."""
        if given is not None:
            folder = given.resolve()
            return cls(folder, colour, is_project_root(folder))
        found = find_project_root(Path.cwd())
        return cls(found or Path.cwd().resolve(), colour, found is not None)

    def explicit_env(self, name: str | None) -> bool:
        """Whether an environment was chosen (-e or $CRMCTL_ENV) rather than defaulted."""
        return bool(name or os.environ.get("CRMCTL_ENV"))

    def environment(self, name: str | None) -> Environment:
        return load_environment(
            name or os.environ.get("CRMCTL_ENV") or DEFAULT_ENVIRONMENT, self.project_dir
        )


def env_option(func):
    """`-e/--env NAME`: which environment file to use."""
    return click.option(
        "-e",
        "--env",
        "env_name",
        metavar="NAME",
        default=None,
        help=f"Environment: a name under environments/ or a path to a file. "
        f"Default: $CRMCTL_ENV, else '{DEFAULT_ENVIRONMENT}'.",
    )(func)


def format_option(*choices: str):
    """`--format`: how to render the command's output."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(choices),
        default=choices[0],
        show_default=True,
        help="Output format.",
    )


def cache_option(func):
    """`--no-cache`: parse every manifest file again instead of using the parse cache."""
    return click.option(
        "--no-cache",
        "no_cache",
        is_flag=True,
        help="Parse every manifest again, ignoring the parse cache in .crmctl/cache "
        "($CRMCTL_NO_CACHE=1 does the same for every command).",
    )(func)
