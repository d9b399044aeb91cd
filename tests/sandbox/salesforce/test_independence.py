"""The Salesforce emulator is written from Salesforce's documentation, not from crmctl's client.

It may use crmctl's neutral modules (the sandbox store, the kinds, plan
ordering), but nothing of `crmctl.providers`: a provider and an emulator that
share a model can only agree with each other.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import crmctl

ROOT = Path(crmctl.__file__).parent
EMULATOR = ROOT / "sandbox" / "salesforce"


def _module_file(name: str) -> Path | None:
    parts = name.split(".")[1:]
    for candidate in (
        ROOT.joinpath(*parts).with_suffix(".py"),
        ROOT.joinpath(*parts, "__init__.py"),
    ):
        if candidate.is_file():
            return candidate
    return None


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, package: str | None = None) -> set[str]:
    """crmctl modules `path` imports, anywhere in it (functions included)."""
    if package is None:
        own = _module_name(path)
        package = own if path.name == "__init__.py" else own.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] == "crmctl" and _module_file(name)}


def _reachable() -> dict[str, str]:
    """Every crmctl module the emulator reaches, with the module that imports it first."""
    todo = [_module_name(p) for p in sorted(EMULATOR.glob("*.py"))]
    seen = {name: "(the emulator)" for name in todo}
    while todo:
        name = todo.pop()
        for imported in _imports(_module_file(name)):
            if imported not in seen:
                seen[imported] = name
                todo.append(imported)
    return seen


def test_the_emulator_reaches_no_provider_module() -> None:
    reached = _reachable()
    assert "crmctl.sandbox.salesforce.deploy" in reached  # the walk does reach the emulator
    offending = {name: by for name, by in reached.items() if name.startswith("crmctl.providers")}
    assert offending == {}


def test_the_walk_sees_a_provider_import_inside_a_function(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from ...providers.salesforce import package\n")
    assert "crmctl.providers.salesforce.package" in _imports(probe, "crmctl.sandbox.salesforce")


def test_importing_the_emulator_loads_no_provider() -> None:
    code = (
        "import sys, crmctl.sandbox.salesforce as sf\n"
        "from crmctl.sandbox.salesforce import api, catalog, components, deploy, mdxml, metadata, "
        "oauth, sobjects, soql, specs, state, writes\n"
        "sf.routes()\n"
        "print(sorted(m for m in sys.modules if m.startswith('crmctl.providers')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "[]\n"
