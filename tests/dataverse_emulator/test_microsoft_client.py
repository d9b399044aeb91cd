"""Microsoft's PowerPlatform-Dataverse-Client drives the emulator: tables, columns, records.

The client was written by Microsoft against real Dataverse; nothing here adapts the emulator
to it. Its credential is any azure-core TokenCredential: this one fetches the token from the
emulator's Entra token endpoint with the client-credentials flow, as an app would.
"""

from __future__ import annotations

import enum
import time
from typing import Any

import pytest
import requests

from tests.dataverse_emulator.conftest import CLIENT_ID, CLIENT_SECRET, TENANT, Env

dataverse = pytest.importorskip("PowerPlatform.Dataverse.client")
credentials = pytest.importorskip("azure.core.credentials")


class EmulatorCredential:
    """An azure-core TokenCredential: client credentials against the emulator's token endpoint."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        self.scopes.append(scopes)
        response = requests.post(
            f"{self.url}/{TENANT}/oauth2/v2.0/token",
            data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
                  "client_secret": CLIENT_SECRET, "scope": " ".join(scopes)},
            timeout=30,
        )  # fmt: skip
        response.raise_for_status()
        body = response.json()
        return credentials.AccessToken(body["access_token"], int(time.time()) + body["expires_in"])


class Stage(enum.IntEnum):
    DRAFT = 100000000
    SENT = 100000001


@pytest.fixture
def client(dv: Env) -> Any:
    credential = EmulatorCredential(dv.url)
    with dataverse.DataverseClient(dv.url, credential) as client:
        yield client
    assert credential.scopes and set(credential.scopes) == {(f"{dv.url}/.default",)}


def test_tables_are_created_read_listed_and_deleted(client: Any, dv: Env) -> None:
    info = client.tables.create(
        "nw_Product",
        {"nw_Price": "decimal", "nw_Quantity": "int", "nw_Notes": "memo", "nw_Active": "bool",
         "nw_Released": "datetime", "nw_Stage": Stage},
        solution="Default",
    )  # fmt: skip
    assert info["table_logical_name"] == "nw_product"
    assert info["entity_set_name"] == "nw_products"
    assert info["primary_name_attribute"] == "nw_name"
    assert info["primary_id_attribute"] == "nw_productid"
    got = client.tables.get("nw_Product")
    assert got is not None and got["entity_set_name"] == "nw_products"
    names = {t["LogicalName"] for t in client.tables.list()}
    assert {"nw_product", "account", "contact"} <= names
    types = dv.get("EntityDefinitions(LogicalName='nw_product')/Attributes?$select=LogicalName,AttributeType"
                   "&$filter=IsCustomAttribute eq true").json()["value"]  # fmt: skip
    assert {t["LogicalName"]: t["AttributeType"] for t in types} == {
        "nw_name": "String", "nw_price": "Decimal", "nw_quantity": "Integer", "nw_notes": "Memo",
        "nw_active": "Boolean", "nw_released": "DateTime", "nw_stage": "Picklist"}  # fmt: skip
    client.tables.delete("nw_Product")
    assert client.tables.get("nw_Product") is None
    assert dv.get("EntityDefinitions(LogicalName='nw_product')").status_code == 404


def test_columns_are_added_and_removed(client: Any, dv: Env) -> None:
    client.tables.create("nw_Order", {"nw_Reference": "string"})
    created = client.tables.add_columns("nw_Order", {"nw_Total": "decimal", "nw_Lines": "int"})
    assert created == ["nw_Total", "nw_Lines"]
    path = "EntityDefinitions(LogicalName='nw_order')/Attributes"
    assert dv.get(f"{path}(LogicalName='nw_total')").json()["Precision"] == 2
    assert client.tables.remove_columns("nw_Order", ["nw_Lines"]) == ["nw_Lines"]
    assert dv.get(f"{path}(LogicalName='nw_lines')").status_code == 404
    with pytest.raises(Exception, match="nw_Missing"):
        client.tables.remove_columns("nw_Order", ["nw_Missing"])


def test_records_round_trip_through_the_client(client: Any, dv: Env) -> None:
    client.tables.create("nw_Product", {"nw_Price": "decimal", "nw_Stage": Stage})
    first = client.records.create("nw_Product", {"nw_Name": "Widget", "nw_Price": 9.5,
                                                 "nw_Stage": "Sent"})  # fmt: skip
    many = client.records.create(
        "nw_Product", [{"nw_Name": f"Part {n}", "nw_Price": n} for n in range(4)]
    )  # noqa: E501
    assert len(many) == 4
    row = client.records.retrieve("nw_Product", first, select=["nw_Name", "nw_Price", "nw_Stage"])
    assert (row["nw_name"], row["nw_price"], row["nw_stage"]) == ("Widget", 9.5, Stage.SENT)
    client.records.update("nw_Product", first, {"nw_Price": 12})
    assert dv.get(f"nw_products({first})?$select=nw_price").json()["nw_price"] == 12
    pages = list(client.records.list_pages("nw_Product", select=["nw_Name"], page_size=2))
    assert [len(list(p)) for p in pages] == [2, 2, 1]
    cheap = client.records.list("nw_Product", filter="nw_price lt 2", select=["nw_Name"])
    assert sorted(r["nw_name"] for r in cheap) == ["Part 0", "Part 1"]
    client.records.delete("nw_Product", first)
    assert dv.get(f"nw_products({first})").status_code == 404
    assert client.records.retrieve("nw_Product", first) is None
    account = client.records.create("account", {"name": "Contoso"})
    assert dv.get(f"accounts({account})?$select=name").json()["name"] == "Contoso"


def test_typed_column_listing_and_bulk_delete_through_the_client(client: Any, dv: Env) -> None:
    client.tables.create("nw_Order", {"nw_Reference": {"type": "string", "max_length": 30},
                                      "nw_Lines": {"type": "int", "min_value": 1, "max_value": 99}})  # fmt: skip
    typed = {c["LogicalName"]: c for c in client.tables.list_columns("nw_Order", typed=True)}
    assert typed["nw_reference"]["MaxLength"] == 30
    assert (typed["nw_lines"]["MinValue"], typed["nw_lines"]["MaxValue"]) == (1, 99)
    ids = client.records.create(
        "nw_Order", [{"nw_Name": f"O{n}", "nw_Lines": n + 1} for n in range(3)]
    )  # noqa: E501
    job = client.records.delete("nw_Order", ids[:2])
    assert job
    for _ in range(2):
        state = dv.get(f"asyncoperations({job})?$select=statecode,statuscode").json()
    assert (state["statecode"], state["statuscode"]) == (3, 30)
    assert [r["nw_name"] for r in client.records.list("nw_Order", select=["nw_Name"])] == ["O2"]
    with pytest.raises(Exception, match="outside the valid range"):
        client.records.create("nw_Order", {"nw_Name": "Too many", "nw_Lines": 500})


def test_a_lookup_field_is_created_through_the_client(client: Any, dv: Env) -> None:
    client.tables.create("nw_Order", {"nw_Reference": "string"})
    info = client.tables.create_lookup_field("nw_Order", "nw_AccountId", "account")
    assert (info.referenced_entity, info.referencing_entity) == ("account", "nw_order")
    found = client.tables.get_relationship(info.relationship_schema_name)
    assert found is not None and found.lookup_schema_name == "nw_AccountId"
    assert found.relationship_id == info.relationship_id
    account = client.records.create("account", {"name": "Contoso"})
    order = client.records.create(
        "nw_Order", {"nw_Name": "O1", "nw_AccountId@odata.bind": f"/accounts({account})"}
    )  # noqa: E501
    row = client.records.retrieve("nw_Order", order, select=["_nw_accountid_value"])
    assert row["_nw_accountid_value"] == account
    client.tables.delete_relationship(info.relationship_id)
    assert client.tables.get_relationship(info.relationship_schema_name) is None


def test_a_users_field_security_profiles_expand_through_the_client(client: Any, dv: Env) -> None:
    # The client has no associate call: the association is made with plain OData, as
    # Microsoft documents it, and read back through the client's $expand.
    user = client.records.create("systemuser", {"domainname": "ada@contoso.com", "lastname": "B"})
    profile = client.records.create("fieldsecurityprofile", {"name": "Finance"})
    ref = {"@odata.id": f"{dv.api}/fieldsecurityprofiles({profile})"}
    assert (
        dv.post(f"systemusers({user})/systemuserprofiles_association/$ref", ref).status_code == 204
    )
    rows = client.records.list(
        "systemuser",
        filter="domainname eq 'ada@contoso.com'",
        select=["domainname"],
        expand=["systemuserprofiles_association($select=name)"],
    )
    assert [[p["name"] for p in r["systemuserprofiles_association"]] for r in rows] == [["Finance"]]
