"""crmctl: CRM configuration as code (plan, apply, approvals, rollback, drift)."""

from __future__ import annotations

import os

__version__ = "0.1.0"

# GitPython refuses to import when no git program is on PATH, which would make every
# command (even `validate`, which needs no git) die with a traceback. Quiet, it imports,
# and the commands that do need git fail with crmctl's own message when they use it.
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")

__all__ = ["__version__"]
