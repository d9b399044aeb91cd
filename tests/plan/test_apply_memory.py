"""What apply holds less of: streamed result rows and shared strings, with the same content."""

import io
import json
from sys import intern

from crmctl.executor import ApplyOutcome, result_document
from crmctl.history.jsonstream import write_json
from crmctl.model import Resource, share_strings
from crmctl.plan import Action, Change, Plan


def change(name: str) -> Change:
    return Change("Role", name, Action.CREATE, None, {"label": name}, [], None, "new")


def outcome() -> ApplyOutcome:
    a, b, c = change("A"), change("B"), change("C")
    plan = Plan("test", changes=[a, b, c])
    return ApplyOutcome(plan, applied=[a], failed=b, error="boom", not_applied=[c])


def written(value: object, expand: int) -> str:
    out = io.StringIO()
    write_json(out, value, expand)
    return out.getvalue()


def test_streamed_result_rows_are_written_exactly_as_the_list() -> None:
    held, streamed = result_document(outcome()), result_document(outcome(), streamed=True)
    for expand in (0, 1, 2, 3):
        assert written(streamed, expand) == written(held, expand)
    assert json.loads(written(streamed, 2))["changes"] == [
        {"address": "Role/A", "action": "create", "result": "applied"},
        {"address": "Role/B", "action": "create", "result": "failed", "error": "boom"},
        {"address": "Role/C", "action": "create", "result": "not applied"},
    ]


def test_share_strings_keeps_values_and_shares_short_ones() -> None:
    long_text = "x" * 40
    spec = {"type": "".join(["Te", "xt"]), "values": [{"label": "".join(["Ye", "s"])}], "n": 3}
    resource = Resource("".join(["Ro", "le"]), "CEO", spec, {"updatedBy": "".join(["a", "@b"])})
    resource.spec["notes"] = long_text
    share_strings([resource])
    assert resource.spec == {
        "type": "Text",
        "values": [{"label": "Yes"}],
        "n": 3,
        "notes": long_text,
    }
    assert resource.spec["type"] is intern("Text")
    assert resource.spec["values"][0]["label"] is intern("Yes")
    assert resource.metadata["updatedBy"] is intern("a@b")
    assert resource.kind is intern("Role")
