"""Drift classification: the pure part, from the three states to a report."""

from __future__ import annotations

from crmctl.drift import Baseline, DriftInputs, DriftType, IgnoreRule, classify_drift
from crmctl.model import Resource
from crmctl.plan.action import Action
from crmctl.providers.base import ChangeLogEntry

V3 = Baseline("history", 3, "2025-03-01T09:00:00+00:00", "ci@example.com")


def res(address: str, **spec) -> Resource:
    kind, _, name = address.partition("/")
    return Resource(kind, name, spec)


def by_address(resources: list[Resource]) -> dict[str, Resource]:
    return {r.address: r for r in resources}


CEO = res("Role/CEO", label="CEO")
SALES = res("Role/Sales", label="Sales", parent="CEO")
READER = res("PermissionSet/Reader", label="Reader")


def inputs(desired, live, baseline=None, **kw) -> DriftInputs:
    return DriftInputs(
        environment="prod",
        baseline_info=V3 if baseline is not None else Baseline("manifests"),
        desired=by_address(desired),
        live=by_address(live),
        baseline=({r.address: r.spec for r in baseline} if baseline is not None else None),
        **kw,
    )


def test_nothing_changed_is_in_sync() -> None:
    report = classify_drift(
        inputs([CEO, SALES], [CEO, SALES], [CEO, SALES], managed={"Role/CEO", "Role/Sales"})
    )
    assert report.drifts == [] and report.pending == []
    assert report.in_sync == ["Role/CEO", "Role/Sales"]
    assert report.exit_code == 0
    assert report.summary() == "No drift in prod: 2 in sync."


def test_modified_deleted_and_created_out_of_band() -> None:
    live = [res("Role/CEO", label="Chief"), res("Role/Intern", label="Intern")]
    report = classify_drift(
        inputs([CEO, SALES], live, [CEO, SALES], managed={"Role/CEO", "Role/Sales"})
    )
    assert [(d.address, d.type) for d in report.drifts] == [
        ("Role/CEO", DriftType.MODIFIED),
        ("Role/Intern", DriftType.CREATED),
        ("Role/Sales", DriftType.DELETED),
    ]
    modified = report.drifts[0]
    assert [(d.path, d.before, d.after) for d in modified.diffs] == [("label", "CEO", "Chief")]
    assert report.exit_code == 2
    assert report.summary() == (
        "Drift in prod: 1 modified, 1 deleted, 1 created out of band; 0 in sync."
    )


def test_pending_manifest_changes_are_not_drift() -> None:
    desired = [res("Role/CEO", label="Chief Executive"), READER]  # Sales removed, Reader added
    report = classify_drift(
        inputs(desired, [CEO, SALES], [CEO, SALES], managed={"Role/CEO", "Role/Sales"})
    )
    assert report.drifts == []
    assert [(p.address, p.action) for p in report.pending] == [
        ("Role/CEO", Action.UPDATE),
        ("Role/Sales", Action.DELETE),
        ("PermissionSet/Reader", Action.CREATE),
    ]
    assert [(d.path, d.before, d.after) for d in report.pending[0].diffs] == [
        ("label", "CEO", "Chief Executive")
    ]
    assert report.exit_code == 0
    assert report.summary() == "No drift in prod: 3 pending manifest changes, 2 in sync."


def test_resources_that_were_already_there_and_never_managed_are_unmanaged_not_created() -> None:
    old = res("Role/Legacy", label="Legacy")
    report = classify_drift(inputs([CEO], [CEO, old], [CEO, old], managed={"Role/CEO"}))
    assert report.drifts == [] and report.unmanaged == ["Role/Legacy"]


def test_only_kinds_crmctl_manages_can_be_created_out_of_band() -> None:
    report = classify_drift(inputs([CEO], [CEO, READER], [CEO], managed={"Role/CEO"}))
    assert report.drifts == [] and report.unmanaged == ["PermissionSet/Reader"]


def test_without_history_the_manifests_are_the_baseline() -> None:
    live = [res("Role/CEO", label="Chief"), res("Role/Intern", label="Intern")]
    report = classify_drift(inputs([CEO, SALES], live))
    assert report.baseline.source == "manifests"
    assert [(d.address, d.type) for d in report.drifts] == [
        ("Role/CEO", DriftType.MODIFIED),
        ("Role/Intern", DriftType.CREATED),
        ("Role/Sales", DriftType.DELETED),
    ]
    assert report.pending == []


def test_ignored_paths_and_resources_are_reported_and_not_counted() -> None:
    live = [res("Role/CEO", label="Chief", description="x"), res("Role/Temp", label="T")]
    rules = [
        IgnoreRule("Role/C*", "description", "descriptions are edited in the CRM"),
        IgnoreRule("Role/Temp", None, "created by the admins' script"),
    ]
    report = classify_drift(inputs([CEO], live, [CEO], managed={"Role/CEO"}, ignore=rules))
    ceo, temp = report.drifts
    assert [d.path for d in ceo.diffs] == ["label"]
    assert [(i.diff.path, i.rule.reason) for i in ceo.ignored] == [
        ("description", "descriptions are edited in the CRM")
    ]
    assert ceo.counts and not temp.counts and temp.ignored_by is rules[1]
    assert report.exit_code == 2

    only_ignored = classify_drift(
        inputs(
            [CEO],
            [res("Role/CEO", label="CEO", description="x")],
            [CEO],
            managed={"Role/CEO"},
            ignore=rules,
        )
    )
    assert only_ignored.exit_code == 0
    assert [d.address for d in only_ignored.fully_ignored] == ["Role/CEO"]
    assert only_ignored.summary() == "No drift in prod: 1 ignored, 0 in sync."


def test_attribution_is_the_latest_entry_in_the_window_not_made_by_crmctl() -> None:
    log = [
        ChangeLogEntry("Role/CEO", "update", "old@example.com", "2025-02-01T00:00:00Z", 1),
        ChangeLogEntry("Role/CEO", "update", "ana@example.com", "2025-03-01T10:00:00Z", 2),
        ChangeLogEntry("Role/CEO", "update", "svc@crm", "2025-03-01T10:05:00Z", 3),
        ChangeLogEntry("Role/Sales", "delete", "bo@example.com", "2025-03-02T08:00:00Z", 4),
    ]
    live = [res("Role/CEO", label="Chief")]
    report = classify_drift(
        inputs(
            [CEO, SALES],
            live,
            [CEO, SALES],
            managed={"Role/CEO", "Role/Sales"},
            change_log=log,
            crmctl_actors={"svc@crm"},
        )
    )
    assert report.attribution is True
    assert [(d.address, d.changed_by.actor, d.changed_by.at) for d in report.drifts] == [
        ("Role/CEO", "ana@example.com", "2025-03-01T10:00:00Z"),
        ("Role/Sales", "bo@example.com", "2025-03-02T08:00:00Z"),
    ]


def test_changes_before_the_baseline_are_not_blamed() -> None:
    log = [ChangeLogEntry("Role/CEO", "update", "old@example.com", "2025-02-01T00:00:00Z", 1)]
    report = classify_drift(
        inputs([CEO], [res("Role/CEO", label="X")], [CEO], managed={"Role/CEO"}, change_log=log)
    )
    assert report.drifts[0].changed_by is None
