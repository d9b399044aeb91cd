"""plan_differences names every way a saved plan differs from the recomputed one."""

from __future__ import annotations

from crmctl.plan import Action, Change, Plan
from crmctl.plan.binding import plan_differences, snapshot_digest


def _change(name: str, action: Action, before, after) -> Change:
    return Change("PermissionSet", name, action, before, after, [], None, "display only")


def test_identical_changes_have_no_differences_whatever_the_display_fields_say():
    fresh = Plan("prod", changes=[_change("A", Action.UPDATE, {"label": "a"}, {"label": "b"})])
    saved = Plan("prod", changes=[_change("A", Action.UPDATE, {"label": "a"}, {"label": "b"})])
    saved.changes[0].reason = "edited"
    assert plan_differences(saved, fresh) == []


def test_every_difference_is_named():
    fresh = Plan(
        "prod",
        changes=[
            _change("A", Action.UPDATE, {"label": "a"}, {"label": "b"}),
            _change("B", Action.CREATE, None, {"label": "b"}),
            _change("C", Action.UPDATE, {"label": "c"}, {"label": "d"}),
        ],
    )
    saved = Plan(
        "prod",
        changes=[
            _change("A", Action.UPDATE, {"label": "a"}, {"label": "b", "system": ["X"]}),
            _change("C", Action.REPLACE, {"label": "c"}, {"label": "d"}),
            _change("D", Action.DELETE, {"label": "d"}, None),
        ],
    )
    assert plan_differences(saved, fresh) == [
        "PermissionSet/A: its `after` differs in system",
        "PermissionSet/C: the file would replace it; the plan computed now would update it",
        "PermissionSet/D: the file would delete it; the plan computed now has no change to it",
        "PermissionSet/B: the plan computed now would create it; the file leaves it out",
    ]


def test_a_duplicated_change_is_a_difference():
    change = _change("A", Action.CREATE, None, {"label": "a"})
    assert plan_differences(
        Plan("prod", changes=[change, change]), Plan("prod", changes=[change])
    ) == ["the file lists a resource more than once"]


def test_snapshot_digest_ignores_key_order():
    assert snapshot_digest({"a": {"x": 1, "y": 2}, "b": {}}) == snapshot_digest(
        {"b": {}, "a": {"y": 2, "x": 1}}
    )
    assert snapshot_digest({"a": {"x": 1}}) != snapshot_digest({"a": {"x": 2}})
