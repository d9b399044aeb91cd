"""Did-you-mean for mistyped options, where click's own suggestion cannot help.

click suggests `--auto-approve` for `--auto-aprove`, but `-auto-approve` (one
dash, as Terraform spells its flags) is read as the short option `-a` followed
by `uto-approve`, and click can only say "No such option: -a".
"""

from __future__ import annotations

import click

__all__ = ["single_dash_hint"]


def single_dash_hint(error: click.UsageError, argv: list[str]) -> click.UsageError:
    """The error again, suggesting `--name` when `-name` was typed for a long option."""
    if not isinstance(error, click.NoSuchOption) or error.ctx is None:
        return error
    short = error.option_name
    if len(short) != 2 or not short.startswith("-") or short == "--":
        return error
    command = error.ctx.command
    long_names = {name for param in command.params for name in getattr(param, "opts", ())}
    for word in argv:
        if word == "--":
            break
        if not word.startswith(short) or word.startswith("--") or len(word) <= 2:
            continue
        typed = word.split("=", 1)[0]
        if f"-{typed}" in long_names:
            return click.NoSuchOption(typed, possibilities=[f"-{typed}"], ctx=error.ctx)
    return error
