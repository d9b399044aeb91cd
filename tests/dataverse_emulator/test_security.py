"""Roles, privileges with depths, business units, users and field security, over raw OData."""

from __future__ import annotations

from tests.dataverse_emulator.conftest import CLIENT_SECRET, Env, table_body


def _id(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 204, response.text
    return str(response.headers["OData-EntityId"].rpartition("(")[2].rstrip(")"))


def _privilege(dv: Env, name: str) -> str:
    found = dv.get(f"privileges?$select=privilegeid&$filter=name eq '{name}'").json()["value"]
    assert len(found) == 1, name
    return str(found[0]["privilegeid"])


def _root_unit(dv: Env) -> str:
    units = dv.get("businessunits?$filter=_parentbusinessunitid_value eq null").json()["value"]
    return str(units[0]["businessunitid"])


def test_role_privileges_take_the_four_depths(dv: Env) -> None:
    dv.post("EntityDefinitions", table_body("nw_Invoice"))
    role = _id(dv.post("roles", {"name": "Invoice clerk",
                                 "businessunitid@odata.bind": f"/businessunits({_root_unit(dv)})"}))  # fmt: skip
    depths = {"prvReadnw_Invoice": "Global", "prvCreatenw_Invoice": "Basic",
              "prvWritenw_Invoice": "Local", "prvDeletenw_Invoice": "3", "prvAppendnw_Invoice": 2}  # fmt: skip
    privileges = [{"PrivilegeId": _privilege(dv, n), "Depth": d} for n, d in depths.items()]
    added = dv.post(
        f"roles({role})/Microsoft.Dynamics.CRM.AddPrivilegesRole", {"Privileges": privileges}
    )  # noqa: E501
    assert added.status_code == 204, added.text
    held = dv.get(f"RetrieveRolePrivilegesRole(RoleId={role})").json()["RolePrivileges"]
    assert {p["PrivilegeName"]: p["Depth"] for p in held} == {
        "prvReadnw_Invoice": "Global", "prvCreatenw_Invoice": "Basic",
        "prvWritenw_Invoice": "Local", "prvDeletenw_Invoice": "Global",
        "prvAppendnw_Invoice": "Deep"}  # fmt: skip
    mask = dv.get(f"roleprivilegescollection?$filter=roleid eq {role}").json()["value"]
    assert sorted(r["privilegedepthmask"] for r in mask) == [1, 2, 4, 8, 8]
    names = dv.get(f"roles({role})/roleprivileges_association?$select=name").json()["value"]
    assert len(names) == 5
    replaced = dv.post(f"roles({role})/Microsoft.Dynamics.CRM.ReplacePrivilegesRole", {
        "Privileges": [{"PrivilegeId": _privilege(dv, "prvReadnw_Invoice"), "Depth": "Deep"}]})  # fmt: skip
    assert replaced.status_code == 204
    removed = dv.post(f"roles({role})/Microsoft.Dynamics.CRM.RemovePrivilegeRole",
                      {"PrivilegeId": _privilege(dv, "prvReadnw_Invoice")})  # fmt: skip
    assert removed.status_code == 204
    assert dv.get(f"RetrieveRolePrivilegesRole(RoleId={role})").json()["RolePrivileges"] == []
    bad = dv.post(f"roles({role})/Microsoft.Dynamics.CRM.AddPrivilegesRole",
                  {"Privileges": [{"PrivilegeId": _privilege(dv, "prvReadnw_Invoice"), "Depth": "Everywhere"}]})  # fmt: skip
    assert (
        bad.status_code == 400 and "Basic, Local, Deep or Global" in bad.json()["error"]["message"]
    )


def test_a_role_is_copied_into_each_business_unit(dv: Env) -> None:
    root = _root_unit(dv)
    role = _id(
        dv.post("roles", {"name": "Sales", "businessunitid@odata.bind": f"/businessunits({root})"})
    )  # noqa: E501
    unit = _id(dv.post("businessunits", {"name": "Europe",
                                         "parentbusinessunitid@odata.bind": f"/businessunits({root})"}))  # fmt: skip
    copies = dv.get(
        "roles?$filter=name eq 'Sales'&$select=_businessunitid_value,_parentrootroleid_value"
    ).json()["value"]  # noqa: E501
    assert sorted(c["_businessunitid_value"] for c in copies) == sorted([root, unit])
    assert {c["_parentrootroleid_value"] for c in copies} == {role}
    orphan = dv.post("businessunits", {"name": "Nowhere"})
    assert orphan.status_code == 400 and "needs a parent" in orphan.json()["error"]["message"]
    enabled = dv.delete(f"businessunits({unit})")
    assert enabled.status_code == 400 and "disabled" in enabled.json()["error"]["message"]
    assert dv.patch(f"businessunits({unit})", {"isdisabled": True}).status_code == 204
    assert dv.delete(f"businessunits({unit})").status_code == 204
    assert len(dv.get("roles?$filter=name eq 'Sales'").json()["value"]) == 1


def test_users_are_disabled_never_deleted_and_hold_roles_by_ref(dv: Env) -> None:
    user = _id(dv.post("systemusers", {"firstname": "Ada", "lastname": "Byron",
                                       "domainname": "ada@contoso.com"}))  # fmt: skip
    role = dv.get("roles?$filter=name eq 'System Customizer'&$select=roleid").json()["value"][0][
        "roleid"
    ]  # noqa: E501
    ref = {"@odata.id": f"{dv.api}/roles({role})"}
    assert dv.post(f"systemusers({user})/systemuserroles_association/$ref", ref).status_code == 204
    held = dv.get(f"systemusers({user})/systemuserroles_association?$select=name").json()["value"]
    assert [r["name"] for r in held] == ["System Customizer"]
    # Associating it again is refused, as Dataverse refuses a second intersect row.
    twice = dv.post(f"systemusers({user})/systemuserroles_association/$ref", ref)
    assert (twice.status_code, twice.json()["error"]) == (
        412,
        {"code": "0x80040237", "message": "Cannot insert duplicate key."},
    )
    removed = dv.delete(
        f"systemusers({user})/systemuserroles_association/$ref?$id={dv.api}/roles({role})"
    )  # noqa: E501
    assert removed.status_code == 204
    assert dv.get(f"systemusers({user})/systemuserroles_association").json()["value"] == []
    assert dv.post(f"systemusers({user})/systemuserroles_association/$ref", ref).status_code == 204
    by_key = dv.delete(f"systemusers({user})/systemuserroles_association({role})/$ref")
    assert by_key.status_code == 204
    again = dv.delete(f"systemusers({user})/systemuserroles_association({role})/$ref")
    assert again.status_code == 404
    refused = dv.delete(f"systemusers({user})")
    assert refused.status_code == 400 and "disable it" in refused.json()["error"]["message"]
    assert dv.patch(f"systemusers({user})", {"isdisabled": True}).status_code == 204
    assert dv.get(f"systemusers({user})?$select=isdisabled,fullname").json()["isdisabled"] is True
    audit = dv.get(f"audits?$filter=_objectid_value eq {user}&$orderby=createdon").json()["value"]
    assert [a["action"] for a in audit] == [1, 55, 56, 55, 56, 2]
    whoami = dv.get("WhoAmI").json()["UserId"]
    assert {a["_userid_value"] for a in audit} == {whoami}


def test_a_user_without_the_privilege_is_refused_in_dataverse_words(dv: Env) -> None:
    from crmctl.sandbox.dataverse import register_application_user

    dv.post("EntityDefinitions", table_body("nw_Invoice"))
    register_application_user(dv.store, "c1c1c1c1-0000-0000-0000-000000000001", CLIENT_SECRET,
                              role="System Customizer")  # fmt: skip
    token = dv.token("c1c1c1c1-0000-0000-0000-000000000001")
    response = dv.session.get(f"{dv.api}/nw_invoices", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "0x80040220"
    assert "is missing prvReadnw_Invoice privilege" in response.json()["error"]["message"]


def test_field_permissions_need_a_secured_column(dv: Env) -> None:
    dv.post("EntityDefinitions", table_body("nw_Invoice"))
    dv.post("EntityDefinitions(LogicalName='nw_invoice')/Attributes", {
        "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata", "SchemaName": "nw_Iban",
        "MaxLength": 34, "DisplayName": {"LocalizedLabels": [{"Label": "IBAN", "LanguageCode": 1033}]}})  # fmt: skip
    profile = _id(dv.post("fieldsecurityprofiles", {"name": "Finance"}))
    permission = {"entityname": "nw_invoice", "attributelogicalname": "nw_iban", "canread": 4,
                  "canupdate": 0, "cancreate": 0,
                  "fieldsecurityprofileid@odata.bind": f"/fieldsecurityprofiles({profile})"}  # fmt: skip
    refused = dv.post("fieldpermissions", permission)
    assert refused.status_code == 400 and "is not secured" in refused.json()["error"]["message"]
    path = "EntityDefinitions(LogicalName='nw_invoice')/Attributes(LogicalName='nw_iban')"
    column = dv.get(f"{path}/Microsoft.Dynamics.CRM.StringAttributeMetadata").json()
    assert dv.put(path, {**column, "IsSecured": True}).status_code == 204
    assert dv.post("fieldpermissions", permission).status_code == 204
    wrong = dv.post("fieldpermissions", {**permission, "canread": 2})
    assert wrong.status_code == 400
    listed = dv.get(f"fieldpermissions?$filter=_fieldsecurityprofileid_value eq {profile}").json()
    assert [(p["attributelogicalname"], p["canread"]) for p in listed["value"]] == [("nw_iban", 4)]


def _user_and_profile(dv: Env) -> tuple[str, str]:
    user = _id(dv.post("systemusers", {"firstname": "Ada", "lastname": "Byron",
                                       "domainname": "ada@contoso.com"}))  # fmt: skip
    return user, _id(dv.post("fieldsecurityprofiles", {"name": "Finance"}))


def test_users_join_and_leave_field_security_profiles_by_ref(dv: Env) -> None:
    # systemuserprofiles_association: the N:N systemuser <-> fieldsecurityprofile, associated
    # and disassociated as Microsoft documents it for every N:N navigation property.
    user, profile = _user_and_profile(dv)
    ref = {"@odata.id": f"{dv.api}/fieldsecurityprofiles({profile})"}
    nav = f"systemusers({user})/systemuserprofiles_association"
    assert dv.post(f"{nav}/$ref", ref).status_code == 204
    held = dv.get(f"{nav}?$select=name").json()["value"]
    assert [(p["fieldsecurityprofileid"], p["name"]) for p in held] == [(profile, "Finance")]
    assert dv.post(f"{nav}/$ref", ref).status_code == 412  # already a member
    expanded = dv.get(
        "systemusers?$select=domainname&$filter=domainname eq 'ada@contoso.com'"
        "&$expand=systemuserroles_association($select=name),"
        "systemuserprofiles_association($select=fieldsecurityprofileid)"
    )
    assert expanded.status_code == 200, expanded.text
    [row] = expanded.json()["value"]
    assert row["systemuserroles_association"] == []
    assert [p["fieldsecurityprofileid"] for p in row["systemuserprofiles_association"]] == [profile]
    members = dv.get(
        f"fieldsecurityprofiles({profile})?$select=name"
        "&$expand=systemuserprofiles_association($select=domainname)"
    ).json()["systemuserprofiles_association"]
    assert [m["systemuserid"] for m in members] == [user]
    assert dv.delete(f"{nav}({profile})/$ref").status_code == 204
    assert dv.get(nav).json()["value"] == []
    again = dv.delete(f"{nav}({profile})/$ref")
    assert again.status_code == 404, again.text
    assert dv.post(f"{nav}/$ref", ref).status_code == 204
    by_id = dv.delete(f"{nav}/$ref?$id={dv.api}/fieldsecurityprofiles({profile})")
    assert by_id.status_code == 204
    assert dv.get(nav).json()["value"] == []
    # Associate 33, disassociate 34, on the user, by the caller.
    audit = dv.get(f"audits?$filter=_objectid_value eq {user}&$orderby=createdon").json()["value"]
    assert [a["action"] for a in audit] == [1, 33, 34, 33, 34]


def test_a_profile_association_names_an_existing_profile(dv: Env) -> None:
    user, _ = _user_and_profile(dv)
    missing = "00000000-0000-0000-0000-0000000000aa"
    refused = dv.post(
        f"systemusers({user})/systemuserprofiles_association/$ref",
        {"@odata.id": f"{dv.api}/fieldsecurityprofiles({missing})"},
    )
    assert refused.status_code == 404, refused.text
    role = dv.get("roles?$select=roleid&$filter=name eq 'System Customizer'").json()["value"][0]
    wrong = dv.post(
        f"systemusers({user})/systemuserprofiles_association/$ref",
        {"@odata.id": f"{dv.api}/roles({role['roleid']})"},
    )
    assert wrong.status_code == 400, wrong.text


def test_deleting_a_profile_removes_its_users_associations(dv: Env) -> None:
    user, profile = _user_and_profile(dv)
    ref = {"@odata.id": f"{dv.api}/fieldsecurityprofiles({profile})"}
    assert (
        dv.post(f"systemusers({user})/systemuserprofiles_association/$ref", ref).status_code == 204
    )
    assert dv.delete(f"fieldsecurityprofiles({profile})").status_code == 204
    assert dv.get(f"systemusers({user})/systemuserprofiles_association").json()["value"] == []
    # A new profile under the same id (a client may choose the key) starts with no users.
    again = dv.post("fieldsecurityprofiles", {"fieldsecurityprofileid": profile, "name": "New"})
    assert _id(again) == profile
    assert dv.get(f"systemusers({user})/systemuserprofiles_association").json()["value"] == []
