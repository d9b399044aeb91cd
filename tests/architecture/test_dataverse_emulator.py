"""The Dataverse emulator is written from Microsoft's documentation, not from crmctl's provider.

Like the Salesforce emulator (tests/sandbox/salesforce/test_independence.py), it may use
the sandbox's neutral modules (store, server, faults, tls) but nothing of
`crmctl.providers`, nor the Dataverse provider that is written from the same documents:
two sides that share a model can only agree with each other.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.sandbox.salesforce.test_independence import ROOT, _imports, _module_file, _module_name

EMULATOR = ROOT / "sandbox" / "dataverse"


def _reachable() -> dict[str, str]:
    """Every crmctl module the emulator reaches, with the module that imports it first."""
    todo = [_module_name(p) for p in sorted(EMULATOR.glob("*.py"))]
    seen = {name: "(the emulator)" for name in todo}
    while todo:
        name = todo.pop()
        path = _module_file(name)
        assert path is not None, name
        for imported in _imports(path):
            if imported not in seen:
                seen[imported] = name
                todo.append(imported)
    return seen


def test_the_dataverse_emulator_reaches_no_provider_module() -> None:
    reached = _reachable()
    assert "crmctl.sandbox.dataverse.metadata" in reached  # the walk does reach the emulator
    assert "crmctl.sandbox.server" in reached
    offending = {name: by for name, by in reached.items() if name.startswith("crmctl.providers")}
    assert offending == {}


def test_the_walk_sees_a_dataverse_provider_import_inside_a_function(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    # (only modules that exist are reported; crmctl.providers.dataverse is covered by the
    # crmctl.providers prefix once it does)
    probe.write_text("def f():\n    from ...providers import http\n")
    assert "crmctl.providers.http" in _imports(probe, "crmctl.sandbox.dataverse")


def test_importing_the_dataverse_emulator_loads_no_provider() -> None:
    code = (
        "import sys, crmctl.sandbox.dataverse as dv\n"
        "from crmctl.sandbox.dataverse import api, batch, choices, identity, jobs, metadata, "
        "metadata_changes, model, "
        "odata, records, relationships, security, seed, state\n"
        "dv.routes()\n"
        "print(sorted(m for m in sys.modules if m.startswith('crmctl.providers')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "[]\n"


def test_the_dataverse_emulator_is_in_the_sandbox_import_graph_one_way() -> None:
    from tests.architecture.test_import_graph import package_graph

    graph = package_graph()
    assert "crmctl.sandbox" in graph["crmctl.sandbox.dataverse"]
    assert "crmctl.sandbox.dataverse" not in graph["crmctl.sandbox"]
