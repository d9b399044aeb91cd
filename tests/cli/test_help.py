"""Every command, including ones added later, has help with an example and is in the README."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from crmctl.cli import cli

README = Path(__file__).resolve().parents[2] / "README.md"


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """("validate",), ("sandbox",), ("sandbox", "serve") …: every command below `group`."""
    paths = []
    for name, command in sorted(group.commands.items()):
        if command.hidden:
            continue
        paths.append((*prefix, name))
        if isinstance(command, click.Group):
            paths.extend(command_paths(command, (*prefix, name)))
    return paths


COMMANDS = command_paths(cli)


def test_the_walk_finds_the_configuration_commands() -> None:
    assert {("validate",), ("schema",)} <= set(COMMANDS)


def test_root_help_lists_every_command(crmctl) -> None:
    r = crmctl("--help")
    assert (r.exit_code, r.err) == (0, "")
    assert r.out.startswith(
        "Usage: crmctl [OPTIONS] COMMAND [ARGS]...\n\n  crmctl: CRM configuration"
    )
    assert re.search(r"^\s+crmctl validate\s", r.out, re.M)
    listed = re.findall(r"^  (\S+)  ", r.out.split("\nCommands:\n")[1], re.M)
    assert listed == sorted(name for name, command in cli.commands.items() if not command.hidden)


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_command_help_has_a_description_and_an_example(crmctl, path: tuple[str, ...]) -> None:
    r = crmctl(*path, "--help")
    assert (r.exit_code, r.err) == (0, "")
    assert r.out.startswith(f"Usage: crmctl {' '.join(path)} ")
    description = r.out.split("\n\n")[1].strip()
    assert description, f"crmctl {' '.join(path)} has no help text"
    # An example is an indented line that runs the command itself.
    example = rf"^\s+crmctl( -\S+( \S+)?)* {re.escape(' '.join(path))}\b"
    assert re.search(example, r.out, re.M), f"no example of crmctl {' '.join(path)} in its help"


@pytest.mark.skipif(
    not README.is_file(), reason="README.md is not written yet (the lead writes it)"
)
@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_command_is_documented_in_the_readme(path: tuple[str, ...]) -> None:
    text = README.read_text(encoding="utf-8")
    mentioned = re.search(rf"crmctl {re.escape(' '.join(path))}\b", text) is not None
    assert mentioned, f"README.md never mentions `crmctl {' '.join(path)}`"
