"""Salesforce DX import on the real projects in ../shared/data/sfdx, and on small fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from crmctl.importer.sfdx import PROFILE_NOTE, import_sfdx, write_manifests
from tests.conftest import SHARED_SFDX, require_shared
from tests.salesforce_org import LINT_OFF, SalesforceOrg, salesforce_org

SFDX = SHARED_SFDX
NAVIKT = SFDX / "navikt-crm-arbeidsgiver-base"
DREAMHOUSE = SFDX / "dreamhouse-lwc"
needs_data = pytest.mark.usefixtures("shared_sfdx")

LOCAL_ENV = (
    "provider: {type: sandbox, path: .crmctl/sandbox.db}\nmanifests: [manifests]\n" + LINT_OFF
)


def _reasons(result, file_part: str) -> list[str]:
    return [line.render() for line in result.report if file_part in line.file]


@pytest.fixture(scope="module")
def navikt():
    return import_sfdx(require_shared(NAVIKT))


@needs_data
def test_navikt_converts_objects_fields_rules_and_permission_sets(navikt) -> None:
    assert navikt.counts() == {
        "CustomObject": 18,
        "GlobalValueSet": 9,
        "CustomField": 453,
        "ValidationRule": 37,
        "PermissionSet": 43,  # its 3 profiles are not converted
    }
    spec = navikt.resources["CustomField/IACase__c.CaseStatus__c"].spec
    assert spec["type"] == "Picklist" and spec["values"][:2] == [
        "NY",
        {"value": "IKKE_AKTIV", "label": "IKKE AKTIV"},
    ]
    # A global value set is a resource of its own, and the fields that use it name it.
    skills = navikt.resources["CustomField/CustomOpportunity__c.BasicSkills__c"].spec
    assert skills["type"] == "MultiPicklist" and skills["valueSetName"] == "BasicSkills"
    assert "values" not in skills
    value_set = navikt.resources["GlobalValueSet/BasicSkills"].spec
    assert "Snakke norsk" in [v["value"] for v in value_set["values"]]
    # Formula fields with polymorphic owner references, and rich text fields, convert.
    assert navikt.resources["CustomField/EmployerInquiry__c.TAG_Is_Assigned__c"].spec == {
        "type": "Formula",
        "label": "Is Assigned",
        "returnType": "Checkbox",
        "formula": "IF(ISBLANK(Owner:User.Id), FALSE, TRUE)",
        "description": "Sjekker om Owner er bruker (true) eller kø (false). Brukes i flows "
        "(tildeling ved lukking, Nav-enhet-bytte, dato-setting), listevisninger og Summary-feltet.",
    }
    owner = navikt.resources["CustomField/CustomOpportunity__c.OwnerFullName__c"].spec
    assert "Owner:Queue.QueueName" in owner["formula"]
    assert owner["treatBlanksAs"] == "BlankAsZero"
    assert navikt.resources["CustomField/CustomOpportunity__c.TAG_IAEvaluation__c"].spec == {
        "type": "Html",
        "label": "IA Evaluation",
        "length": 32768,
        "visibleLines": 10,
        "description": "Evaluation of the IA process",
    }
    # Activity fields are converted (they are Task's and Event's), and so are rules using them.
    assert "CustomField/Activity.TAG_ActivityType__c" in navikt.resources
    rule = navikt.resources["ValidationRule/Task.TAG_Do_not_add_description_on_HoT_task"].spec
    assert rule["condition"].startswith("ISPICKVAL(TAG_ActivityType__c , 'Hjelpemidler og")


@needs_data
def test_navikt_reports_what_it_cannot_convert_with_file_and_reason(navikt) -> None:
    lines = [line.render() for line in navikt.report]
    # A formula on a field of another package (not in this project) is left out, as validate
    # would refuse it.
    assert (
        "force-app/main/default/objects/IACase__c/fields/Account_Main_Industry__c.field-meta.xml: "
        "CustomField/IACase__c.Account_Main_Industry__c: left out: spec.formula: unknown field "
        "Account__r.CRM_MainIndustry__c (formula line 1, column 1)"
    ) in lines
    assert any("EmployerActivityEvent__e is not a custom object" in line for line in lines)
    assert any(
        "DuplicateRule/Contact.Standard_Contact_Duplicate_Rule: its matching rule "
        "Standard_Contact_Match_Rule_v1_1 is not available" in line
        for line in lines
    )
    # Profiles are not converted: the org keeps them as they are.
    assert [line for line in lines if ".profile-meta.xml" in line] == [
        f"force-app/unpackagable/profiles/{name}.profile-meta.xml: Profile/{name}: {PROFILE_NOTE}"
        for name in ("Admin", "NAV Kontor No IP Range", "NAV Kontor")
    ]
    assert not [a for a in navikt.resources if "Profile" in a]
    # A rule on a formula field converts with the field; one on a field of another package
    # (Contact.Source__c is not in the project) is left out.
    assert "ValidationRule/Event.No_registration_on_dummy_account" in navikt.resources
    assert [line for line in lines if "left out: spec.condition" in line] == [
        "force-app/main/default/objects/Contact/validationRules/"
        "Field_Tag_Informed_chekced_before_save.validationRule-meta.xml: "
        "ValidationRule/Contact.Field_Tag_Informed_chekced_before_save: left out: "
        "spec.condition: unknown field Source__c (formula line 4, column 9)"
    ]
    # Nothing disappears without a line: every field file is either converted or reported.
    fields = list(NAVIKT.rglob("*.field-meta.xml"))
    reported = {line.file for line in navikt.report}
    converted = {navikt.origin[a] for a in navikt.resources}
    missing = [f for f in fields if f.relative_to(NAVIKT).as_posix() not in reported | converted]
    assert missing == []


def _project(tmp_path: Path, source: Path, crmctl) -> Path:
    project = tmp_path / "project"
    (project / "environments").mkdir(parents=True)
    (project / "environments" / "local.yaml").write_text(LOCAL_ENV)
    r = crmctl("-C", str(project), "import", "--from", "sfdx", str(source), "--out",
               str(project / "manifests"), "--owner", "crm-admins")  # fmt: skip
    assert r.exit_code == 0, r.output
    return project


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SalesforceOrg]:
    for item in salesforce_org(tmp_path):
        for name, value in item.env_variables().items():
            monkeypatch.setenv(name, value)
        yield item


@needs_data
@pytest.mark.parametrize("source", [NAVIKT, DREAMHOUSE], ids=["navikt", "dreamhouse"])
def test_imported_projects_validate_apply_and_plan_empty(
    source: Path, tmp_path: Path, org: SalesforceOrg, crmctl, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path, source, crmctl)
    monkeypatch.chdir(project)
    r = crmctl("validate")
    assert r.exit_code == 0, r.output
    assert r.out.startswith("valid: ")
    # Through the sandbox provider (in-process) …
    r = crmctl("apply", "--auto-approve")
    assert r.exit_code == 0, r.output
    assert crmctl("plan").out.strip().endswith("No changes. The CRM matches the manifests.")
    # … and through the sandbox's Salesforce API (Metadata API deploy and retrieve).
    org.write_env(project, "sf")
    r = crmctl("apply", "-e", "sf", "--auto-approve")
    assert r.exit_code == 0, r.output
    r = crmctl("plan", "-e", "sf")
    assert r.exit_code == 0, r.output
    assert r.out.strip().endswith("No changes. The CRM matches the manifests.")


@needs_data
def test_dreamhouse_roles_keep_their_hierarchy() -> None:
    result = import_sfdx(DREAMHOUSE)
    roles = {r.name: r.spec for r in result.resources.values() if r.kind == "Role"}
    assert len(roles) == 18
    assert roles["CFO"] == {"label": "CFO", "parent": "CEO", "description": "CFO"}
    assert "parent" not in roles["CEO"]
    assert any("opportunityAccessLevel Edit is not kept" in line.reason for line in result.report)
    lines = [line.render() for line in result.report]
    assert (
        "force-app/main/default/matchingRules/Contact.matchingRule-meta.xml: holds no matching rules"
        in lines
    )
    # Standard fields: what is customised converts; the rest needs no manifest.
    standard = {r.name: r.spec for r in result.resources.values() if r.kind == "StandardField"}
    assert standard == {
        "Contact.AccountId": {"trackFeedHistory": True},
        "Contact.Name": {"trackFeedHistory": True},
        "Contact.OwnerId": {"trackFeedHistory": True},
        "Lead.Name": {"trackFeedHistory": True},
        "Lead.OwnerId": {"trackFeedHistory": True},
        "Lead.Status": {"trackFeedHistory": True},
    }
    assert (
        "force-app/main/default/objects/Contact/fields/Email.field-meta.xml: standard field "
        "Contact.Email customises nothing crmctl manages (help text, history or feed tracking): "
        "no manifest needed"
    ) in lines
    assert (
        "force-app/main/default/objects/Property__c/fields/Location__c.field-meta.xml: "
        "CustomField/Property__c.Location__c: field type Location is not supported by crmctl"
    ) in lines


def _xml(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n' + text)


NS = 'xmlns="http://soap.sforce.com/2006/04/metadata"'


def test_a_duplicate_rule_with_a_custom_matching_rule_converts(tmp_path: Path) -> None:
    base = tmp_path / "force-app" / "main" / "default"
    _xml(
        base / "duplicateRules" / "Contact.Same_Email.duplicateRule-meta.xml",
        f"""
