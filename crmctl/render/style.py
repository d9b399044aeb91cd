"""Colour on terminals only, and never when NO_COLOR is set (https://no-color.org)."""

from __future__ import annotations

import os
import sys
from typing import IO

import click

__all__ = ["use_colour", "paint"]


def use_colour(stream: IO[str] | None = None, force: bool | None = None) -> bool:
    """Whether to colour output written to `stream`."""
    if force is not None:
        return force
    if os.environ.get("NO_COLOR"):
        return False
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())


def paint(text: str, colour: str | None, enabled: bool, bold: bool = False) -> str:
    """`text` in `colour` when colour is enabled, unchanged otherwise."""
    if not enabled or (colour is None and not bold):
        return text
    return click.style(text, fg=colour, bold=bold)
