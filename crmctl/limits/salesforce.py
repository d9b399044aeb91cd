"""How long Salesforce lets names and texts be, per crmctl kind (checked by `crmctl validate`).

Sources (Salesforce documentation, checked 2026-11):
- Custom objects and fields: "the character limit for creating field names and
  labels is 40 characters" (Knowledge article 000381913); an object's API name
  is at most 40 characters before its `__c` suffix, and so is its label.
- Validation rules: "Rule Name: unique identifier of up to 40 characters";
  description "255-character or less" (Help: Validation Rules Fields);
  the error message is at most 255 characters; a formula holds up to 3,900
  characters, spaces and line breaks included (Help: Formula Field Limits).
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
    "CustomField": {"name": 40, "label": 40, "helpText": 510},
    "ValidationRule": {"name": 40, "errorMessage": 255, "description": 255, "condition": 3900},
    "DuplicateRule": {"name": 80},
    "Role": {"name": 80, "label": 80},
    "PermissionSet": {"name": 80, "label": 80, "description": 255},
    "User": {"name": 80, "firstName": 40, "lastName": 80},
    "RetentionPolicy": {},
}