<DuplicateRule {NS}><actionOnInsert>Block</actionOnInsert><actionOnUpdate>Allow</actionOnUpdate>
<duplicateRuleMatchRules><matchRuleSObjectType>Contact</matchRuleSObjectType>
<matchingRule>Email_Match</matchingRule></duplicateRuleMatchRules><isActive>true</isActive>
<masterLabel>Same email</masterLabel></DuplicateRule>""",
    )
    _xml(
        base / "matchingRules" / "Contact.matchingRule-meta.xml",
        f"""
<MatchingRules {NS}><matchingRules><fullName>Email_Match</fullName><label>Email</label>
<matchingRuleItems><blankValueBehavior>NullNotAllowed</blankValueBehavior><fieldName>Email</fieldName>
<matchingMethod>Exact</matchingMethod></matchingRuleItems>
<matchingRuleItems><fieldName>LastName</fieldName><matchingMethod>LastName</matchingMethod></matchingRuleItems>
<ruleStatus>Active</ruleStatus></matchingRules></MatchingRules>""",
    )
    result = import_sfdx(tmp_path)
    assert result.resources["DuplicateRule/Contact.Same_Email"].spec == {
        "active": True,
        "match": [{"field": "Email", "method": "exact"}, {"field": "LastName", "method": "fuzzy"}],
        "action": {"onCreate": "block", "onEdit": "alert"},
    }
    assert [line.render() for line in result.report] == [
        "force-app/main/default/duplicateRules/Contact.Same_Email.duplicateRule-meta.xml: "
        "DuplicateRule/Contact.Same_Email: its matching rule Email_Match is kept in the rule; crmctl "
        "deploys it as the matching rule Same_Email (the duplicate rule's own name) (the rest is converted)"
    ]
    written = write_manifests(result, tmp_path / "out")
    assert [p.relative_to(tmp_path / "out").as_posix() for p in written] == ["duplicate-rules.yaml"]


def test_a_profile_is_reported_and_left_to_the_org_not_converted(tmp_path: Path) -> None:
    base = tmp_path / "src"
    _xml(
        base / "objects" / "Ticket__c" / "Ticket__c.object-meta.xml",
        f"""
