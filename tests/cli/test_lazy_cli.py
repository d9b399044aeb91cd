"""`crmctl --version` and `--help` import no subcommand and no heavy library; the table stays true."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from crmctl.cli import COMMANDS, SUBCOMMANDS, LazyGroup, cli

#: Libraries a bare `crmctl --version` / `--help` must not pay for.
HEAVY = ("git", "jsonschema", "requests", "yaml", "urllib3", "sqlite3")

PROBE = """
import json, sys
from crmctl.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def loaded_modules(*args: str) -> tuple[int, list[str], str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True
    )
    last = json.loads(done.stdout.strip().splitlines()[-1])
    return last["code"], last["modules"], done.stdout


@pytest.mark.parametrize("args", [["--version"], ["--help"]], ids=" ".join)
def test_version_and_help_import_no_heavy_library_and_no_subcommand(args: list[str]) -> None:
    code, modules, out = loaded_modules(*args)
    assert code == 0
    heavy = [m for m in modules if m.split(".")[0] in HEAVY]
    assert heavy == []
    commands = [m for m in modules if m.startswith("crmctl.") and m.endswith("_cmd")]
    assert commands == []
    ours = [m for m in modules if m.startswith("crmctl")]
    assert ours == ["crmctl", "crmctl.cli", "crmctl.errors"]
    if args == ["--version"]:
        assert out.startswith("crmctl, version ")


def test_help_lists_every_command_of_the_table_with_its_short_help() -> None:
    _, _, out = loaded_modules("--help")
    listed = out.split("\nCommands:\n")[1].splitlines()
    names = [line.split()[0] for line in listed if line.startswith("  ") and line.split()]
    assert names == sorted(COMMANDS)
    assert "  validate   Check manifests: YAML syntax, schemas, and references..." in listed


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_tables_short_help_is_the_commands_own(name: str) -> None:
    """The help line shown without importing a command is the one the command gives itself."""
    target, short = COMMANDS[name]
    module, _, attribute = target.partition(":")
    command = getattr(__import__(module, fromlist=[attribute]), attribute)
    assert isinstance(command, click.Command)
    for limit in (40, 60, 94, 200):
        assert click.Command(name, help=short).get_short_help_str(
            limit
        ) == command.get_short_help_str(limit)


def test_a_command_is_imported_only_when_it_runs() -> None:
    _, modules, _ = loaded_modules("schema", "--help")
    assert "crmctl.cli.schema_cmd" in modules
    assert "crmctl.cli.plan_cmd" not in modules


def test_subcommands_from_other_modules_join_their_group() -> None:
    sandbox = cli.commands["sandbox"]
    assert isinstance(sandbox, click.Group)
    for target in SUBCOMMANDS["sandbox"]:
        attribute = target.partition(":")[2]
        assert attribute.replace("_", "-") in sandbox.commands


def test_a_lazy_group_loads_nothing_until_asked() -> None:
    group = LazyGroup(lazy={"schema": ("crmctl.cli.schema_cmd:schema", "Print it.")})
    ctx = click.Context(group)
    assert group.list_commands(ctx) == ["schema"]
    assert group._loaded == {}
    assert group.get_command(ctx, "schema") is not None
    assert group.get_command(ctx, "nothing") is None


def test_plan_and_apply_load_neither_the_impact_engine_nor_views_they_do_not_render() -> None:
    """--impact and --validate pay for their own modules; a plain plan does not."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, sys; import crmctl.cli.plan_cmd; print(json.dumps(sorted(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    modules = json.loads(done.stdout)
    for name in (
        "crmctl.impact.run",
        "crmctl.impact.engine",
        "crmctl.render.impact_view",
        "crmctl.render.validation_view",
        "git",
    ):
        assert name not in modules


def test_the_impact_limit_options_bound_is_the_impact_engines() -> None:
    from crmctl.cli.impact_cmd import MAX_LIVE_LIMIT
    from crmctl.impact.run import MAX_LIVE_LIMIT as ENGINE_LIMIT

    assert MAX_LIVE_LIMIT == ENGINE_LIMIT


def test_validating_valid_manifests_never_loads_jsonschema(project: Path) -> None:
    # Valid documents are answered by the compiled validator; jsonschema (a tenth of a
    # second to import) only explains an invalid one.
    code, modules, out = loaded_modules("validate", "--no-cache")
    assert (code, "valid:" in out) == (0, True)
    assert [m for m in modules if m.split(".")[0] in ("jsonschema", "referencing")] == []
    (project / "manifests" / "broken.yaml").write_text(
        "apiVersion: crmctl/v1\nkind: Role\nmetadata: {name: Board}\nspec: {labl: Board}\n"
    )
    code, modules, out = loaded_modules("validate", "--no-cache")
    assert code == 1
    assert out.startswith(
        "manifests/broken.yaml:4: Role/Board: spec: missing required key 'label'\n"
        "manifests/broken.yaml:4: Role/Board: spec: unknown key 'labl'\n"
        "  hint: did you mean 'label'?\n"
    )
    assert "jsonschema" in modules
