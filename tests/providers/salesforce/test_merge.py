"""An update rewrites only what changed in the org's own XML; everything else survives."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET

import pytest

from crmctl.model import Resource
from crmctl.plan import canonical
from crmctl.providers.salesforce import metadata_xml as mx
from crmctl.providers.salesforce import package
from crmctl.providers.salesforce.merge import MergeError

NS = 'xmlns="http://soap.sforce.com/2006/04/metadata"'

LOOKUP = f"""<CustomObject {NS}>
    <fields>
        <fullName>Account__c</fullName>
        <deleteConstraint>SetNull</deleteConstraint>
        <externalId>false</externalId>
        <inlineHelpText>Which employer</inlineHelpText>
        <label>Account</label>
        <lookupFilter>
            <active>true</active>
            <filterItems>
                <field>Account.IsPersonAccount</field>
                <operation>equals</operation>
                <value>False</value>
            </filterItems>
            <isOptional>false</isOptional>
        </lookupFilter>
        <referenceTo>Account</referenceTo>
        <relationshipLabel>Job postings</relationshipLabel>
        <relationshipName>JobPostings</relationshipName>
        <securityClassification>Public</securityClassification>
        <trackFeedHistory>true</trackFeedHistory>
        <trackHistory>true</trackHistory>
        <type>Lookup</type>
        <futureElement>kept as it is</futureElement>
    </fields>
</CustomObject>"""

GLOBAL_PICKLIST = f"""<CustomObject {NS}>
    <fields>
        <fullName>Sector__c</fullName>
        <label>Sector</label>
        <required>false</required>
        <trackTrending>false</trackTrending>
        <type>Picklist</type>
        <valueSet>
            <restricted>true</restricted>
            <valueSetName>Sectors</valueSetName>
        </valueSet>
    </fields>
</CustomObject>"""
SECTORS = f"""<GlobalValueSet {NS}>
    <customValue><fullName>Public</fullName><default>false</default><label>Public</label></customValue>
    <customValue><fullName>Private</fullName><default>false</default><label>Private</label></customValue>
    <masterLabel>Sectors</masterLabel>
</GlobalValueSet>"""

DEPENDENT_PICKLIST = f"""<CustomObject {NS}>
    <fields>
        <fullName>Sub__c</fullName>
        <label>Sub</label>
        <type>Picklist</type>
        <valueSet>
            <controllingField>Main__c</controllingField>
            <restricted>true</restricted>
            <valueSetDefinition>
                <sorted>false</sorted>
                <value>
                    <fullName>A1</fullName>
                    <color>#FF0000</color>
                    <default>false</default>
                    <label>A1</label>
                </value>
                <value>
                    <fullName>B1</fullName>
                    <default>false</default>
                    <label>B1</label>
                </value>
            </valueSetDefinition>
            <valueSettings>
                <controllingFieldValue>A</controllingFieldValue>
                <valueName>A1</valueName>
            </valueSettings>
            <valueSettings>
                <controllingFieldValue>B</controllingFieldValue>
                <valueName>B1</valueName>
            </valueSettings>
        </valueSet>
    </fields>
</CustomObject>"""

OBJECT = f"""<CustomObject {NS}>
    <actionOverrides>
        <actionName>View</actionName>
        <type>Default</type>
    </actionOverrides>
    <allowInChatterGroups>false</allowInChatterGroups>
    <compactLayoutAssignment>SYSTEM</compactLayoutAssignment>
    <deploymentStatus>Deployed</deploymentStatus>
    <enableHistory>true</enableHistory>
    <enableReports>true</enableReports>
    <externalSharingModel>Private</externalSharingModel>
    <fields>
        <fullName>Note__c</fullName>
        <label>Note</label>
        <length>80</length>
        <type>Text</type>
    </fields>
    <label>Job posting</label>
    <listViews>
        <fullName>All</fullName>
        <filterScope>Everything</filterScope>
        <label>All</label>
    </listViews>
    <nameField>
        <label>Title</label>
        <trackHistory>true</trackHistory>
        <type>Text</type>
    </nameField>
    <pluralLabel>Job postings</pluralLabel>
    <searchLayouts/>
    <sharingModel>ReadWrite</sharingModel>
    <visibility>Public</visibility>
