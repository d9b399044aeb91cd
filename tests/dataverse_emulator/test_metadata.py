"""Tables, columns, choices and publishing, as raw OData requests written from Microsoft's docs."""

from __future__ import annotations

from typing import Any

from tests.dataverse_emulator.conftest import Env, label, table_body

STRING = "Microsoft.Dynamics.CRM.StringAttributeMetadata"
PICKLIST = "Microsoft.Dynamics.CRM.PicklistAttributeMetadata"


def _column(dv: Env, table: str, body: dict[str, Any], **headers: str) -> str:
    response = dv.post(
        f"EntityDefinitions(LogicalName='{table}')/Attributes", body, headers=headers
    )
    assert response.status_code == 204, response.text
    return response.headers["OData-EntityId"]


def _text(schema: str, length: int = 100) -> dict[str, Any]:
    return {"@odata.type": STRING, "SchemaName": schema, "MaxLength": length,
            "FormatName": {"Value": "Text"}, "DisplayName": label(schema.split("_")[-1]),
            "RequiredLevel": {"Value": "None"}}  # fmt: skip


def test_a_table_is_created_with_its_primary_name_column(dv: Env) -> None:
    response = dv.post("EntityDefinitions", table_body("nw_Invoice"))
    assert response.status_code == 204
    assert response.headers["OData-EntityId"].startswith(f"{dv.api}/EntityDefinitions(")
    found = dv.get(
        "EntityDefinitions?$select=LogicalName,EntitySetName,PrimaryIdAttribute,"
        "PrimaryNameAttribute,IsCustomEntity&$filter=LogicalName eq 'nw_invoice'"
    ).json()["value"]
    assert len(found) == 1
    table = found[0]
    assert table["EntitySetName"] == "nw_invoices"
    assert table["PrimaryIdAttribute"] == "nw_invoiceid"
    assert table["PrimaryNameAttribute"] == "nw_name"
    assert table["IsCustomEntity"] is True
    assert set(table) == {"MetadataId", "LogicalName", "EntitySetName", "PrimaryIdAttribute",
                          "PrimaryNameAttribute", "IsCustomEntity"}  # fmt: skip
    privileges = dv.get("privileges?$filter=startswith(name,'prv') and endswith(name,'nw_Invoice')")
    assert sorted(p["name"] for p in privileges.json()["value"]) == sorted(
        f"prv{v}nw_Invoice"
        for v in ("Create", "Read", "Write", "Delete", "Append", "AppendTo", "Assign", "Share")
    )


def test_a_table_without_a_primary_name_or_prefix_is_refused(dv: Env) -> None:
    body = table_body("nw_Bare")
    body["Attributes"] = []
    response = dv.post("EntityDefinitions", body)
    assert response.status_code == 400
    assert "exactly one StringAttributeMetadata" in response.json()["error"]["message"]
    unprefixed = dv.post("EntityDefinitions", table_body("Invoice"))
    assert unprefixed.status_code == 400
    assert "customization prefix" in unprefixed.json()["error"]["message"]
    twice = [dv.post("EntityDefinitions", table_body("nw_Twice")) for _ in range(2)]
    assert twice[1].status_code == 400 and twice[1].json()["error"]["code"] == "0x80040237"


def test_expand_attributes_gives_base_properties_and_a_cast_gives_the_derived_ones(dv: Env) -> None:
    dv.post("EntityDefinitions", table_body("nw_Invoice"))
    _column(dv, "nw_invoice", _text("nw_Reference", 40))
    expanded = dv.get(
        "EntityDefinitions(LogicalName='nw_invoice')?$select=LogicalName"
        "&$expand=Attributes($select=LogicalName,MaxLength;$filter=LogicalName eq 'nw_reference')"
    ).json()
    assert expanded["Attributes"] == [{
        "@odata.type": "#Microsoft.Dynamics.CRM.StringAttributeMetadata",
        "MetadataId": expanded["Attributes"][0]["MetadataId"], "LogicalName": "nw_reference"}]  # fmt: skip
    cast = dv.get(
        "EntityDefinitions(LogicalName='nw_invoice')/Attributes/"
        "Microsoft.Dynamics.CRM.StringAttributeMetadata?$select=LogicalName,MaxLength"
    ).json()["value"]
    assert {"LogicalName": "nw_reference", "MaxLength": 40}.items() <= {
        k: v for c in cast if c["LogicalName"] == "nw_reference" for k, v in c.items()
    }.items()
    one = dv.get(
        "EntityDefinitions(LogicalName='nw_invoice')/Attributes(LogicalName='nw_reference')"
    )
    assert one.json()["MaxLength"] == 40 and one.json()["AttributeType"] == "String"


