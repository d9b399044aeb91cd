"""Drift detection: how the live CRM departs from what crmctl last applied. Pure: no I/O."""

from __future__ import annotations

from crmctl.drift.classify import DriftInputs, classify_drift
from crmctl.drift.ignore import ignore_rules
from crmctl.drift.model import (
    Attribution,
    Baseline,
    Drift,
    DriftReport,
    DriftType,
    IgnoredDiff,
    IgnoreRule,
    PendingChange,
)

__all__ = [
    "Attribution",
    "Baseline",
    "Drift",
    "DriftInputs",
    "DriftReport",
    "DriftType",
    "IgnoreRule",
    "IgnoredDiff",
    "PendingChange",
    "classify_drift",
    "ignore_rules",
]
