"""Keys a CRM does not store (PlanInputs.unstored): carried from the desired spec into the
live one, so they are never planned, while the change keeps them for governance."""

from __future__ import annotations

from crmctl.drift import Baseline, DriftInputs, classify_drift
from crmctl.model import Resource
from crmctl.plan import Action, PlanInputs, canonical, fingerprint, make_plan

UNSTORED = {"CustomField": frozenset({"classification"})}


def _field(**spec: object) -> Resource:
    return Resource("CustomField", "account.nw_tier", {"type": "Text", "label": "Tier", **spec})


def test_an_unstored_key_alone_plans_nothing() -> None:
    desired = {"CustomField/account.nw_tier": _field(classification="PII")}
    live = {"CustomField/account.nw_tier": _field()}  # read back: the default, Internal
    assert make_plan(PlanInputs("dv", desired, live)).changes[0].diffs  # without: a change
    plan = make_plan(PlanInputs("dv", desired, live, unstored=UNSTORED))
    assert (plan.changes, plan.diagnostics) == ([], [])


def test_a_change_keeps_the_label_and_fingerprints_the_crms_read() -> None:
    desired = {"CustomField/account.nw_tier": _field(classification="PII", label="Level")}
    read = _field()
    plan = make_plan(PlanInputs("dv", desired, {read.address: read}, unstored=UNSTORED))
    (change,) = plan.changes
    assert change.action is Action.UPDATE
    assert [(d.path, d.before, d.after) for d in change.diffs] == [("label", "Tier", "Level")]
    assert change.before["classification"] == change.after["classification"] == "PII"
    assert change.live_fingerprint == fingerprint(canonical(read.kind, read.spec, read.name))


def test_drift_leaves_unstored_keys_out_on_every_side() -> None:
    address = "CustomField/account.nw_tier"
    report = classify_drift(
        DriftInputs(
            environment="dv",
            baseline_info=Baseline("history", 1),
            desired={address: _field(classification="Sensitive")},
            live={address: _field()},
            baseline={address: {"type": "Text", "label": "Tier", "classification": "PII"}},
            managed={address},
            unstored=UNSTORED,
        )
    )
    assert (report.drifts, report.pending, report.in_sync) == ([], [], [address])
