"""Each provider's limits: every kind has a table, and validate uses the environment's provider."""

from __future__ import annotations

from pathlib import Path

from crmctl.config.environment import load_environment
from crmctl.config.loader import load_desired_state
from crmctl.limits import SANDBOX_LIMITS, limits_for
from crmctl.limits.salesforce import SALESFORCE_LIMITS
from crmctl.schemas import KINDS


def test_every_provider_has_a_table_for_every_kind() -> None:
    assert set(SALESFORCE_LIMITS) == set(KINDS)
    assert set(SANDBOX_LIMITS) == set(KINDS)
    assert limits_for("salesforce") is SALESFORCE_LIMITS
    assert limits_for("sandbox") is SANDBOX_LIMITS


def _messages(project: Path, env: str) -> list[str]:
    state = load_desired_state(load_environment(env, project))
    return [d.render() for d in state.diagnostics]


def test_validate_names_the_provider_whose_limit_is_passed(project: Path) -> None:
    (project / "manifests" / "long.yaml").write_text(
        "apiVersion: crmctl/v1\nkind: Role\nmetadata: {name: " + "R" * 81 + ", owner: hr}\n"
        "spec: {label: Long}\n---\n"
        "apiVersion: crmctl/v1\nkind: ValidationRule\n"
        "metadata: {name: Account." + "V" * 41 + ", owner: sales-ops}\n"
        "spec: {condition: 'ISBLANK(Name)', errorMessage: Name please.}\n"
    )
    role = "the API name " + repr("R" * 40) + "... is 81 characters long"
    assert _messages(project, "prod") == [
        f"manifests/long.yaml:3: Role/{'R' * 81}: metadata.name: {role}; "
        "salesforce allows at most 80 for a Role name",
        f"manifests/long.yaml:8: ValidationRule/Account.{'V' * 41}: metadata.name: the API name "
        f"{'V' * 41!r} is 41 characters long; salesforce allows at most 40 for a "
        "ValidationRule name",
    ]
    assert _messages(project, "local")[0].endswith("sandbox allows at most 80 for a Role name")


def test_a_retention_policy_has_no_salesforce_name_limit(project: Path) -> None:
    # Salesforce has no RetentionPolicy (plans list it as not planned); the sandbox has one.
    (project / "manifests" / "retention.yaml").write_text(
        "apiVersion: crmctl/v1\nkind: RetentionPolicy\n"
        "metadata: {name: " + "K" * 81 + ", owner: legal}\n"
        "spec: {object: Lead, dateField: CreatedDate, retain: P2Y, action: delete,"
        " legalBasis: GDPR}\n"
    )
    assert not [m for m in _messages(project, "prod") if "K" * 81 in m]
    assert [m.partition(": metadata.name: ")[2] for m in _messages(project, "local")] == [
        f"the API name {'K' * 40!r}... is 81 characters long; sandbox allows at most 80 "
        "for a RetentionPolicy name"
    ]
