"""Planning: compare desired and live configuration and order the changes. Pure functions."""

from crmctl.plan.action import Action
from crmctl.plan.diff import FieldDiff, diff_specs
from crmctl.plan.model import Change, Plan, fingerprint
from crmctl.plan.planner import PlanInputs, canonical, make_plan, matches_any

__all__ = [
    "Action",
    "Change",
    "FieldDiff",
    "Plan",
    "PlanInputs",
    "canonical",
    "diff_specs",
    "fingerprint",
    "make_plan",
    "matches_any",
]
