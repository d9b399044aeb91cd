"""`python -m crmctl`."""

from crmctl.cli import run

run()