<CustomObject {NS}><label>Ticket</label><pluralLabel>Tickets</pluralLabel>
<nameField><label>Ticket Number</label><type>AutoNumber</type><displayFormat>T-{{0000}}</displayFormat></nameField>
<sharingModel>Private</sharingModel><deploymentStatus>Deployed</deploymentStatus></CustomObject>""",
    )
    _xml(
        base / "objects" / "Ticket__c" / "fields" / "Note__c.field-meta.xml",
        f"""
<CustomField {NS}><fullName>Note__c</fullName><label>Note</label><type>Text</type><length>80</length></CustomField>""",
    )
    _xml(
        base / "profiles" / "Support Agent.profile-meta.xml",
        f"""
<Profile {NS}><custom>true</custom>
<fieldPermissions><editable>true</editable><field>Ticket__c.Note__c</field><readable>true</readable></fieldPermissions>
<layoutAssignments><layout>Ticket__c-Ticket Layout</layout></layoutAssignments>
<objectPermissions><allowCreate>true</allowCreate><allowDelete>false</allowDelete><allowEdit>true</allowEdit>
<allowRead>true</allowRead><modifyAllRecords>false</modifyAllRecords><object>Ticket__c</object>
<viewAllRecords>false</viewAllRecords></objectPermissions>
<userPermissions><enabled>true</enabled><name>ApiEnabled</name></userPermissions>
<userLicense>Salesforce</userLicense></Profile>""",
    )
    _xml(base / "layouts" / "Ticket__c-Ticket Layout.layout-meta.xml", f"<Layout {NS}/>")
    result = import_sfdx(base)
    assert sorted(result.resources) == ["CustomField/Ticket__c.Note__c", "CustomObject/Ticket__c"]
    lines = [line.render() for line in result.report]
    assert (
        "layouts/Ticket__c-Ticket Layout.layout-meta.xml: layout metadata is not converted: crmctl has no equivalent"
        in lines
    )
    assert (
        "profiles/Support Agent.profile-meta.xml: Profile/Support Agent: profile not converted: "
        "crmctl does not manage profiles and never deploys one, so the org keeps it as it is "
        "(its permissions, layout and record-type assignments, login settings); grant access "
        "through permission sets"
    ) in lines
    assert result.resources["CustomObject/Ticket__c"].spec["recordName"] == {
        "label": "Ticket Number", "type": "AutoNumber", "displayFormat": "T-{0000}"}  # fmt: skip


def test_the_command_prints_the_report_and_refuses_to_overwrite(tmp_path: Path, crmctl) -> None:
    base = tmp_path / "src"
    _xml(base / "roles" / "CEO.role-meta.xml", f"<Role {NS}><name>Chief</name></Role>")
    _xml(base / "flows" / "Hello.flow-meta.xml", f"<Flow {NS}/>")
    out = tmp_path / "manifests"
    r = crmctl("import", "--from", "sfdx", str(base), "--out", str(out))
    assert r.exit_code == 0, r.output
    assert "  roles.yaml  1 resource" in r.out
    assert (
        "Not converted (1):\n  flows/Hello.flow-meta.xml: flow metadata is not converted" in r.out
    )
    assert "Imported 1 resources (1 Role)" in r.out
    docs = list(yaml.safe_load_all((out / "roles.yaml").read_text()))
    assert docs == [{"apiVersion": "crmctl/v1", "kind": "Role", "metadata": {"name": "CEO"},
                     "spec": {"label": "Chief"}}]  # fmt: skip
    r = crmctl("import", "--from", "sfdx", str(base), "--out", str(out))
    assert r.exit_code == 1
    assert "1 file(s) to write already exist" in r.err and "--force" in r.err
    assert (
        crmctl("import", "--from", "sfdx", str(base), "--out", str(out), "--force").exit_code == 0
    )
    r = crmctl("import", "--from", "sfdx", str(base), "--all")
    assert r.exit_code == 1 and "--from imports a project" in r.err
