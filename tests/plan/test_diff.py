from crmctl.plan.diff import FieldDiff, diff_specs


def test_changed_added_and_removed_keys():
    before = {"label": "Region", "description": "old", "required": False}
    after = {"label": "Sales Region", "required": False, "helpText": "Where"}
    assert diff_specs(before, after) == [
        FieldDiff("label", "Region", "Sales Region", "changed"),
        FieldDiff("description", "old", None, "removed"),
        FieldDiff("helpText", None, "Where", "added"),
    ]


def test_nested_mappings_are_diffed_key_by_key():
    before = {"objects": {"Account": ["read"], "Lead": ["read"]}}
    after = {"objects": {"Account": ["read", "edit"]}}
    assert diff_specs(before, after) == [
        FieldDiff("objects.Account", ["read"], ["read", "edit"], "changed"),
        FieldDiff("objects.Lead", ["read"], None, "removed"),
    ]


def test_picklist_values_are_diffed_by_value_and_order_separately():
    v = lambda value, label=None: {"value": value, "label": label or value}  # noqa: E731
    before = {"values": [v("EMEA"), v("AMER")]}
    after = {"values": [v("AMER", "Americas"), v("EMEA"), v("APAC")]}
    assert diff_specs(before, after) == [
        FieldDiff("values[AMER].label", "AMER", "Americas", "changed"),
        FieldDiff("values[APAC]", None, v("APAC"), "added"),
        FieldDiff("values order", ["EMEA", "AMER"], ["AMER", "EMEA", "APAC"], "changed"),
    ]


def test_plain_lists_are_shown_whole():
    assert diff_specs({"system": ["A"]}, {"system": ["A", "B"]}) == [
        FieldDiff("system", ["A"], ["A", "B"])
    ]


def test_create_and_delete_list_every_top_level_key():
    assert diff_specs(None, {"label": "X", "parent": None}) == [
        FieldDiff("label", None, "X", "added"),
        FieldDiff("parent", None, None, "added"),
    ]
    assert diff_specs({"label": "X"}, None) == [FieldDiff("label", "X", None, "removed")]


def test_equal_specs_have_no_diff():
    assert diff_specs({"a": [1, {"b": 2}]}, {"a": [1, {"b": 2}]}) == []