def test_metadata_is_updated_by_put_only_and_labels_wait_for_publish(dv: Env) -> None:
    dv.post("EntityDefinitions", table_body("nw_Invoice"))
    path = "EntityDefinitions(LogicalName='nw_invoice')"
    patched = dv.patch(path, {"DisplayName": label("Bill")})
    assert patched.status_code == 405
    assert "PUT" in patched.json()["error"]["message"]
    definition = dv.get(path).json()
    definition["DisplayName"] = label("Facture", 1036)
    assert dv.put(path, definition, headers={"MSCRM.MergeLabels": "true"}).status_code == 204
    before = dv.get(f"{path}?$select=DisplayName").json()["DisplayName"]["LocalizedLabels"]
    assert [(x["Label"], x["LanguageCode"]) for x in before] == [("Invoice", 1033)]
    published = dv.post("PublishXml", {"ParameterXml": "<importexportxml><entities>"
                                       "<entity>nw_invoice</entity></entities></importexportxml>"})  # fmt: skip
    assert published.status_code == 204
    after = dv.get(f"{path}?$select=DisplayName").json()["DisplayName"]["LocalizedLabels"]
    assert [(x["Label"], x["LanguageCode"]) for x in after] == [
        ("Invoice", 1033),
        ("Facture", 1036),
    ]
    definition = dv.get(path).json()
    definition["DisplayName"] = label("Bill")
    assert dv.put(path, definition).status_code == 204  # no MergeLabels: other languages go
    dv.post("PublishAllXml", {})
    final = dv.get(f"{path}?$select=DisplayName").json()["DisplayName"]["LocalizedLabels"]
    assert [(x["Label"], x["LanguageCode"]) for x in final] == [("Bill", 1033)]


def test_a_column_type_cannot_change_but_text_can_become_autonumber(dv: Env) -> None:
    dv.post("EntityDefinitions", table_body("nw_Invoice"))
    _column(dv, "nw_invoice", _text("nw_Reference"))
    path = "EntityDefinitions(LogicalName='nw_invoice')/Attributes(LogicalName='nw_reference')"
    memo = {**dv.get(f"{path}/{STRING}").json(),
            "@odata.type": "Microsoft.Dynamics.CRM.MemoAttributeMetadata"}  # fmt: skip
    refused = dv.put(path, memo)
    assert refused.status_code == 400
    assert "cannot be changed: it is StringAttributeMetadata" in refused.json()["error"]["message"]
    auto = {**dv.get(f"{path}/{STRING}").json(), "AutoNumberFormat": "INV-{SEQNUM:5}",
            "MaxLength": 120}  # fmt: skip
    assert dv.put(path, auto).status_code == 204
    read = dv.get(f"{path}/{STRING}?$select=AutoNumberFormat,MaxLength").json()
    assert (read["AutoNumberFormat"], read["MaxLength"]) == ("INV-{SEQNUM:5}", 120)


def test_local_options_change_only_through_the_option_actions(dv: Env) -> None:
    dv.post("EntityDefinitions", table_body("nw_Invoice"))
    _column(dv, "nw_invoice", {
        "@odata.type": PICKLIST, "SchemaName": "nw_Stage", "DisplayName": label("Stage"),
        "RequiredLevel": {"Value": "None"},
        "OptionSet": {"@odata.type": "Microsoft.Dynamics.CRM.OptionSetMetadata", "IsGlobal": False,
                      "OptionSetType": "Picklist",
                      "Options": [{"Value": 100000000, "Label": label("Draft")},
                                  {"Value": 100000001, "Label": label("Sent")}]}})  # fmt: skip
    target = {"EntityLogicalName": "nw_invoice", "AttributeLogicalName": "nw_stage"}
    inserted = dv.post("InsertOptionValue", {**target, "Label": label("Paid")})
    assert inserted.status_code == 200
    assert inserted.json()["NewOptionValue"] == 100000002
    assert dv.post("UpdateOptionValue", {**target, "Value": 100000001, "Label": label("Posted"),
                                         "MergeLabels": True}).status_code == 204  # fmt: skip
    assert (
        dv.post("OrderOption", {**target, "Values": [100000002, 100000000, 100000001]}).status_code
        == 204
    )  # noqa: E501
    assert dv.post("DeleteOptionValue", {**target, "Value": 100000000}).status_code == 204
    read = dv.get("EntityDefinitions(LogicalName='nw_invoice')/Attributes(LogicalName='nw_stage')/"
                  f"{PICKLIST}?$select=LogicalName&$expand=OptionSet($select=Options)").json()  # fmt: skip
    options = [
        (o["Value"], o["Label"]["UserLocalizedLabel"]["Label"])
        for o in read["OptionSet"]["Options"]
    ]  # noqa: E501
    assert options == [(100000002, "Paid"), (100000001, "Posted")]
    bad_order = dv.post("OrderOption", {**target, "Values": [100000002]})
    assert bad_order.status_code == 400


