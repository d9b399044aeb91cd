"""Did-you-mean for mistyped options, where click's own suggestion cannot help.

click suggests `--auto-approve` for `--auto-aprove`, but `-auto-approve` (one
dash, as Terraform spells its flags) is read as the short option `-a` followed
by `uto-approve`, and click can only say "No such option: -a".
"""

from __future__ import annotations

import difflib

import click

__all__ = ["single_dash_hint", "choice_hint"]


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


def choice_hint(error: click.UsageError, argv: list[str]) -> click.UsageError:
    """A value not among a parameter's choices (`--format jsn`, `schema CustomFeild`) gets
    the closest choice suggested."""
    if not isinstance(error, click.BadParameter) or error.param is None:
        return error
    choice = error.param.type
    if not isinstance(choice, click.Choice):
        return error
    options = [str(c) for c in choice.choices]
    for word in argv:
        value = word.split("=", 1)[1] if word.startswith("--") and "=" in word else word
        if value in options or not value or value.startswith("-"):
            continue
        close = difflib.get_close_matches(value, options, n=1, cutoff=0.6)
        if close and f"{value!r}" in error.format_message():
            return click.BadParameter(
                f"{error.message} Did you mean {close[0]!r}?",
                ctx=error.ctx,
                param=error.param,
                param_hint=error.param_hint,
            )
    return error
