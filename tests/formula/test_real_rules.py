"""Every validation rule of the real SFDX projects parses, checks and runs.

The projects live outside the repository (../shared/data/sfdx); without them
these tests skip locally and fail in CI.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from crmctl.formula import EvalContext, Node, check, evaluate, parse
from tests.conftest import SHARED_SFDX

SFDX = SHARED_SFDX
METADATA = "{http://soap.sforce.com/2006/04/metadata}"
# Counted by hand from the checked-out projects; dreamhouse has no validation rules.
EXPECTED_RULES = {"navikt-crm-arbeidsgiver-base": 38, "dreamhouse-lwc": 0}
RULE_FILES = sorted(SFDX.rglob("*.validationRule-meta.xml")) if SFDX.is_dir() else []

pytestmark = pytest.mark.usefixtures("shared_sfdx")


def rule_id(path: Path) -> str:
    """`Object/Rule` (the file name alone repeats across objects)."""
    return f"{path.parent.parent.name}/{path.name.removesuffix('.validationRule-meta.xml')}"


def formula_of(path: Path) -> str:
    formula = ET.parse(path).getroot().find(f"{METADATA}errorConditionFormula")
    assert formula is not None and formula.text, f"{path} has no errorConditionFormula"
    return formula.text


def rule(obj: str, name: str) -> Node:
    objects = SFDX / "navikt-crm-arbeidsgiver-base" / "force-app" / "main" / "default" / "objects"
    return parse(formula_of(objects / obj / "validationRules" / f"{name}.validationRule-meta.xml"))


def test_rule_count_per_project() -> None:
    counts = {project: 0 for project in EXPECTED_RULES}
    for path in RULE_FILES:
        counts[path.relative_to(SFDX).parts[0]] += 1
    assert counts == EXPECTED_RULES
    assert len(RULE_FILES) == 38


@pytest.mark.parametrize("path", RULE_FILES, ids=rule_id)
def test_rule_parses_checks_and_runs(path: Path) -> None:
    node = parse(formula_of(path))
    assert check(node, lambda parts: "") == []
    # A blank record must not crash any rule: blanks are a normal input.
    result = evaluate(node, EvalContext(record={}, is_new=True))
    assert isinstance(result, bool)


def related(values: dict[tuple[str, ...], Any]) -> Any:
    return lambda parts: values.get(parts)


@pytest.mark.parametrize(
    ("category", "is_error"),
    [("", True), ("Strategisk partneravtale", False)],
)
def test_missing_category_rule(category: str, is_error: bool) -> None:
    node = rule("Contract__c", "Missing_field_Category")
    context = EvalContext(
        record={"TAG_Status__c": "Godkjent", "TAG_Category__c": category},
        is_new=True,
        related=related({("RecordType", "DeveloperName"): "EmployerAgreement"}),
    )
    assert evaluate(node, context) is is_error


@pytest.mark.parametrize(
    ("start", "end", "is_error"),
    [
        (date(2024, 7, 1), date(2025, 7, 1), False),  # future start: start + 12 months
        (date(2024, 7, 1), date(2025, 7, 2), True),
        (date(2024, 1, 1), date(2025, 5, 6), False),  # past start: today + 12 months
        (date(2024, 1, 1), date(2025, 5, 7), True),
    ],
)
def test_agreement_period_rule(start: date, end: date, is_error: bool) -> None:
    node = rule("Contract__c", "Too_long_agreement_period")
    context = EvalContext(
        record={"TAG_StartDate__c": start.isoformat(), "TAG_EndDate__c": end.isoformat()},
        is_new=True,
        now=datetime(2024, 5, 6, 12, tzinfo=UTC),
        field_types={"TAG_StartDate__c": "Date", "TAG_EndDate__c": "Date"},
        related=related({("RecordType", "DeveloperName"): "EmployerAgreement"}),
    )
    assert evaluate(node, context) is is_error


@pytest.mark.parametrize(
    ("prior", "record", "is_error"),
    [
        ({"TAG_Status__c": "Fullført"}, {"TAG_Status__c": "Ny"}, True),  # reopened
        ({"TAG_Status__c": "Ny"}, {"TAG_Status__c": "Fullført"}, False),  # closed
        (
            {"TAG_Status__c": "Fullført", "TAG_ClosingComment__c": "a"},
            {"TAG_Status__c": "Fullført", "TAG_ClosingComment__c": "b"},
            True,  # edited after closing
        ),
    ],
)
def test_lock_for_update_rule(
    prior: dict[str, Any], record: dict[str, Any], is_error: bool
) -> None:
    node = rule("EmployerInquiry__c", "LockForUpdate")
    assert evaluate(node, EvalContext(record=record, prior=prior)) is is_error


def test_lock_for_update_rule_respects_the_permission() -> None:
    node = rule("EmployerInquiry__c", "LockForUpdate")
    context = EvalContext(
        record={"TAG_Status__c": "Fullført", "TAG_ClosedReason__c": "Annet"},
        prior={"TAG_Status__c": "Fullført", "TAG_ClosedReason__c": "Løst"},
        globals={"$Permission.Arbeidsgiver_Endre_fullf_rt_henvendelse": True},
    )
    assert evaluate(node, context) is False


@pytest.mark.parametrize(
    ("title", "is_error"),
    [("Hovedtillitsvalgt", True), ("HTV", True), ("Daglig leder", False), (None, False)],
)
def test_union_representative_title_rule(title: str | None, is_error: bool) -> None:
    node = rule("Contact", "unionRepresentativeNotAllowedInTitle")
    context = EvalContext(
        record={"Title": title, "Account": {"RecordType": {"DeveloperName": "Employer"}}},
        is_new=True,
    )
    assert evaluate(node, context) is is_error
