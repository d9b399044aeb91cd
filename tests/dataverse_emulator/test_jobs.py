"""Duplicate rules (published asynchronously), bulk delete jobs, retention policies, audit."""

from __future__ import annotations

from typing import Any

from tests.dataverse_emulator.conftest import Env, label, table_body


def _id(response: Any) -> str:
    assert response.status_code == 204, response.text
    return str(response.headers["OData-EntityId"].rpartition("(")[2].rstrip(")"))


def _rule(dv: Env, name: str, table: str = "account") -> str:
    rule = _id(dv.post("duplicaterules", {"name": name, "baseentityname": table,
                                          "matchingentityname": table}))  # fmt: skip
    _id(dv.post("duplicateruleconditions", {
        "baseattributename": "name", "matchingattributename": "name", "operatorcode": 0,
        "regardingobjectid@odata.bind": f"/duplicaterules({rule})"}))  # fmt: skip
    return rule


def _status(dv: Env, rule: str) -> tuple[int, int]:
    row = dv.get(f"duplicaterules({rule})?$select=statecode,statuscode").json()
    return row["statecode"], row["statuscode"]


def test_publishing_a_rule_is_an_asynchronous_job(dv: Env) -> None:
    rule = _rule(dv, "Accounts with the same name")
    assert _status(dv, rule) == (0, 0)
    published = dv.post(f"duplicaterules({rule})/Microsoft.Dynamics.CRM.PublishDuplicateRule", {})
    assert published.status_code == 200
    job = published.json()["JobId"]
    polls = []
    while True:
        row = dv.get(f"asyncoperations({job})?$select=statecode,statuscode,operationtype").json()
        polls.append((row["statecode"], row["statuscode"]))
        if row["statecode"] == 3:
            break
        assert len(polls) < 5
    assert polls == [(2, 20), (3, 30)]
    assert _status(dv, rule) == (1, 2)


def test_at_most_five_rules_are_published_per_table(dv: Env) -> None:
    rules = [_rule(dv, f"Rule {n}") for n in range(6)]
    for rule in rules[:5]:
        dv.post(f"duplicaterules({rule})/Microsoft.Dynamics.CRM.PublishDuplicateRule", {})
    sixth = dv.post("PublishDuplicateRule", {"DuplicateRuleId": rules[5]})
    assert sixth.status_code == 400
    assert "already has 5 published duplicate detection rules" in sixth.json()["error"]["message"]


def test_a_table_change_unpublishes_its_rules(dv: Env) -> None:
    dv.post("EntityDefinitions", table_body("nw_Invoice"))
    rule = _id(dv.post("duplicaterules", {"name": "Same invoice", "baseentityname": "nw_invoice"}))
    job = dv.post(f"duplicaterules({rule})/Microsoft.Dynamics.CRM.PublishDuplicateRule", {}).json()[
        "JobId"
    ]  # noqa: E501
    for _ in range(2):
        dv.get(f"asyncoperations({job})")
    assert _status(dv, rule) == (1, 2)
    added = dv.post("EntityDefinitions(LogicalName='nw_invoice')/Attributes", {
        "@odata.type": "Microsoft.Dynamics.CRM.IntegerAttributeMetadata", "SchemaName": "nw_Count",
        "DisplayName": label("Count"), "MinValue": 0, "MaxValue": 10})  # fmt: skip
    assert added.status_code == 204
    assert _status(dv, rule) == (0, 0)


def test_a_condition_operator_param_follows_the_operator(dv: Env) -> None:
    rule = _id(dv.post("duplicaterules", {"name": "Prefix", "baseentityname": "account"}))
    bind = f"/duplicaterules({rule})"
    exact = dv.post("duplicateruleconditions", {"baseattributename": "name", "operatorcode": 0,
                                                "operatorparam": 3, "regardingobjectid@odata.bind": bind})  # fmt: skip
    assert exact.status_code == 400
    first = dv.post("duplicateruleconditions", {"baseattributename": "name", "operatorcode": 1,
                                                "regardingobjectid@odata.bind": bind})  # fmt: skip
    assert first.status_code == 400
    unknown = dv.post("duplicateruleconditions", {"baseattributename": "nope", "operatorcode": 0,
                                                  "regardingobjectid@odata.bind": bind})  # fmt: skip
    assert (
        unknown.status_code == 400
        and "is not a column of account" in unknown.json()["error"]["message"]
    )  # noqa: E501