def test_global_choice_bound_to_a_column_blocks_its_delete(dv: Env) -> None:
    created = dv.post("GlobalOptionSetDefinitions", {
        "@odata.type": "Microsoft.Dynamics.CRM.OptionSetMetadata", "Name": "nw_region",
        "DisplayName": label("Region"), "IsGlobal": True, "OptionSetType": "Picklist",
        "Options": [{"Value": None, "Label": label("North")},
                    {"Value": None, "Label": label("South")}]},
        headers={"MSCRM.SolutionUniqueName": "Default"})  # fmt: skip
    assert created.status_code == 204
    set_id = created.headers["OData-EntityId"].rpartition("(")[2].rstrip(")")
    base = dv.get("GlobalOptionSetDefinitions(Name='nw_region')").json()
    assert "Options" not in base and base["Name"] == "nw_region"
    cast = dv.get("GlobalOptionSetDefinitions(Name='nw_region')/"
                  "Microsoft.Dynamics.CRM.OptionSetMetadata").json()  # fmt: skip
    assert [o["Value"] for o in cast["Options"]] == [100000000, 100000001]
    dv.post("EntityDefinitions", table_body("nw_Invoice"))
    _column(dv, "nw_invoice", {
        "@odata.type": PICKLIST, "SchemaName": "nw_Region", "DisplayName": label("Region"),
        "GlobalOptionSet@odata.bind": f"/GlobalOptionSetDefinitions({set_id})"})  # fmt: skip
    deps = dv.get(
        f"RetrieveDependenciesForDelete(ObjectId=@p1,ComponentType=@p2)?@p1={set_id}&@p2=9"
    )
    assert deps.status_code == 200
    assert [d["dependentcomponenttype"] for d in deps.json()["value"]] == [2]
    refused = dv.delete("GlobalOptionSetDefinitions(Name='nw_region')")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "0x8004F01F"
    assert "referenced by 1 other components" in refused.json()["error"]["message"]
    assert (
        dv.post("InsertOptionValue", {"OptionSetName": "nw_region", "Label": label("East")}).json()[
            "NewOptionValue"
        ]
        == 100000002
    )  # noqa: E501
    column = dv.get("EntityDefinitions(LogicalName='nw_invoice')/Attributes(LogicalName='nw_region')/"
                    f"{PICKLIST}?$expand=GlobalOptionSet($select=Name,Options)").json()  # fmt: skip
    assert column["GlobalOptionSet"]["Name"] == "nw_region"
    assert len(column["GlobalOptionSet"]["Options"]) == 3
    components = dv.get(f"solutioncomponents?$filter=objectid eq {set_id}").json()["value"]
    assert [c["componenttype"] for c in components] == [9]


def test_a_table_referenced_by_a_lookup_or_rule_is_not_deleted(dv: Env) -> None:
    dv.post("EntityDefinitions", table_body("nw_Invoice"))
    table_id = dv.get("EntityDefinitions(LogicalName='nw_invoice')?$select=MetadataId").json()[
        "MetadataId"
    ]  # noqa: E501
    rule = dv.post("duplicaterules", {"name": "Same name", "baseentityname": "nw_invoice"})
    assert rule.status_code == 204
    deps = dv.get(f"RetrieveDependenciesForDelete(ObjectId={table_id},ComponentType=1)").json()[
        "value"
    ]  # noqa: E501
    assert [d["dependentcomponenttype"] for d in deps] == [44]
    refused = dv.delete(f"EntityDefinitions({table_id})")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "0x8004F01F"
    assert dv.delete(rule.headers["OData-EntityId"].split("/api/data/v9.2/")[1]).status_code == 204
    assert dv.delete(f"EntityDefinitions({table_id})").status_code == 204
    gone = dv.get("EntityDefinitions(LogicalName='nw_invoice')")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "0x80040217"
    assert dv.get("privileges?$filter=endswith(name,'nw_Invoice')").json()["value"] == []


