"""Drift classification is core: it imports neither click, requests nor git."""

from __future__ import annotations

import subprocess
import sys


def test_the_drift_package_imports_no_cli_http_or_git_library() -> None:
    code = (
        "import sys, crmctl.drift, crmctl.importer.document, crmctl.importer.edit, "
        "crmctl.importer.layout\n"
        "print(sorted(m for m in ('click', 'requests', 'git') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "[]\n"
