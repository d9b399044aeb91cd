"""The core layers (config, plan, governance) import neither click, requests nor git.

Three governance modules are the named exceptions: `gitverify` (it talks to
git), `verify` (it wires gitverify and the signature checks to the pure
code) and `gate` (the apply path's approval gate, which uses both).
"""

from __future__ import annotations

import ast
from pathlib import Path

import crmctl

PACKAGE = Path(crmctl.__file__).resolve().parent
FORBIDDEN = {"click", "requests", "git"}
GIT_MODULES = {
    "crmctl.governance.gitverify",
    "crmctl.governance.verify",
    "crmctl.governance.gate",
}


def _modules(*packages: str):
    for package in packages:
        for path in sorted((PACKAGE / package).rglob("*.py")):
            name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
            yield name.removesuffix(".__init__"), path


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_the_core_imports_no_click_requests_or_git():
    offenders = {}
    for name, path in _modules("config", "plan", "governance"):
        if name in GIT_MODULES:
            continue
        bad = {i for i in _imports(path) if i.split(".")[0] in FORBIDDEN or i in GIT_MODULES}
        if bad:
            offenders[name] = sorted(bad)
    assert offenders == {}


def test_only_the_named_modules_reach_git():
    users = {
        name
        for name, path in _modules("governance")
        if any(i.split(".")[0] == "git" for i in _imports(path))
    }
    assert users == {"crmctl.governance.gitverify"}