</CustomObject>"""

ROLE = f"""<Role {NS}>
    <caseAccessLevel>None</caseAccessLevel>
    <contactAccessLevel>Read</contactAccessLevel>
    <mayForecastManagerShare>false</mayForecastManagerShare>
    <name>Sales</name>
    <opportunityAccessLevel>Edit</opportunityAccessLevel>
    <parentRole>CEO</parentRole>
</Role>"""

PERMISSION_SET = f"""<PermissionSet {NS}>
    <applicationVisibilities>
        <application>Sales_App</application>
        <visible>true</visible>
    </applicationVisibilities>
    <classAccesses>
        <apexClass>JobPostingController</apexClass>
        <enabled>true</enabled>
    </classAccesses>
    <fieldPermissions>
        <editable>false</editable>
        <field>JobPosting__c.Note__c</field>
        <readable>true</readable>
    </fieldPermissions>
    <hasActivationRequired>false</hasActivationRequired>
    <label>Recruiter</label>
    <objectPermissions>
        <allowCreate>false</allowCreate>
        <allowDelete>false</allowDelete>
        <allowEdit>false</allowEdit>
        <allowRead>true</allowRead>
        <modifyAllRecords>false</modifyAllRecords>
        <object>JobPosting__c</object>
        <viewAllFields>true</viewAllFields>
        <viewAllRecords>false</viewAllRecords>
    </objectPermissions>
    <recordTypeVisibilities>
        <recordType>JobPosting__c.Internal</recordType>
        <visible>true</visible>
    </recordTypeVisibilities>
    <tabSettings>
        <tab>JobPosting__c</tab>
        <visibility>Visible</visibility>
    </tabSettings>
    <userPermissions>
        <enabled>true</enabled>
        <name>ApiEnabled</name>
    </userPermissions>
</PermissionSet>"""


def _org(files: dict[str, str]) -> dict[str, package.Component]:
    """The components of a retrieve answering `files`, by address."""
    data = {name: text.encode() for name, text in files.items()}
    data["package.xml"] = mx.package_xml({}, "61.0")
    contents = package.read_zip(package.zip_files(data))
    return {f"{c.type}/{c.full_name}": c for c in contents.components}


def _update(
    component: package.Component, change, matching: package.Component | None = None
) -> ET.Element:
    """Deploy an update of `component` made by `change(spec)`; the component's XML deployed."""
    kind, name = component.kind, component.full_name
    before = canonical(kind, component.converted.spec)
    after = copy.deepcopy(before)
    change(after)
    after = canonical(kind, after)
    live = {
        f"{kind}/{name}": package.Live(
            before, component.element, matching.element if matching else None
        )
    }
    deployed = package.read_zip(package.deploy_zip([Resource(kind, name, after)], live=live))
    found = {(c.type, c.full_name): c for c in deployed.components}
    return found[(component.type, name)].element


def _canonical(element: ET.Element) -> str:
    """The element's XML without indentation, to compare content and order."""
    element = copy.deepcopy(element)
    for item in element.iter():
        item.text = (item.text or "").strip() or None
        item.tail = None
    return ET.tostring(element, encoding="unicode")


def _only_changed(before: ET.Element, after: ET.Element, tag: str, value: str) -> None:
    expected = copy.deepcopy(before)
    expected.find(tag).text = value
    assert _canonical(after) == _canonical(expected)


def _relabel(spec: dict) -> None:
    spec["label"] = "Renamed"


def test_a_lookup_keeps_its_filter_tracking_relationship_label_and_unknown_elements() -> None:
    field = _org({"objects/JobPosting__c.object": LOOKUP})["CustomField/JobPosting__c.Account__c"]
    deployed = _update(field, _relabel)
    _only_changed(field.element, deployed, "label", "Renamed")
    assert mx.text(deployed, "relationshipLabel") == "Job postings"
    assert mx.text(deployed.find("lookupFilter/filterItems"), "field") == "Account.IsPersonAccount"
    assert (mx.text(deployed, "trackHistory"), mx.text(deployed, "trackFeedHistory")) == (
        "true",
        "true",
    )
    assert mx.text(deployed, "futureElement") == "kept as it is"