def test_solution_header_records_components_and_an_unknown_solution_is_refused(dv: Env) -> None:
    headers = {"MSCRM.SolutionUniqueName": "Default"}
    assert (
        dv.post("EntityDefinitions", table_body("nw_Invoice"), headers=headers).status_code == 204
    )
    kinds = sorted(c["componenttype"] for c in dv.get("solutioncomponents").json()["value"])
    assert kinds == [1, 2]  # the table and its primary name column
    missing = dv.post("EntityDefinitions", table_body("nw_Other"),
                      headers={"MSCRM.SolutionUniqueName": "NoSuchSolution"})  # fmt: skip
    assert missing.status_code == 404
    assert dv.get("EntityDefinitions(LogicalName='nw_other')").status_code == 404


def test_retrieve_metadata_changes_reads_typed_columns_in_one_request_and_gives_deltas(
    dv: Env,
) -> None:  # noqa: E501
    import json

    dv.post("EntityDefinitions", table_body("nw_Invoice"))
    _column(dv, "nw_invoice", _text("nw_Reference", 40))
    query = {
        "Criteria": {"FilterOperator": "And", "Conditions": [{
            "PropertyName": "IsCustomEntity", "ConditionOperator": "Equals",
            "Value": {"Type": "System.Boolean", "Value": True}}]},
        "Properties": {"AllProperties": False, "PropertyNames": ["LogicalName", "Attributes"]},
        "AttributeQuery": {"Properties": {"AllProperties": False,
                                          "PropertyNames": ["LogicalName", "MaxLength"]}},
    }  # fmt: skip
    first = dv.get("RetrieveMetadataChanges(Query=@p1)", params={"@p1": json.dumps(query)})
    assert first.status_code == 200, first.text
    body = first.json()
    assert [e["LogicalName"] for e in body["EntityMetadata"]] == ["nw_invoice"]
    columns = {
        a["LogicalName"]: a.get("MaxLength") for a in body["EntityMetadata"][0]["Attributes"]
    }
    assert columns["nw_reference"] == 40 and columns["nw_name"] == 100
    stamp = body["ServerVersionStamp"]
    unchanged = dv.get("RetrieveMetadataChanges(Query=@p1,ClientVersionStamp=@p2)",
                       params={"@p1": json.dumps(query), "@p2": f"'{stamp}'"}).json()  # fmt: skip
    assert unchanged["EntityMetadata"] == []
    dv.post("EntityDefinitions", table_body("nw_Payment"))
    table_id = dv.get("EntityDefinitions(LogicalName='nw_invoice')?$select=MetadataId").json()[
        "MetadataId"
    ]  # noqa: E501
    dv.delete(f"EntityDefinitions({table_id})")
    delta = dv.get(
        "RetrieveMetadataChanges(Query=@p1,ClientVersionStamp=@p2,DeletedMetadataFilters=@p3)",
        params={"@p1": json.dumps(query), "@p2": f"'{stamp}'",
                "@p3": "Microsoft.Dynamics.CRM.DeletedMetadataFilters'Entity'"},
    ).json()  # fmt: skip
    assert [e["LogicalName"] for e in delta["EntityMetadata"]] == ["nw_payment"]
    assert delta["DeletedMetadata"]["Values"] == [[table_id]]


