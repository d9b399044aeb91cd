"""What the Dataverse provider sends, request by request (real HTTP to a recording server)."""

from __future__ import annotations

from typing import Any

from crmctl.plan.action import Action
from crmctl.plan.model import Change
from crmctl.providers.dataverse import columns
from crmctl.providers.dataverse.provider import SUPPORTED_KINDS
from tests.dataverse_provider.fake import fake_provider

ROOT_UNIT = "00000000-0000-0000-0000-0000000000b0"


def _entity(table: str, custom: bool, attributes: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "MetadataId": f"id-{table}",
        "LogicalName": table,
        "IsCustomEntity": custom,
        "DisplayName": columns.label(table.title()),
        "DisplayCollectionName": columns.label(table.title() + "s"),
        "PrimaryNameAttribute": f"{table.partition('_')[0]}_name",
        "Attributes": attributes,
    }


def _column(name: str, kind: str = "String") -> dict[str, Any]:
    """A column as RetrieveMetadataChanges answers: its derived type, with that type's details."""
    out: dict[str, Any] = {
        "@odata.type": f"#Microsoft.Dynamics.CRM.{columns.DERIVED[kind]}",
        "MetadataId": f"id-{name}",
        "LogicalName": name,
        "AttributeType": kind,
        "IsCustomAttribute": True,
        "DisplayName": columns.label(name),
        "RequiredLevel": {"Value": "None"},
    }
    if kind == "String":
        out["MaxLength"] = 100
    if kind == "Picklist":
        out["OptionSet"] = {"Options": [{"Value": 1, "Label": columns.label("A")}]}
    return out


def _org(fake: Any, tables: int) -> None:
    entities = [
        _entity(f"nw_t{i}", True, [_column(f"nw_c{i}"), _column(f"nw_p{i}", "Picklist")])
        for i in range(tables)
    ]
    fake.on(
        "GET", r"RetrieveMetadataChanges\(Query=@p1\)\?.*", (200, {}, {"EntityMetadata": entities})
    )


def test_reading_tables_and_columns_takes_the_same_requests_for_1_or_40_tables() -> None:
    counts = []
    for tables in (1, 40):
        provider, fake = fake_provider()
        _org(fake, tables)
        live = provider.read(["CustomObject", "CustomField"])
        assert len(live) == 3 * tables
        counts.append(provider.requests_made)
    assert counts == [1, 1]  # one RetrieveMetadataChanges: every column as its derived type


def test_paged_queries_follow_the_next_link_and_never_skip() -> None:
    provider, fake = fake_provider()
    fake.on(
        "GET",
        r"businessunits\?.*",
        (200, {}, {"value": [{"businessunitid": ROOT_UNIT, "name": "Contoso"}]}),
    )
    second = f"{fake.base}/api/data/v9.2/roles?$skiptoken=page2"
    fake.on(
        "GET",
        r"roles\?\$select.*",
        (
            200,
            {},
            {
                "value": [{"roleid": "r1", "name": "A", "_businessunitid_value": ROOT_UNIT}],
                "@odata.nextLink": second,
            },
        ),
    )
    fake.on(
        "GET",
        r"roles\?\$skiptoken=page2",
        (200, {}, {"value": [{"roleid": "r2", "name": "B", "_businessunitid_value": ROOT_UNIT}]}),
    )
    fake.on("GET", r"RetrieveRolePrivilegesRole\(RoleId=r\d\)", (200, {}, {"RolePrivileges": []}))
    # A PermissionSet's fields come from field security profiles (none here).
    fake.on("GET", r"fieldsecurityprofiles\?.*", (200, {}, {"value": []}))
    fake.on("GET", r"fieldpermissions\?.*", (200, {}, {"value": []}))
    live = provider.read(["PermissionSet"])
    assert [r.name for r in live] == ["A", "B"]
    pages = fake.of("GET", "roles")
    assert [p.path for p in pages][1] == "roles?$skiptoken=page2"
    assert all("odata.maxpagesize=5000" in p.headers["Prefer"] for p in pages)
    assert not any("$skip=" in s.path for s in fake.sent)


