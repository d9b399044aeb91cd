"""`$expand` on row queries, as raw OData requests written from Microsoft's docs.

A collection-valued navigation property comes back as a list (with `$select`, `$filter`,
`$orderby`, `$top` inside its parentheses), a single-valued one as a row or null; a name
that is no navigation property is an error, never ignored.
"""

from __future__ import annotations

from tests.dataverse_emulator.conftest import Env, label, table_body


def _id(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 204, response.text
    return str(response.headers["OData-EntityId"].rpartition("(")[2].rstrip(")"))


def _role(dv: Env, name: str) -> str:
    return str(
        dv.get(f"roles?$select=roleid&$filter=name eq '{name}'").json()["value"][0]["roleid"]
    )


def _user_with_roles(dv: Env, *roles: str) -> str:
    user = _id(dv.post("systemusers", {"firstname": "Ada", "lastname": "Byron",
                                       "domainname": "ada@contoso.com"}))  # fmt: skip
    for role in roles:
        ref = {"@odata.id": f"{dv.api}/roles({_role(dv, role)})"}
        assert (
            dv.post(f"systemusers({user})/systemuserroles_association/$ref", ref).status_code == 204
        )
    return user


def test_a_users_roles_come_back_expanded_on_a_collection_query(dv: Env) -> None:
    user = _user_with_roles(dv, "System Customizer", "System Administrator")
    response = dv.get(
        "systemusers?$select=domainname&$filter=domainname eq 'ada@contoso.com'"
        "&$expand=systemuserroles_association($select=roleid,name;$orderby=name)"
    )
    assert response.status_code == 200, response.text
    [row] = response.json()["value"]
    assert row["systemuserid"] == user and row["domainname"] == "ada@contoso.com"
    held = row["systemuserroles_association"]
    assert [r["name"] for r in held] == ["System Administrator", "System Customizer"]
    assert [r["roleid"] for r in held] == [
        _role(dv, "System Administrator"),
        _role(dv, "System Customizer"),
    ]
    assert set(held[0]) == {"@odata.etag", "roleid", "name"}


def test_expand_on_one_row_takes_a_nested_filter_and_top(dv: Env) -> None:
    user = _user_with_roles(dv, "System Customizer", "System Administrator")
    row = dv.get(
        f"systemusers({user})?$select=domainname&$expand=systemuserroles_association("
        "$select=name;$filter=name eq 'System Customizer')"
    ).json()
    assert [r["name"] for r in row["systemuserroles_association"]] == ["System Customizer"]
    top = dv.get(
        f"systemusers({user})?$expand=systemuserroles_association($select=name;$orderby=name desc;"
        "$top=1)"
    ).json()
    assert [r["name"] for r in top["systemuserroles_association"]] == ["System Customizer"]
    none = dv.get(
        "systemusers?$select=domainname&$filter=domainname ne 'ada@contoso.com'"
        "&$expand=systemuserroles_association($select=name)"
    ).json()["value"]
    assert none and all(isinstance(r["systemuserroles_association"], list) for r in none)


def test_the_role_side_of_the_association_lists_its_users(dv: Env) -> None:
    user = _user_with_roles(dv, "System Customizer")
    role = dv.get(
        f"roles({_role(dv, 'System Customizer')})?$select=name"
        "&$expand=systemuserroles_association($select=domainname)"
    ).json()
    assert [u["systemuserid"] for u in role["systemuserroles_association"]] == [user]


def test_a_roles_privileges_expand_with_names(dv: Env) -> None:
    root = dv.get("businessunits?$filter=_parentbusinessunitid_value eq null").json()["value"][0]
    role = _id(dv.post("roles", {"name": "Clerk", "businessunitid@odata.bind":
                                 f"/businessunits({root['businessunitid']})"}))  # fmt: skip
    privilege = dv.get("privileges?$select=privilegeid&$filter=name eq 'prvReadAccount'").json()
    privilege_id = privilege["value"][0]["privilegeid"]
    added = dv.post(f"roles({role})/Microsoft.Dynamics.CRM.AddPrivilegesRole", {"Privileges": [
        {"Depth": "Global", "PrivilegeId": privilege_id, "BusinessUnitId": root["businessunitid"],
         "PrivilegeName": "prvReadAccount"}]})  # fmt: skip
    assert added.status_code == 204, added.text
    expanded = dv.get(
        f"roles?$select=name&$filter=roleid eq {role}"
        "&$expand=roleprivileges_association($select=name)"
    ).json()["value"][0]["roleprivileges_association"]
    direct = dv.get(f"roles({role})/roleprivileges_association?$select=name").json()["value"]
    assert "prvReadAccount" in [p["name"] for p in expanded]
    assert sorted(p["name"] for p in expanded) == sorted(p["name"] for p in direct)


def test_a_lookup_expands_to_its_row(dv: Env) -> None:
    user = _user_with_roles(dv)
    row = dv.get(
        f"systemusers({user})?$select=domainname&$expand=businessunitid($select=name)"
    ).json()
    assert row["businessunitid"]["name"] == "sandbox"
    assert set(row["businessunitid"]) == {"@odata.etag", "businessunitid", "name"}
    root = dv.get(
        "businessunits?$select=name&$filter=_parentbusinessunitid_value eq null"
        "&$expand=parentbusinessunitid($select=name)"
    ).json()["value"][0]
    assert root["parentbusinessunitid"] is None


def test_a_one_to_many_relationship_expands_from_the_parent(dv: Env) -> None:
    dv.post("EntityDefinitions", table_body("nw_Customer"))
    dv.post("EntityDefinitions", table_body("nw_Invoice"))
    created = dv.post("RelationshipDefinitions", {
        "@odata.type": "Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
        "SchemaName": "nw_customer_invoices", "ReferencedEntity": "nw_customer",
        "ReferencingEntity": "nw_invoice",
        "Lookup": {"@odata.type": "Microsoft.Dynamics.CRM.LookupAttributeMetadata",
                   "SchemaName": "nw_CustomerId", "DisplayName": label("Customer"),
                   "RequiredLevel": {"Value": "None"}}})  # fmt: skip
    assert created.status_code == 204, created.text
    customer = _id(dv.post("nw_customers", {"nw_name": "Contoso"}))
    for name in ("INV-2", "INV-1"):
        dv.post("nw_invoices", {"nw_name": name,
                                "nw_CustomerId@odata.bind": f"/nw_customers({customer})"})  # fmt: skip
    dv.post("nw_invoices", {"nw_name": "INV-orphan"})
    read = dv.get(
        f"nw_customers({customer})?$select=nw_name"
        "&$expand=nw_customer_invoices($select=nw_name;$orderby=nw_name)"
    ).json()
    assert [i["nw_name"] for i in read["nw_customer_invoices"]] == ["INV-1", "INV-2"]
    back = dv.get("nw_invoices?$select=nw_name&$filter=nw_name eq 'INV-1'"
                  "&$expand=nw_CustomerId($select=nw_name)").json()["value"][0]  # fmt: skip
    assert back["nw_CustomerId"]["nw_name"] == "Contoso"


def test_system_one_to_many_relationships_expand(dv: Env) -> None:
    dv.post("EntityDefinitions", table_body("nw_Invoice"))
    dv.post("EntityDefinitions(LogicalName='nw_invoice')/Attributes", {
        "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata", "SchemaName": "nw_Iban",
        "MaxLength": 34, "DisplayName": label("IBAN"), "IsSecured": True})  # fmt: skip
    profile = _id(dv.post("fieldsecurityprofiles", {"name": "Finance"}))
    permission = {"entityname": "nw_invoice", "attributelogicalname": "nw_iban", "canread": 4,
                  "canupdate": 0, "cancreate": 0,
                  "fieldsecurityprofileid@odata.bind": f"/fieldsecurityprofiles({profile})"}  # fmt: skip
    assert dv.post("fieldpermissions", permission).status_code == 204
    read = dv.get(
        "fieldsecurityprofiles?$select=name&$filter=name eq 'Finance'&$expand="
        "lk_fieldpermission_fieldsecurityprofileid($select=attributelogicalname,canread)"
    ).json()["value"][0]["lk_fieldpermission_fieldsecurityprofileid"]
    assert [(p["attributelogicalname"], p["canread"]) for p in read] == [("nw_iban", 4)]
    user = _user_with_roles(dv)
    unit = dv.get(
        "businessunits?$select=name&$filter=_parentbusinessunitid_value eq null"
        "&$expand=business_unit_system_users($select=domainname;$filter=domainname eq "
        "'ada@contoso.com')"
    ).json()["value"][0]
    assert [u["systemuserid"] for u in unit["business_unit_system_users"]] == [user]


def test_an_unknown_expand_or_option_is_an_error_not_ignored(dv: Env) -> None:
    unknown = dv.get("systemusers?$expand=teammembership_association")
    assert unknown.status_code == 400
    assert unknown.json()["error"] == {
        "code": "0x80060888",
        "message": "Could not find a property named 'teammembership_association' on type "
        "'Microsoft.Dynamics.CRM.systemuser'.",
    }
    bad_select = dv.get("systemusers?$expand=systemuserroles_association($select=nosuch)")
    assert bad_select.status_code == 400
    assert "Could not find a property named 'nosuch'" in bad_select.json()["error"]["message"]
    skip = dv.get("systemusers?$expand=systemuserroles_association($skip=1)")
    assert skip.status_code == 400
    assert "'$skip' is not supported inside $expand" in skip.json()["error"]["message"]
    on_one = dv.get(f"systemusers({_user_with_roles(dv)})?$expand=nosuch")
    assert on_one.status_code == 400