def test_a_lookup_comes_with_its_one_to_many_relationship(dv: Env) -> None:
    dv.post("EntityDefinitions", table_body("nw_Invoice"))
    lookup_only = dv.post("EntityDefinitions(LogicalName='nw_invoice')/Attributes", {
        "@odata.type": "Microsoft.Dynamics.CRM.LookupAttributeMetadata",
        "SchemaName": "nw_AccountId", "DisplayName": label("Account")})  # fmt: skip
    assert lookup_only.status_code == 400 and "RelationshipDefinitions" in lookup_only.text
    created = dv.post("RelationshipDefinitions", {
        "@odata.type": "Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
        "SchemaName": "nw_account_nw_invoice", "ReferencedEntity": "account",
        "ReferencedAttribute": "accountid", "ReferencingEntity": "nw_invoice",
        "Lookup": {"@odata.type": "Microsoft.Dynamics.CRM.LookupAttributeMetadata",
                   "SchemaName": "nw_AccountId", "DisplayName": label("Account"),
                   "RequiredLevel": {"Value": "None"}}},
        headers={"MSCRM.SolutionUniqueName": "Default"})  # fmt: skip
    assert created.status_code == 204, created.text
    column = dv.get("EntityDefinitions(LogicalName='nw_invoice')/Attributes(LogicalName='nw_accountid')/"
                    "Microsoft.Dynamics.CRM.LookupAttributeMetadata?$select=Targets,AttributeType").json()  # fmt: skip
    assert (column["Targets"], column["AttributeType"]) == (["account"], "Lookup")
    many_to_one = dv.get(
        "EntityDefinitions(LogicalName='nw_invoice')/ManyToOneRelationships"
    ).json()
    assert [r["ReferencedEntity"] for r in many_to_one["value"]] == ["account"]
    account = dv.post("accounts", {"name": "Contoso"}).headers["OData-EntityId"]
    invoice = dv.post("nw_invoices", {"nw_name": "INV-1",
                                      "nw_AccountId@odata.bind": account.split("v9.2")[1]})  # fmt: skip
    assert invoice.status_code == 204, invoice.text
    row = dv.get("nw_invoices?$select=_nw_accountid_value").json()["value"][0]
    assert row["_nw_accountid_value"] == account.rpartition("(")[2].rstrip(")")
    account_table = dv.get("EntityDefinitions(LogicalName='account')?$select=MetadataId").json()
    refused = dv.delete(
        "EntityDefinitions(LogicalName='nw_invoice')/Attributes(LogicalName='nw_name')"
    )
    assert refused.status_code == 400
    deps = dv.get(
        f"RetrieveDependenciesForDelete(ObjectId={account_table['MetadataId']},ComponentType=1)"
    )  # noqa: E501
    assert [d["dependentcomponenttype"] for d in deps.json()["value"]] == [2]
    rel_id = created.headers["OData-EntityId"].rpartition("(")[2].rstrip(")")
    assert dv.delete(f"RelationshipDefinitions({rel_id})").status_code == 204
    gone = dv.get(
        "EntityDefinitions(LogicalName='nw_invoice')/Attributes(LogicalName='nw_accountid')"
    )
    assert gone.status_code == 404
    assert dv.get("RelationshipDefinitions(SchemaName='nw_account_nw_invoice')").status_code == 404


def test_a_solution_of_its_own_publisher_prefixes_new_option_values(dv: Env) -> None:
    publisher = dv.post("publishers", {"uniquename": "Northwind", "friendlyname": "Northwind",
                                       "customizationprefix": "nw",
                                       "customizationoptionvalueprefix": 41230})  # fmt: skip
    assert publisher.status_code == 204
    solution = dv.post("solutions", {
        "uniquename": "NorthwindCrm", "friendlyname": "Northwind CRM", "version": "1.0.0.0",
        "publisherid@odata.bind": publisher.headers["OData-EntityId"].split("v9.2")[1]})  # fmt: skip
    assert solution.status_code == 204
    headers = {"MSCRM.SolutionUniqueName": "NorthwindCrm"}
    assert (
        dv.post("EntityDefinitions", table_body("nw_Invoice"), headers=headers).status_code == 204
    )
    _column(dv, "nw_invoice", {
        "@odata.type": PICKLIST, "SchemaName": "nw_Stage", "DisplayName": label("Stage"),
        "OptionSet": {"IsGlobal": False, "Options": [{"Value": None, "Label": label("Draft")}]}},
        **headers)  # fmt: skip
    inserted = dv.post("InsertOptionValue", {"EntityLogicalName": "nw_invoice",
                                             "AttributeLogicalName": "nw_stage",
                                             "Label": label("Sent"),
                                             "SolutionUniqueName": "NorthwindCrm"})  # fmt: skip
    assert inserted.json()["NewOptionValue"] == 412300001
    solution_id = solution.headers["OData-EntityId"].rpartition("(")[2].rstrip(")")
    components = dv.get(f"solutioncomponents?$filter=_solutionid_value eq {solution_id}").json()
    assert sorted(c["componenttype"] for c in components["value"]) == [
        1,
        2,
        2,
    ]  # a local choice is its column's


