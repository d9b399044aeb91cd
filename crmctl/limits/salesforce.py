"""How long Salesforce lets names and texts be, per crmctl kind (checked by `crmctl validate`).

Sources (Salesforce documentation, checked 2026-11):
- Custom objects and fields: "the character limit for creating field names and
  labels is 40 characters" (Knowledge article 000381913); an object's API name
  is at most 40 characters before its `__c` suffix, and so is its label.
- Validation rules: "Rule Name: unique identifier of up to 40 characters";
  description "255-character or less" (Help: Validation Rules Fields);
  the error message is at most 255 characters; a formula holds up to 3,900
  characters, spaces and line breaks included (Help: Formula Field Limits).
- A custom object's Record Name label (`recordName.label`) is not capped:
  Salesforce documents no limit for it. The 40-character limit of field
  labels does not hold for it (a released managed package ships a
  43-character one), and neither the Metadata API Developer Guide
  (CustomObject `nameField`) nor Help ("Custom Object Definition", "Schema
  Builder Custom Object Definition": Record Name) states a length; the
  80 characters Help names for a Text Record Name are the length of a
  record's name value, not of the label. Salesforce refuses a label it
  finds too long at deploy, on that component (`plan --validate` shows it).
- StandardField help text: 510, as a custom field's (Help: Custom Field
  Attributes, "Help Text").
- CustomField formula: up to 3,900 characters, as a validation rule's (Help:
  Formula Field Limits).
- GlobalValueSet (Field Reference, GlobalValueSet / Metadata API): MasterLabel
  80, DeveloperName 80; at most 1,000 values (Help: Picklist Limits).
- RecordType (Object Reference, RecordType): DeveloperName 80, Name (the
  label) 80, Description 255.
- UserRole (Field Reference): DeveloperName 80, Name (the label) 80.
- PermissionSet (Field Reference): Name (API name) 80, Label 80, Description 255.
- DuplicateRule (Field Reference): DeveloperName 80, MasterLabel 80.
- User (Field Reference): Username 80, FirstName 40, LastName 80.
  Email's limit is not in these sources, so it is not checked here.
- RetentionPolicy has no Salesforce metadata type: plans list it as not planned.

Keys: `name` is the API name as the CRM counts it (the part after `Object.`,
without `__c`); other keys are paths into `spec`.
"""

from __future__ import annotations

__all__ = ["SALESFORCE_LIMITS"]

SALESFORCE_LIMITS: dict[str, dict[str, int]] = {
    "CustomObject": {"name": 40, "label": 40, "pluralLabel": 40},
    "GlobalValueSet": {"name": 80, "label": 80},
    "CustomField": {"name": 40, "label": 40, "helpText": 510, "formula": 3900},
    "StandardField": {"helpText": 510},
    "RecordType": {"name": 80, "label": 80, "description": 255},
    "ValidationRule": {"name": 40, "errorMessage": 255, "description": 255, "condition": 3900},
    "DuplicateRule": {"name": 80},
    "Role": {"name": 80, "label": 80},
    "PermissionSet": {"name": 80, "label": 80, "description": 255},
    "User": {"name": 80, "firstName": 40, "lastName": 80},
    "RetentionPolicy": {},
}
