"""Governance lint: rules over the manifests that schemas and references cannot express.

One module per rule (`ID`, `SUMMARY`, `check(context)`); `run_lint` runs
them all and gives each finding the severity the environment's `lint:`
section sets (every rule is an error unless the environment says
`warning` or `off`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from crmctl.errors import Diagnostic
from crmctl.governance.lint import (
    external_pii_access,
    owner_required,
    pii_description,
    pii_retention,
    powerful_access_justified,
    user_permission_sets,
    user_role,
    validation_message,
)
from crmctl.governance.lint.base import LintContext, LintSettings
from crmctl.model import Resource

__all__ = ["RULES", "LintSettings", "LintContext", "run_lint"]

RULES = {
    module.ID: module
    for module in (
        owner_required,
        pii_description,
        pii_retention,
        powerful_access_justified,
        validation_message,
        user_role,
        user_permission_sets,
        external_pii_access,
    )
}


def run_lint(
    resources: Iterable[Resource], settings: LintSettings | None = None
) -> list[Diagnostic]:
    """Every finding of every enabled rule, sorted by file and line."""
    context = LintContext(list(resources), settings or LintSettings())
    findings: list[Diagnostic] = []
    for rule_id, module in RULES.items():
        severity = context.settings.severity(rule_id)
        if severity is None:
            continue
        findings.extend(dataclasses.replace(d, severity=severity) for d in module.check(context))
    findings.sort(key=Diagnostic.sort_key)
    return findings
