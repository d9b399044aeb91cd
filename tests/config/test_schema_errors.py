"""jsonschema errors turned into a sentence and the YAML line of the offending key."""

from __future__ import annotations

import pytest

from crmctl.config.schema_check import describe_path, schema_diagnostics
from crmctl.config.yamlsource import parse_yaml_text


def problems(schema: str, text: str) -> list[tuple[int, str, str | None]]:
    """(line, message, hint) of every schema problem of the one document in `text`."""
    docs, found = parse_yaml_text(text, "f.yaml")
    assert found == []
    return [
        (d.location.line, d.message, d.hint)
        for d in schema_diagnostics(schema, docs[0].data, docs[0].source)
    ]


def role(spec: str, metadata: str = "{name: X}") -> str:
    return f"apiVersion: crmctl/v1\nkind: Role\nmetadata: {metadata}\nspec:\n{spec}"


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ((), "the document"),
        (("spec",), "spec"),
        (("spec", "values", 2, "label"), "spec.values[2].label"),
        ((0, "a"), "[0].a"),
    ],
)
def test_describe_path(path: tuple, text: str) -> None:
    assert describe_path(path) == text


def test_a_valid_document_has_no_problems() -> None:
    assert problems("Role", role("  label: CEO\n  parent: null\n")) == []


def test_unknown_keys_each_with_a_suggestion_or_the_allowed_keys() -> None:
    assert problems("Role", role("  label: X\n  parnet: CEO\n  colour: red\n")) == [
        (6, "spec: unknown key 'parnet'", "did you mean 'parent'?"),
        (7, "spec: unknown key 'colour'", "allowed keys: description, label, parent"),
    ]


def test_every_missing_key_is_named_once() -> None:
    assert problems("Role", "apiVersion: crmctl/v1\nkind: Role\n") == [
        (1, "the document: missing required key 'metadata'", None),
        (1, "the document: missing required key 'spec'", None),
    ]


def test_wrong_type_with_a_quoting_hint() -> None:
    assert problems("Role", role("  label: 2024\n")) == [
        (5, "spec.label must be a string, not a number", "quote the value: '2024'"),
    ]
    assert problems("Role", role("  label: true\n")) == [
        (5, "spec.label must be a string, not a boolean", "quote the value: 'true'"),
    ]
    assert problems(
        "Role", "apiVersion: crmctl/v1\nkind: Role\nmetadata: {name: X}\nspec: [a]\n"
    ) == [
        (4, "spec must be a mapping, not a list", None),
    ]


def test_yes_is_a_string_not_a_boolean() -> None:
    text = "apiVersion: crmctl/v1\nkind: User\nmetadata: {name: a@b.example}\nspec:\n"
    text += "  email: a@b.example\n  lastName: A\n  active: yes\n"
    assert problems("User", text) == [(7, "spec.active must be true or false, not a string", None)]


def test_enum_with_a_suggestion() -> None:
    text = "apiVersion: crmctl/v1\nkind: CustomObject\nmetadata: {name: A__c}\nspec:\n"
    text += "  label: A\n  sharingModel: ReadWrit\n"
    assert problems("CustomObject", text) == [
        (
            6,
            "spec.sharingModel must be one of Private, Read, ReadWrite (got 'ReadWrit')",
            "did you mean 'ReadWrite'?",
        )
    ]


def test_const() -> None:
    text = role("  label: X\n").replace("crmctl/v1", "crmctl/v2")
    assert problems("Role", text) == [(1, "apiVersion must be 'crmctl/v1' (got 'crmctl/v2')", None)]


def test_lengths() -> None:
    assert problems("Role", role("  label: ''\n")) == [(5, "spec.label must not be empty", None)]
    assert problems("Role", role(f"  label: {'x' * 81}\n")) == [
        (5, "spec.label is 81 characters long; at most 80 are allowed", None)
    ]


def test_bounds() -> None:
    text = "apiVersion: crmctl/v1\nkind: CustomField\nmetadata: {name: A.B__c}\nspec:\n"
    text += "  type: Number\n  label: B\n  precision: 19\n  scale: -1\n"
    assert problems("CustomField", text) == [
        (7, "spec.precision must be at most 18 (got 19)", None),
        (8, "spec.scale must be at least 0 (got -1)", None),
    ]


def test_exclusive_minimum_says_more_than() -> None:
    text = "provider:\n  type: sandbox\n  path: x.db\n  timeout: 0\n"
    assert problems("environment", text) == [
        (4, "provider.timeout must be more than 0 (got 0)", None)
    ]


def test_item_counts_and_uniqueness() -> None:
    text = "provider: {type: sandbox, path: x.db}\nmanifests: []\n"
    assert problems("environment", text) == [(2, "manifests needs at least 1 item(s)", None)]
    values = ", ".join(f"v{i}" for i in range(1001))
    text = "apiVersion: crmctl/v1\nkind: CustomField\nmetadata: {name: A.B__c}\nspec:\n"
    text += f"  type: Picklist\n  label: B\n  values: [{values}]\n"
    assert problems("CustomField", text) == [(7, "spec.values has more than 1000 items", None)]
    text = "apiVersion: crmctl/v1\nkind: User\nmetadata: {name: a@b.example}\nspec:\n"
    text += "  email: a@b.example\n  lastName: A\n  permissionSets: [X, Y, X]\n"
    assert problems("User", text) == [(7, "spec.permissionSets lists 'X' more than once", None)]


def test_pattern_with_and_without_a_message() -> None:
    text = "provider:\n  type: salesforce\n  instanceUrl: ftp://crm\n"
    text += "  auth: {method: client_credentials, clientIdEnv: sf-id, clientSecretEnv: SF_SECRET}\n"
    assert problems("environment", text) == [
        (3, "provider.instanceUrl 'ftp://crm' does not match ^https?://", None),
        (
            4,
            "provider.auth.clientIdEnv: must be the NAME of an environment variable "
            "(secrets never go in this file) (got 'sf-id')",
            None,
        ),
    ]


def test_conditional_keys_say_when_they_apply() -> None:
    text = "apiVersion: crmctl/v1\nkind: CustomField\nmetadata: {name: A.B__c}\nspec:\n"
    text += "  type: Checkbox\n  label: B\n  length: 5\n"
    assert problems("CustomField", text) == [
        (7, "spec.length: length applies only to Text, LongTextArea and Html fields", None)
    ]


def test_one_of_uses_its_message() -> None:
    text = "provider:\n  type: sandbox\n"
    assert problems("environment", text) == [
        (
            1,
            "provider: a sandbox provider has either `path` (in-process) or `url` and "
            "`tokenEnv` (over HTTP)",
            None,
        )
    ]


def test_key_names_checked_by_property_names() -> None:
    text = "apiVersion: crmctl/v1\nkind: PermissionSet\nmetadata: {name: P}\nspec:\n"
    text += "  label: P\n  objects:\n    Account: [read]\n    2Account: [read]\n"
    assert problems("PermissionSet", text) == [
        (
            8,
            "spec.objects: key '2Account' must be an object API name such as Account or Invoice__c",
            None,
        )
    ]


def test_problems_come_in_line_order() -> None:
    text = "apiVersion: crmctl/v1\nkind: Role\nmetadata: {name: X, colour: red}\nspec:\n"
    text += "  parent: 1\n  label: ''\n"
    assert [line for line, _, _ in problems("Role", text)] == [3, 5, 6]