def test_a_recurring_bulk_delete_is_stored_and_runs_when_polled(dv: Env) -> None:
    for name in ("Old", "Keep"):
        dv.post("accounts", {"name": name})
    response = dv.post("BulkDelete", {
        "JobName": "Purge old accounts", "SendEmailNotification": False, "ToRecipients": [],
        "CCRecipients": [], "RecurrencePattern": "FREQ=DAILY;INTERVAL=1",
        "StartDateTime": "2000-01-01T00:00:00Z",
        "QuerySet": [{"@odata.type": "Microsoft.Dynamics.CRM.QueryExpression", "EntityName": "account",
                      "Criteria": {"FilterOperator": "And", "Conditions": [
                          {"AttributeName": "name", "Operator": "Equal",
                           "Values": [{"Value": "Old", "Type": "System.String"}]}]}}]})  # fmt: skip
    assert response.status_code == 200
    job = response.json()["JobId"]
    stored = dv.get(f"bulkdeleteoperations?$filter=_asyncoperationid_value eq {job}").json()[
        "value"
    ]
    assert stored[0]["orderedquerysetxml"] == (
        '<fetch><entity name="account"><filter type="and"><condition attribute="name" '
        'operator="eq" value="Old" /></filter></entity></fetch>'
    )
    assert stored[0]["isrecurring"] is True
    for _ in range(2):
        row = dv.get(
            f"asyncoperations({job})?$select=statecode,statuscode,recurrencepattern"
        ).json()
    assert (row["statecode"], row["statuscode"], row["recurrencepattern"]) == (
        1,
        10,
        "FREQ=DAILY;INTERVAL=1",
    )  # noqa: E501
    assert [a["name"] for a in dv.get("accounts?$select=name").json()["value"]] == ["Keep"]
    weekly = dv.post("BulkDelete", {"JobName": "x", "RecurrencePattern": "FREQ=WEEKLY;INTERVAL=1",
                                    "QuerySet": [{"EntityName": "account"}]})  # fmt: skip
    assert weekly.status_code == 400


def test_retention_policies_are_checked(dv: Env) -> None:
    fetch = '<fetch><entity name="account"><filter><condition attribute="createdon" operator="olderthan-x-years" value="7" /></filter></entity></fetch>'  # noqa: E501
    policy = {"name": "Seven years", "uniquename": "nw_sevenyears", "entitylogicalname": "account",
              "criteria": fetch, "starttime": "2030-01-01T00:00:00Z", "recurrence": "FREQ=YEARLY;INTERVAL=1"}  # fmt: skip
    created = dv.post("retentionconfigs", policy)
    assert created.status_code == 204
    row = dv.get(f"retentionconfigs({_id(created)})?$select=statuscode,criteria").json()
    assert row["statuscode"] == 10 and row["criteria"] == fetch
    wrong_table = dv.post("retentionconfigs", {**policy, "entitylogicalname": "contact"})
    assert wrong_table.status_code == 400
    assert dv.post("retentionconfigs", {**policy, "recurrence": "hourly"}).status_code == 400


def test_role_changes_are_in_the_audit_history_with_their_actor(dv: Env) -> None:
    role = _id(dv.post("roles", {"name": "Auditors"}))
    privilege = dv.get("privileges?$filter=name eq 'prvReadAccount'").json()["value"][0][
        "privilegeid"
    ]
    dv.post(f"roles({role})/Microsoft.Dynamics.CRM.AddPrivilegesRole",
            {"Privileges": [{"PrivilegeId": privilege, "Depth": "Global"}]})  # fmt: skip
    dv.patch(f"roles({role})", {"description": "read-only"})
    history = dv.get(f"audits?$filter=objecttypecode eq 'role' and _objectid_value eq {role}"
                     "&$orderby=createdon&$select=action,_userid_value,changedata").json()["value"]  # fmt: skip
    assert [h["action"] for h in history] == [1, 57, 2]
    assert '"prvReadAccount"' in history[1]["changedata"]
    assert {h["_userid_value"] for h in history} == {dv.get("WhoAmI").json()["UserId"]}


def test_a_published_rule_refuses_a_duplicate_when_detection_is_asked_for(dv: Env) -> None:
    dv.post("accounts", {"name": "Contoso"})
    rule = _rule(dv, "Same name")
    job = dv.post(f"duplicaterules({rule})/Microsoft.Dynamics.CRM.PublishDuplicateRule", {}).json()[
        "JobId"
    ]  # noqa: E501
    for _ in range(2):
        dv.get(f"asyncoperations({job})")
    detect = {"MSCRM.SuppressDuplicateDetection": "false"}
    refused = dv.post("accounts", {"name": "CONTOSO"}, headers=detect)
    assert refused.status_code == 500
    assert refused.json()["error"]["code"] == "0x80040333"
    assert dv.post("accounts", {"name": "Fabrikam"}, headers=detect).status_code == 204
    assert dv.post("accounts", {"name": "Contoso"}).status_code == 204  # detection not asked for
    names = sorted(a["name"] for a in dv.get("accounts?$select=name").json()["value"])
    assert names == ["Contoso", "Contoso", "Fabrikam"]
