"""The Salesforce CLI (`sf`, pinned in tests/clients/package.json) against the emulator.

One emulator and one login for the module: `sf` takes seconds to start.
"""

from __future__ import annotations

import pytest

from crmctl.sandbox.salesforce.oauth import ORG_ID
from crmctl.sandbox.salesforce.sobjects import sf_id
from tests.clients.conftest import Sf
from tests.salesforce_org import ADMIN

# One worker runs this module (`--dist loadgroup`), so the module's login happens once a run.
pytestmark = pytest.mark.xdist_group("sf-cli")


def test_login_with_an_access_token_over_http_then_display(sf: Sf) -> None:
    # The fixture logged in (`sf org login access-token --instance-url http://…`).
    shown = sf.run("org", "display", "--target-org", sf.alias)["result"]
    assert shown["username"] == ADMIN
    assert shown["id"] == ORG_ID
    assert shown["connectedStatus"] == "Connected"
    assert shown["instanceUrl"].rstrip("/") == sf.org.url
    assert shown["apiVersion"] == "62.0"  # the newest version /services/data lists


def test_data_query_returns_rows(sf: Sf) -> None:
    sf.org.store.put_config("Role", "CEO", {"label": "Chief Executive"}, "tests")
    answer = sf.run(
        "data", "query", "--target-org", sf.alias,
        "--query", "SELECT Id, Name, DeveloperName FROM UserRole WHERE DeveloperName = 'CEO'",
    )["result"]  # fmt: skip
    assert answer["totalSize"] == 1
    [row] = answer["records"]
    assert (row["Id"], row["Name"], row["DeveloperName"]) == (
        sf_id("UserRole", "CEO"), "Chief Executive", "CEO",
    )  # fmt: skip
    # The human output asks for the query's columns first (`columns=true`).
    table = sf.run(
        "data", "query", "--target-org", sf.alias, "--result-format", "csv",
        "--query", "SELECT Name, OrganizationType FROM Organization",
    )["result"]  # fmt: skip
    assert [(r["Name"], r["OrganizationType"]) for r in table["records"]] == [
        ("crmctl sandbox", "Developer Edition")
    ]


def test_org_list_metadata(sf: Sf) -> None:
    sf.org.store.batch(
        [{"op": "put", "kind": "CustomObject", "name": "Ticket__c", "spec": {"label": "Ticket"}},
         {"op": "put", "kind": "CustomField", "name": "Ticket__c.Note__c",
          "spec": {"type": "Text", "label": "Note", "length": 80}}],
        "tests",
    )  # fmt: skip
    fields = sf.run(
        "org", "list", "metadata", "--target-org", sf.alias, "--metadata-type", "CustomField"
    )["result"]
    assert [(f["type"], f["fullName"], f["fileName"]) for f in fields] == [
        ("CustomField", "Ticket__c.Note__c", "objects/Ticket__c.object")
    ]
    objects = sf.run(
        "org", "list", "metadata", "--target-org", sf.alias, "--metadata-type", "CustomObject"
    )["result"]
    names = {o["fullName"] for o in objects}
    assert "Ticket__c" in names and {"Account", "Contact"} <= names
    refused = sf.run(
        "org", "list", "metadata", "--target-org", sf.alias, "--metadata-type", "ApexClass"
    )["result"]
    assert refused == []
