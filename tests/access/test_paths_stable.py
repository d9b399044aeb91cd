"""A user's granting paths do not depend on who else is in the report (or in what order)."""

from __future__ import annotations

from pathlib import Path

from crmctl.access.query import AccessQuery, effective_access, manifest_items
from crmctl.config.environment import load_environment
from tests.testing.conftest import edit

CHLOE = "chloe.martin@northwind.example"
AMARA = "amara.okafor@northwind.example"  # Data_Steward only


def test_paths_are_the_same_alone_and_among_others(project: Path) -> None:
    edit(
        project / "manifests" / "access" / "users.yaml",
        "  permissionSets: [Marketing]",
        "  permissionSets: [Marketing, Data_Steward]",
    )
    items = manifest_items(load_environment("local", project))

    def paths(users: list[str] | None) -> dict[tuple[str, str], dict[str, tuple[str, ...]]]:
        report = effective_access(items, AccessQuery(users=users, fields=["Contact.*"]))
        return {(g.user, g.target.name): g.paths() for g in report.grants if g.user == CHLOE}

    alone = paths([CHLOE])
    # Amara (sorted before Chloé) holds Data_Steward alone: her paths are computed first.
    assert paths(None) == alone == paths([AMARA, CHLOE])
    assert alone[(CHLOE, "Contact.Date_Of_Birth__c")] == {"read": ("Data_Steward", "Marketing")}
    assert alone[(CHLOE, "Contact.Personal_Mobile__c")] == {
        "read": ("Data_Steward", "Marketing"),
        "edit": ("Data_Steward",),
    }
