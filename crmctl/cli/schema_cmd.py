"""`crmctl schema`: print the JSON Schema of a manifest kind or file type."""

from __future__ import annotations

import json

import click

from crmctl.schemas import KINDS, bundled_schema

_OTHER = ("environment",)


@click.command()
@click.argument("name", type=click.Choice([*KINDS, *_OTHER]), required=False)
def schema(name: str | None) -> None:
    """Print the JSON Schema of a kind (self-contained, for editors).

    Without NAME, list the kinds. Point your editor's YAML language server at
    the output to get completion and inline errors while writing manifests.

    \b
    Examples:
      crmctl schema                       # the kinds
      crmctl schema CustomField > .schemas/CustomField.json
      crmctl schema environment
    """
    if name is None:
        for kind in (*KINDS, *_OTHER):
            click.echo(kind)
        return
    click.echo(json.dumps(bundled_schema(name), indent=2))
