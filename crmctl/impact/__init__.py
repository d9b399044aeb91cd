"""Impact on data: what a plan's changes do to the records already stored.

    report = measure_impact(conn, live, plan.changes, source="sandbox .crmctl/sandbox.db")

`load` reads a records snapshot (CSV or JSON per object) into a sandbox
database; `live` reads a bounded sample of live records through a
provider's query API. Core: imports neither click, requests nor git.
"""

from __future__ import annotations

from crmctl.impact.engine import IMPACT_KINDS, configurations, measure_impact
from crmctl.impact.model import MAX_SAMPLES, ChangeImpact, Finding, ImpactReport

__all__ = [
    "IMPACT_KINDS",
    "MAX_SAMPLES",
    "ChangeImpact",
    "Finding",
    "ImpactReport",
    "configurations",
    "measure_impact",
]