def test_a_column_put_keeps_its_options_and_sets_the_default_option(dv: Env) -> None:
    dv.post("EntityDefinitions", table_body("nw_Invoice"))
    _column(dv, "nw_invoice", {
        "@odata.type": PICKLIST, "SchemaName": "nw_Stage", "DisplayName": label("Stage"),
        "RequiredLevel": {"Value": "None"},
        "OptionSet": {"@odata.type": "Microsoft.Dynamics.CRM.OptionSetMetadata", "IsGlobal": False,
                      "OptionSetType": "Picklist",
                      "Options": [{"Value": 100000000, "Label": label("Draft")},
                                  {"Value": 100000001, "Label": label("Sent")}]}})  # fmt: skip
    path = "EntityDefinitions(LogicalName='nw_invoice')/Attributes(LogicalName='nw_stage')"
    read = f"{path}/{PICKLIST}?$select=DefaultFormValue,RequiredLevel&$expand=OptionSet"

    def options() -> list[int]:
        return [o["Value"] for o in dv.get(read).json()["OptionSet"]["Options"]]

    # The full definition as read back (no OptionSet: it comes only with $expand), changed.
    definition = dv.get(f"{path}/{PICKLIST}").json()
    assert "OptionSet" not in definition
    definition.update(DefaultFormValue=100000001, RequiredLevel={"Value": "ApplicationRequired"})
    assert dv.put(path, definition).status_code == 204
    after = dv.get(read).json()
    assert options() == [100000000, 100000001]
    assert after["DefaultFormValue"] == 100000001
    assert after["RequiredLevel"]["Value"] == "ApplicationRequired"
    # An OptionSet sent with the PUT changes no option: options change only through actions.
    with_options = {**definition, "OptionSet": {"Options": [{"Value": 5, "Label": label("X")}]}}
    assert dv.put(path, with_options).status_code == 204
    assert options() == [100000000, 100000001]
    assert dv.put(path, {**definition, "DefaultFormValue": "Sent"}).status_code == 400


def test_a_metadata_select_returns_only_the_named_properties_and_reads_see_each_change(
    dv: Env,
) -> None:
    dv.post("EntityDefinitions", table_body("nw_Invoice"))
    _column(dv, "nw_invoice", _text("nw_Reference", 40))
    listed = dv.get(
        "EntityDefinitions?$select=LogicalName,DisplayName&$filter=LogicalName eq 'nw_invoice'"
        "&$expand=Attributes($select=LogicalName,DisplayName,MaxLength)"
    ).json()["value"]
    assert set(listed[0]) == {"MetadataId", "LogicalName", "DisplayName", "Attributes"}
    assert listed[0]["DisplayName"]["UserLocalizedLabel"]["Label"] == "Invoice"
    reference = next(a for a in listed[0]["Attributes"] if a["LogicalName"] == "nw_reference")
    # MaxLength is StringAttributeMetadata's, not AttributeMetadata's: not in an uncast $expand
    assert set(reference) == {"@odata.type", "MetadataId", "LogicalName", "DisplayName"}
    assert reference["DisplayName"]["UserLocalizedLabel"]["Label"] == "Reference"
    path = "EntityDefinitions(LogicalName='nw_invoice')/Attributes(LogicalName='nw_reference')"
    cast = "/Microsoft.Dynamics.CRM.StringAttributeMetadata"
    definition = dv.get(path + cast).json()
    definition["MaxLength"] = 80
    assert dv.put(path, definition).status_code == 204
    again = dv.get(
        "EntityDefinitions(LogicalName='nw_invoice')/Attributes" + cast + "?$select=LogicalName,"
        "MaxLength&$filter=LogicalName eq 'nw_reference'"
    ).json()["value"]
    assert again == [{"@odata.type": "#" + STRING, "MetadataId": reference["MetadataId"],
                      "LogicalName": "nw_reference", "MaxLength": 80}]  # fmt: skip
    read_alone = dv.get(path + cast + "?$select=MaxLength").json()
    assert read_alone["MaxLength"] == 80 and "LogicalName" not in read_alone
