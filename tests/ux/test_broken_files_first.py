"""A file that fails to parse is reported first, with the errors it causes grouped under it."""

from __future__ import annotations

import json
from pathlib import Path

from crmctl.config.yamlsource import parse_yaml_text
from tests.e2e.helpers import replace_in

AMOUNT = "  label: Amount\n"


def _break_the_amount_field(project: Path) -> int:
    """One over-indented line in the Invoice__c.Amount__c document; returns its line."""
    invoice = project / "manifests" / "objects" / "invoice.yaml"
    replace_in(invoice, AMOUNT, AMOUNT + "   bad: [\n")
    return invoice.read_text().splitlines().index("   bad: [") + 1


def _line(project: Path, file: str, text: str) -> int:
    return (project / file).read_text().splitlines().index(text) + 1


def test_the_broken_file_comes_first_and_what_it_caused_is_grouped_under_it(project: Path, crmctl):
    bad = _break_the_amount_field(project)
    perms = "manifests/access/permission-sets.yaml"
    invoice = "manifests/objects/invoice.yaml"
    grant = _line(project, perms, "    Invoice__c.Amount__c: [read]")
    condition = _line(project, invoice, "  condition: Amount__c <= 0")
    error_field = _line(project, invoice, "  errorField: Amount__c")
    result = crmctl("validate")
    assert (result.exit_code, result.err) == (1, "")
    assert result.out == (
        f"{invoice}:{bad}: invalid YAML: mapping values are not allowed in this context\n"
        "  ... and 3 errors caused by the file above (it declares what they refer to):\n"
        f"    {perms}:{grant}: PermissionSet/Sales_Rep: fields: 'Invoice__c.Amount__c' is not "
        "a field of Invoice__c\n"
        f"    {invoice}:{condition}: ValidationRule/Invoice__c.Positive_Amount: spec.condition: "
        "unknown field Amount__c (formula line 1, column 1)\n"
        f"    {invoice}:{error_field}: ValidationRule/Invoice__c.Positive_Amount: errorField "
        "'Amount__c' is not a field of Invoice__c\n"
        "4 errors in 2 files\n"
    )


def test_plan_lists_them_the_same_way(project: Path, crmctl):
    _break_the_amount_field(project)
    validate = crmctl("validate").out.splitlines()
    plan = crmctl("plan")
    assert plan.exit_code == 1
    assert plan.err.splitlines() == [
        "Error: the manifests have 4 problems; nothing was planned",
        *validate[:-1],
        "hint: fix them and run again (crmctl validate shows the same list)",
    ]


def test_json_names_the_cause(project: Path, crmctl):
    _break_the_amount_field(project)
    report = json.loads(crmctl("validate", "--format", "json").out)
    causes = [(d["code"], d.get("causedBy")) for d in report["diagnostics"]]
    assert causes == [
        ("yaml-syntax", None),
        ("reference", "manifests/objects/invoice.yaml"),
        ("formula", "manifests/objects/invoice.yaml"),
        ("reference", "manifests/objects/invoice.yaml"),
    ]


def test_documents_after_a_broken_one_are_still_read() -> None:
    docs, problems = parse_yaml_text("a: 1\n---\nb: [1, 2\nc: 3\n---\nd: 4\n---\ne: 5\n", "f.yaml")
    assert [d.data for d in docs] == [{"a": 1}, {"d": 4}, {"e": 5}]
    assert [d.source.start_line for d in docs] == [1, 6, 8]
    assert [(p.message, p.location.line) for p in problems] == [
        (
            "invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence "
            "on line 3)",
            4,
        )
    ]


def test_a_duplicate_key_loses_only_its_own_document() -> None:
    docs, problems = parse_yaml_text("a: 1\na: 2\n---\nb: 1\n", "f.yaml")
    assert [d.data for d in docs] == [{"b": 1}]
    assert [(p.message, p.location.line) for p in problems] == [
        ("duplicate key 'a' (first defined on line 1)", 2)
    ]


def test_without_a_later_document_the_rest_of_the_file_is_lost() -> None:
    docs, problems = parse_yaml_text("a: 1\n---\nb: [1, 2\nc: 3\n", "f.yaml")
    assert [d.data for d in docs] == [{"a": 1}]
    assert len(problems) == 1
