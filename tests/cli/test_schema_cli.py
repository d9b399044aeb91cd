"""`crmctl schema`: the kinds, and self-contained JSON Schemas that editors can use."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from crmctl.config.yamlsource import read_yaml_file
from crmctl.schemas import KINDS

REPO = Path(__file__).resolve().parents[2]


def refs(node: Any) -> list[str]:
    """Every `$ref` value anywhere in a schema."""
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in refs(value)]
    return []


def documents(pattern: str, kind: str | None) -> list[dict]:
    """The YAML documents of the repository's files matching `pattern` (of one kind)."""
    found = []
    for path in sorted(REPO.glob(pattern)):
        docs, problems = read_yaml_file(path)
        assert problems == []
        found += [d.data for d in docs if kind is None or d.data.get("kind") == kind]
    return found


def test_lists_the_kinds(crmctl) -> None:
    r = crmctl("schema")
    assert (r.exit_code, r.err) == (0, "")
    assert r.out == (
        "CustomObject\nGlobalValueSet\nCustomField\nStandardField\nRecordType\n"
        "ValidationRule\nDuplicateRule\nRetentionPolicy\nRole\nPermissionSet\nUser\n"
        "environment\n"
    )


@pytest.mark.parametrize("kind", KINDS)
def test_kind_schema_is_self_contained_and_validates_the_examples(crmctl, kind: str) -> None:
    r = crmctl("schema", kind)
    assert (r.exit_code, r.err) == (0, "")
    schema = json.loads(r.out)
    Draft202012Validator.check_schema(schema)
    assert schema["title"] == kind
    assert refs(schema), "expected the shared definitions to be referenced"
    assert all(ref.startswith("#/$defs/") for ref in refs(schema))
    assert "urn:crmctl:v1:common" not in json.dumps(schema)
    # The example organisation, and the examples of the Salesforce guide (docs/salesforce.md).
    examples = documents("manifests/**/*.yaml", kind) + documents("docs/examples/*.yaml", kind)
    assert examples
    validator = Draft202012Validator(schema)  # no registry: it must resolve on its own
    assert [list(validator.iter_errors(doc)) for doc in examples] == [[] for _ in examples]


def test_custom_field_schema_still_rejects_what_validate_rejects(crmctl) -> None:
    schema = json.loads(crmctl("schema", "CustomField").out)
    document = {
        "apiVersion": "crmctl/v1",
        "kind": "CustomField",
        "metadata": {"name": "Account.Seats__c", "owner": "sales-ops"},
        "spec": {"type": "Number", "label": "Seats", "length": 10, "classification": "Secret"},
    }
    errors = sorted(e.json_path for e in Draft202012Validator(schema).iter_errors(document))
    assert errors == ["$.spec.classification", "$.spec.length"]


def test_environment_schema_validates_the_shipped_environments(crmctl) -> None:
    r = crmctl("schema", "environment")
    assert (r.exit_code, r.err) == (0, "")
    schema = json.loads(r.out)
    Draft202012Validator.check_schema(schema)
    assert all(ref.startswith("#/$defs/") for ref in refs(schema))
    validator = Draft202012Validator(schema)
    environments = documents("environments/*.yaml", None)
    assert len(environments) == 5
    assert [list(validator.iter_errors(env)) for env in environments] == [[], [], [], [], []]
    assert not validator.is_valid({"provider": {"type": "sandbox", "path": "x", "token": "abc"}})


def test_unknown_schema_name(crmctl) -> None:
    r = crmctl("schema", "Workflow")
    assert (r.exit_code, r.out) == (1, "")
    assert r.err.endswith(
        "Error: Invalid value for '[CustomObject|GlobalValueSet|CustomField|StandardField|"
        "RecordType|ValidationRule|DuplicateRule|RetentionPolicy|Role|PermissionSet|User|"
        "environment]': 'Workflow' is not one of 'CustomObject', 'GlobalValueSet', "
        "'CustomField', 'StandardField', 'RecordType', 'ValidationRule', 'DuplicateRule', "
        "'RetentionPolicy', 'Role', 'PermissionSet', 'User', 'environment'.\n"
    )
