"""The package's public surface is explicit, importable, and free of click and requests."""

from __future__ import annotations

import subprocess
import sys

import crmctl.sandbox


def test_all_is_exactly_the_public_surface() -> None:
    assert sorted(crmctl.sandbox.__all__) == sorted(
        [
            "SandboxStore",
            "SandboxError",
            "Principal",
            "FaultInjector",
            "Request",
            "RunningServer",
            "Route",
            "default_routes",
            "start_server",
            "serve_forever",
            "conversion_allowed",
            "SCHEMA_VERSION",
        ]
    )
    for name in crmctl.sandbox.__all__:
        assert getattr(crmctl.sandbox, name) is not None


def test_sandbox_error_is_a_crmctl_error_with_an_http_shape() -> None:
    from crmctl.errors import CrmctlError

    error = crmctl.sandbox.SandboxError("gone", status=404, code="NOT_FOUND", details={"a": 1})
    assert isinstance(error, CrmctlError) and str(error) == "gone"
    assert error.to_body() == {
        "error": {"code": "NOT_FOUND", "message": "gone", "details": {"a": 1}}
    }


def test_the_sandbox_imports_neither_click_nor_requests() -> None:
    code = "import sys, crmctl.sandbox; print(sorted(m for m in ('click', 'requests') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