def test_a_security_classification_crmctl_did_not_change_is_kept() -> None:
    field = _org({"objects/JobPosting__c.object": LOOKUP})["CustomField/JobPosting__c.Account__c"]
    assert mx.text(_update(field, _relabel), "securityClassification") == "Public"


def test_a_classification_change_keeps_other_compliance_groups() -> None:
    xml = LOOKUP.replace(
        "<securityClassification>Public</securityClassification>",
        "<complianceGroup>GDPR</complianceGroup><securityClassification>Public</securityClassification>",
    )
    field = _org({"objects/JobPosting__c.object": xml})["CustomField/JobPosting__c.Account__c"]
    deployed = _update(field, lambda spec: spec.update(classification="PII"))
    assert mx.text(deployed, "securityClassification") == "Confidential"
    assert mx.text(deployed, "complianceGroup") == "GDPR;PII"


def test_a_global_value_set_picklist_keeps_its_value_set_name() -> None:
    org = _org(
        {
            "objects/Account.object": GLOBAL_PICKLIST,
            "globalValueSets/Sectors.globalValueSet": SECTORS,
        }
    )
    field = org["CustomField/Account.Sector__c"]
    deployed = _update(field, _relabel)
    _only_changed(field.element, deployed, "label", "Renamed")
    assert mx.text(deployed.find("valueSet"), "valueSetName") == "Sectors"
    assert deployed.find("valueSet/valueSetDefinition") is None


def test_changing_the_values_of_a_global_value_set_picklist_is_refused() -> None:
    field = _org(
        {
            "objects/Account.object": GLOBAL_PICKLIST,
            "globalValueSets/Sectors.globalValueSet": SECTORS,
        }
    )["CustomField/Account.Sector__c"]
    assert field.converted.spec["valueSetName"] == "Sectors"

    def own_values(spec: dict) -> None:  # a manifest that lists values instead of the set
        del spec["valueSetName"]
        spec["values"] = [{"value": "Public"}, {"value": "NGO"}]

    with pytest.raises(MergeError) as caught:
        _update(field, own_values)
    assert caught.value.failures == {
        "CustomField/Account.Sector__c": "its values come from the global value set Sectors: "
        "change them there (Salesforce would turn the field into one with its own values); "
        "declare valueSetName: Sectors instead of values, and the values in GlobalValueSet/Sectors"
    }


def test_a_dependent_picklist_keeps_its_value_settings_when_a_value_is_added() -> None:
    field = _org({"objects/Account.object": DEPENDENT_PICKLIST})["CustomField/Account.Sub__c"]
    deployed = _update(field, lambda spec: spec["values"].append({"value": "C1"}))
    value_set = deployed.find("valueSet")
    assert mx.text(value_set, "controllingField") == "Main__c"
    assert [(mx.text(s, "controllingFieldValue"), mx.text(s, "valueName"))
            for s in value_set.findall("valueSettings")] == [("A", "A1"), ("B", "B1")]  # fmt: skip
    values = value_set.findall("valueSetDefinition/value")
    assert [mx.text(v, "fullName") for v in values] == ["A1", "B1", "C1"]
    assert mx.text(values[0], "color") == "#FF0000"


def test_a_dependent_picklist_relabelled_is_otherwise_untouched() -> None:
    field = _org({"objects/Account.object": DEPENDENT_PICKLIST})["CustomField/Account.Sub__c"]
    _only_changed(field.element, _update(field, _relabel), "label", "Renamed")


def test_an_object_keeps_its_external_sharing_overrides_and_settings() -> None:
    org = _org({"objects/JobPosting__c.object": OBJECT})
    obj = org["CustomObject/JobPosting__c"]
    deployed = _update(obj, _relabel)
    assert [item.tag for item in deployed] == [item.tag for item in obj.element]
    assert "fields" not in [item.tag for item in deployed]  # its fields are not redeployed
    _only_changed(obj.element, deployed, "label", "Renamed")
    assert mx.text(deployed, "externalSharingModel") == "Private"
    assert mx.text(deployed.find("nameField"), "trackHistory") == "true"