def test_a_column_update_puts_its_full_definition_with_merge_labels() -> None:
    provider, fake = fake_provider()
    provider._read_kinds = set(SUPPORTED_KINDS)
    live = {
        "@odata.context": "x",
        "@odata.type": "#Microsoft.Dynamics.CRM.StringAttributeMetadata",
        "MetadataId": "id-c",
        "LogicalName": "nw_region",
        "MaxLength": 50,
        "IsAuditEnabled": {"Value": True},
        "DisplayName": {
            "LocalizedLabels": [
                {"Label": "Region", "LanguageCode": 1033},
                {"Label": "Région", "LanguageCode": 1036},
            ]
        },
        "RequiredLevel": {"Value": "None", "CanBeChanged": True},
    }
    path = "EntityDefinitions(LogicalName='account')/Attributes(LogicalName='nw_region')"
    fake.on(
        "GET",
        path.replace("(", r"\(").replace(")", r"\)")
        + r"/Microsoft\.Dynamics\.CRM\.StringAttributeMetadata",
        (200, {}, live),
    )
    fake.on("PUT", ".*", (204, {}, None))
    fake.on("POST", "PublishXml", (204, {}, None))
    before = {"type": "Text", "label": "Region", "length": 50}
    after = {"type": "Text", "label": "Sales region", "length": 80}
    result = provider.apply(
        [Change("CustomField", "account.nw_region", Action.UPDATE, before, after, [], None, "")]
    )
    assert result.ok, result.failed
    (put,) = fake.of("PUT")
    assert put.path == path
    assert put.headers["MSCRM.MergeLabels"] == "true"
    assert put.headers["MSCRM.SolutionUniqueName"] == "crmctltests"
    assert put.body["MaxLength"] == 80
    assert put.body["IsAuditEnabled"] == {"Value": True}  # the rest of the definition, as read
    assert {
        (x["Label"], x["LanguageCode"]) for x in put.body["DisplayName"]["LocalizedLabels"]
    } == {
        ("Région", 1036),
        ("Sales region", 1033),
    }
    (publish,) = fake.of("POST", "PublishXml")
    assert publish.body == {
        "ParameterXml": "<importexportxml><entities><entity>account</entity></entities></importexportxml>"
    }


def test_a_delete_with_dependencies_is_refused_and_nothing_is_deleted() -> None:
    provider, fake = fake_provider()
    provider._read_kinds = set(SUPPORTED_KINDS)
    provider.snapshot.columns["nw_invoice.nw_amount"] = {"MetadataId": "id-amount"}
    fake.on(
        "GET",
        r"RetrieveDependenciesForDelete\(ObjectId=id-amount,ComponentType=2\)",
        (
            200,
            {},
            {
                "EntityCollection": [
                    {"dependentcomponenttype": 26, "dependentcomponentobjectid": "v1"}
                ]
            },
        ),
    )
    fake.on("POST", "PublishXml", (204, {}, None))
    result = provider.apply(
        [
            Change(
                "CustomField",
                "nw_invoice.nw_amount",
                Action.DELETE,
                {"type": "Currency", "label": "A"},
                None,
                [],
                None,
                "",
            )
        ]
    )
    assert [f.message for f in result.failed] == [
        "Dataverse will not delete column nw_invoice.nw_amount: 1 component(s) depend on it "
        "(component type 26 v1); nothing was deleted"
    ]
    assert fake.of("DELETE") == []


