"""Impact on data: what a plan's changes do to the records already stored.

    from crmctl.impact.engine import measure_impact
    report = measure_impact(conn, live, plan.changes, source="sandbox .crmctl/sandbox.db")

`engine` measures (one pass over the records), `load` reads a records
snapshot (CSV or JSON per object) into a sandbox database, `sources` and
`run` find the records (the environment's sandbox, a snapshot, or a bounded
read of live records). This package imports only the report's data types,
so governance can use them without loading the sandbox. Core: imports
neither click, requests nor git.
"""

from __future__ import annotations

from crmctl.impact.model import MAX_SAMPLES, ChangeImpact, Finding, ImpactReport

__all__ = ["MAX_SAMPLES", "ChangeImpact", "Finding", "ImpactReport"]
