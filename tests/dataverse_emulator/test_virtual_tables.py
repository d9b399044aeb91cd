"""aaduser, the virtual table of Microsoft Entra ID users, as raw OData requests from the docs.

Facts: Microsoft Learn power-apps/developer/data-platform/reference/entities/aaduser (table
properties, TableType Virtual), webapi/reference/aaduser (columns) and aaduser-entity ("Only
read and read-multiple operations are possible"; a lookup to it can be added).
"""

from __future__ import annotations

from tests.dataverse_emulator.conftest import Env, label, table_body

LOOKUP = "Microsoft.Dynamics.CRM.LookupAttributeMetadata"


def test_every_environment_has_the_aaduser_virtual_table(dv: Env) -> None:
    table = dv.get(
        "EntityDefinitions(LogicalName='aaduser')?$select=SchemaName,EntitySetName,"
        "LogicalCollectionName,CollectionSchemaName,PrimaryIdAttribute,PrimaryNameAttribute,"
        "TableType,OwnershipType,IsCustomEntity,DisplayName"
    )
    assert table.status_code == 200, table.text
    body = table.json()
    assert {k: body[k] for k in (
        "SchemaName", "EntitySetName", "LogicalCollectionName", "CollectionSchemaName",
        "PrimaryIdAttribute", "PrimaryNameAttribute", "TableType", "OwnershipType",
        "IsCustomEntity")} == {
        "SchemaName": "aaduser", "EntitySetName": "aadusers",
        "LogicalCollectionName": "aadusers", "CollectionSchemaName": "aadusers",
        "PrimaryIdAttribute": "aaduserid", "PrimaryNameAttribute": "displayname",
        "TableType": "Virtual", "OwnershipType": "OrganizationOwned", "IsCustomEntity": False,
    }  # fmt: skip
    assert body["DisplayName"]["UserLocalizedLabel"]["Label"] == "Microsoft Entra ID"
    # Only virtual tables say Virtual: a stored system table is Standard.
    account = dv.get("EntityDefinitions(LogicalName='account')?$select=TableType").json()
    assert account["TableType"] == "Standard"
    virtual = dv.get("EntityDefinitions?$select=LogicalName&$filter=TableType eq 'Virtual'")
    assert [t["LogicalName"] for t in virtual.json()["value"]] == ["aaduser"]
    columns = dv.get(
        "EntityDefinitions(LogicalName='aaduser')/Attributes?$select=LogicalName,AttributeType,"
        "IsPrimaryId,IsPrimaryName,RequiredLevel,IsValidForUpdate"
    ).json()["value"]
    by_name = {c["LogicalName"]: c for c in columns}
    key, name = by_name["aaduserid"], by_name["displayname"]
    assert (key["AttributeType"], key["IsPrimaryId"], key["RequiredLevel"]["Value"],
            key["IsValidForUpdate"]) == ("Uniqueidentifier", True, "SystemRequired", False)  # fmt: skip
    assert (name["AttributeType"], name["IsPrimaryName"]) == ("String", True)
    assert {"surname", "companyname", "usertype", "givenname", "accountenabled"} <= set(by_name)
    assert not {"createdon", "versionnumber", "ownerid"} & set(by_name)


def test_aaduser_rows_are_read_only(dv: Env) -> None:
    rows = dv.get("aadusers?$select=displayname&$filter=surname eq 'Admin'")
    assert rows.status_code == 200, rows.text
    assert rows.json()["value"] == []
    message = (
        "The virtual table aaduser supports only Retrieve and RetrieveMultiple "
        "(its rows come from Microsoft Entra ID through Microsoft Graph)."
    )
    created = dv.post("aadusers", {"displayname": "Ada"})
    assert (created.status_code, created.json()["error"]["message"]) == (400, message)
    some_id = "00000000-0000-0000-0000-000000000001"
    for response in (
        dv.patch(f"aadusers({some_id})", {"displayname": "Ada"}),
        dv.delete(f"aadusers({some_id})"),
    ):
        assert (response.status_code, response.json()["error"]["message"]) == (400, message)
    assert dv.get("aadusers").json()["value"] == []
    column = dv.post("EntityDefinitions(LogicalName='aaduser')/Attributes", {
        "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
        "SchemaName": "new_Nickname", "MaxLength": 100, "DisplayName": label("Nickname")})  # fmt: skip
    assert column.status_code == 400
    assert "does not accept new columns" in column.json()["error"]["message"]


def test_a_lookup_to_aaduser_is_made_with_its_one_to_many_relationship(dv: Env) -> None:
    assert dv.post("EntityDefinitions", table_body("nw_Assignment")).status_code == 204
    created = dv.post("RelationshipDefinitions", {
        "@odata.type": "Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
        "SchemaName": "nw_aaduser_nw_assignment", "ReferencedEntity": "aaduser",
        "ReferencedAttribute": "aaduserid", "ReferencingEntity": "nw_assignment",
        "Lookup": {"@odata.type": LOOKUP, "SchemaName": "nw_Person",
                   "DisplayName": label("Person"), "RequiredLevel": {"Value": "None"}}})  # fmt: skip
    assert created.status_code == 204, created.text
    column = dv.get(
        "EntityDefinitions(LogicalName='nw_assignment')/Attributes(LogicalName='nw_person')/"
        f"{LOOKUP}?$select=Targets,AttributeType"
    ).json()
    assert (column["Targets"], column["AttributeType"]) == (["aaduser"], "Lookup")
    one_to_many = dv.get("EntityDefinitions(LogicalName='aaduser')/OneToManyRelationships").json()
    assert [(r["SchemaName"], r["ReferencingEntity"]) for r in one_to_many["value"]] == [
        ("nw_aaduser_nw_assignment", "nw_assignment")
    ]
    row = dv.post("nw_assignments", {"nw_name": "A-1"})
    assert row.status_code == 204, row.text
    read = dv.get("nw_assignments?$select=nw_name,_nw_person_value").json()["value"]
    assert [(r["nw_name"], r["_nw_person_value"]) for r in read] == [("A-1", None)]