def test_a_role_update_changes_its_privileges_in_one_change_set() -> None:
    provider, fake = fake_provider()
    provider._read_kinds = set(SUPPORTED_KINDS)
    provider.snapshot.root_unit = ROOT_UNIT
    provider.snapshot.roles["Desk"] = {"roleid": "r1", "name": "Desk"}
    fake.on(
        "GET",
        r"privileges\?.*",
        (
            200,
            {},
            {
                "value": [
                    {"privilegeid": "p-read", "name": "prvReadnw_invoice"},
                    {"privilegeid": "p-del", "name": "prvDeletenw_invoice"},
                ]
            },
        ),
    )
    fake.on("POST", r"roles\(r1\)/Microsoft\.Dynamics\.CRM\.\w+", (204, {}, None))
    before = {
        "label": "Desk",
        "objects": {"nw_invoice": ["read", "delete"]},
        "depths": {"nw_invoice": {"read": "Global", "delete": "Basic"}},
    }
    after = {
        "label": "Desk",
        "objects": {"nw_invoice": ["read"]},
        "depths": {"nw_invoice": {"read": "Local"}},
    }
    result = provider.apply(
        [Change("PermissionSet", "Desk", Action.UPDATE, before, after, [], None, "")]
    )
    assert result.ok, result.failed
    add, remove, batch = fake.sent[-3:]
    assert batch.path == "$batch"
    assert "Content-Type: multipart/mixed; boundary=changeset_" in batch.body  # atomic
    assert add.path == "roles(r1)/Microsoft.Dynamics.CRM.AddPrivilegesRole"
    assert add.body == {
        "Privileges": [
            {
                "Depth": "Local",
                "PrivilegeId": "p-read",
                "BusinessUnitId": ROOT_UNIT,
                "PrivilegeName": "prvReadnw_invoice",
            }
        ]
    }
    assert remove.path == "roles(r1)/Microsoft.Dynamics.CRM.RemovePrivilegeRole"
    assert remove.body["Privilege"]["privilegeid"] == "p-del"


def test_a_duplicate_rule_is_created_with_its_conditions_atomically_then_published() -> None:
    provider, fake = fake_provider()
    provider._read_kinds = set(SUPPORTED_KINDS)
    fake.on(
        "POST",
        "duplicaterules",
        (204, {"OData-EntityId": "https://dv.test/api/data/v9.2/duplicaterules(d1)"}, None),
    )
    fake.on("POST", "duplicateruleconditions", (204, {}, None))
    fake.on(
        "POST",
        r"duplicaterules\(d1\)/Microsoft\.Dynamics\.CRM\.PublishDuplicateRule",
        (200, {}, {"JobId": "j1"}),
    )
    polls = iter([0, 3])
    fake.on(
        "GET",
        r"asyncoperations\(j1\)\?.*",
        lambda body, m: (
            200,
            {},
            {"statecode": (state := next(polls)), "statuscode": 30 if state == 3 else 20},
        ),
    )
    spec = {"active": True, "match": [{"field": "emailaddress1", "method": "exact"}]}
    result = provider.apply(
        [Change("DuplicateRule", "contact.Same_Email", Action.CREATE, None, spec, [], None, "")]
    )
    assert result.ok, result.failed
    rule, condition, batch = fake.sent[:3]
    assert (rule.path, rule.body["name"], rule.body["baseentityname"]) == (
        "duplicaterules",
        "Same_Email",
        "contact",
    )
    assert condition.body == {
        "baseattributename": "emailaddress1",
        "matchingattributename": "emailaddress1",
        "operatorcode": 0,
        "ignoreblankvalues": False,
        "regardingobjectid@odata.bind": "$1",
    }
    assert "boundary=changeset_" in batch.body and "Content-ID: 1" in batch.body
    assert [s.path for s in fake.sent[3:]] == [
        "duplicaterules(d1)/Microsoft.Dynamics.CRM.PublishDuplicateRule",
        "asyncoperations(j1)?$select=statecode,statuscode,message,friendlymessage",
        "asyncoperations(j1)?$select=statecode,statuscode,message,friendlymessage",
    ]