def test_a_stricter_sharing_model_narrows_a_wider_external_one_only() -> None:
    xml = OBJECT.replace(
        "<externalSharingModel>Private", "<externalSharingModel>ReadWrite"
    ).replace("<sharingModel>ReadWrite", "<sharingModel>ReadWrite")
    obj = _org({"objects/JobPosting__c.object": xml})["CustomObject/JobPosting__c"]
    deployed = _update(obj, lambda spec: spec.update(sharingModel="Read"))
    assert (mx.text(deployed, "sharingModel"), mx.text(deployed, "externalSharingModel")) == (
        "Read",
        "Read",
    )
    private = _org({"objects/JobPosting__c.object": OBJECT})["CustomObject/JobPosting__c"]
    deployed = _update(private, lambda spec: spec.update(sharingModel="Read"))
    assert mx.text(deployed, "externalSharingModel") == "Private"


def test_a_role_keeps_its_case_contact_and_opportunity_access() -> None:
    role = _org({"roles/Sales.role": ROLE})["Role/Sales"]
    deployed = _update(role, _relabel)
    expected = copy.deepcopy(role.element)
    expected.find("name").text = "Renamed"
    assert _canonical(deployed) == _canonical(expected)
    assert [mx.text(deployed, t) for t in ("caseAccessLevel", "contactAccessLevel",
                                           "opportunityAccessLevel")] == ["None", "Read", "Edit"]  # fmt: skip


def test_a_permission_set_keeps_class_tab_record_type_and_app_access() -> None:
    pset = _org({"permissionsets/Recruiter.permissionset": PERMISSION_SET})[
        "PermissionSet/Recruiter"
    ]
    deployed = _update(pset, lambda spec: spec["fields"].update({"Account.Name": ["read"]}))
    assert mx.text(deployed.find("classAccesses"), "apexClass") == "JobPostingController"
    assert mx.text(deployed.find("tabSettings"), "visibility") == "Visible"
    assert (
        mx.text(deployed.find("recordTypeVisibilities"), "recordType") == "JobPosting__c.Internal"
    )
    assert mx.text(deployed.find("applicationVisibilities"), "application") == "Sales_App"
    assert mx.text(deployed.find("objectPermissions"), "viewAllFields") == "true"
    fields = [mx.text(f, "field") for f in deployed.findall("fieldPermissions")]
    assert fields == ["Account.Name", "JobPosting__c.Note__c"]
    expected = copy.deepcopy(pset.element)
    added = copy.deepcopy(deployed.findall("fieldPermissions")[0])
    expected.insert(list(expected).index(expected.find("fieldPermissions")), added)
    assert _canonical(deployed) == _canonical(expected)


def test_a_permission_set_change_of_object_access_keeps_view_all_fields() -> None:
    pset = _org({"permissionsets/Recruiter.permissionset": PERMISSION_SET})[
        "PermissionSet/Recruiter"
    ]
    deployed = _update(
        pset, lambda spec: spec["objects"].update({"JobPosting__c": ["read", "edit"]})
    )
    item = deployed.find("objectPermissions")
    assert (mx.text(item, "allowEdit"), mx.text(item, "viewAllFields")) == ("true", "true")


def test_a_removed_system_permission_is_dropped_and_the_rest_kept() -> None:
    pset = _org({"permissionsets/Recruiter.permissionset": PERMISSION_SET})[
        "PermissionSet/Recruiter"
    ]
    deployed = _update(pset, lambda spec: spec.pop("system"))
    assert deployed.find("userPermissions") is None
    assert deployed.find("classAccesses") is not None


def test_a_new_component_gets_salesforce_defaults_not_crmctl_guesses() -> None:
    field = mx.field_xml("Note__c", {"type": "Text", "label": "Note"})
    assert field.find("securityClassification") is None
    role = mx.role_xml({"label": "Sales", "parent": "CEO"})
    assert [item.tag for item in role] == ["name", "parentRole"]
    obj = mx.object_xml({"label": "Ticket", "sharingModel": "Private"})
    assert obj.find("externalSharingModel") is None
    assert mx.text(obj, "sharingModel") == "Private"
