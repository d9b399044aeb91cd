"""Imported specs are short and mean exactly what the live spec means."""

from __future__ import annotations

from crmctl.importer.document import dump_document, manifest_document, reviewable_spec
from crmctl.kinds import HANDLERS


def test_defaults_and_what_canonical_adds_back_are_left_out() -> None:
    live = HANDLERS["CustomField"].canonical(
        {
            "type": "Picklist",
            "label": "Region",
            "values": ["EMEA", {"value": "APAC", "label": "Asia"}],
        }
    )
    assert live["required"] is False and live["values"][0] == {
        "value": "EMEA",
        "label": "EMEA",
        "default": False,
        "active": True,
    }
    assert reviewable_spec("CustomField", live) == {
        "type": "Picklist",
        "label": "Region",
        "values": ["EMEA", {"value": "APAC", "label": "Asia"}],
    }


def test_a_text_fields_default_length_is_left_out_but_not_another() -> None:
    assert reviewable_spec("CustomField", {"type": "Text", "label": "A", "length": 255}) == {
        "type": "Text",
        "label": "A",
    }
    assert reviewable_spec("CustomField", {"type": "Text", "label": "A", "length": 20}) == {
        "type": "Text",
        "label": "A",
        "length": 20,
    }


def test_keys_to_keep_stay_even_when_they_hold_the_default() -> None:
    spec = {"type": "Date", "label": "Due", "classification": "Internal"}
    assert reviewable_spec("CustomField", spec) == {"type": "Date", "label": "Due"}
    assert reviewable_spec("CustomField", spec, keep=["classification"]) == spec


def test_records_in_lists_lose_their_defaults_and_lead_with_their_key() -> None:
    live = {
        "active": True,
        "match": [{"method": "exact", "field": "Email"}, {"method": "fuzzy", "field": "Name"}],
        "action": {"onCreate": "alert", "onEdit": "alert"},
    }
    assert reviewable_spec("DuplicateRule", live) == {
        "match": [{"field": "Email"}, {"field": "Name", "method": "fuzzy"}],
        "action": {"onCreate": "alert"},
    }


def test_a_document_without_owner_says_where_the_owner_goes() -> None:
    doc = manifest_document(
        "ValidationRule",
        "Account.Name_Short",
        {"condition": "AND(\n  ISBLANK(Name),\n  TRUE\n)\n", "errorMessage": "yes"},
    )
    assert dump_document(doc) == (
        "apiVersion: crmctl/v1\n"
        "kind: ValidationRule\n"
        "metadata:\n"
        "  name: Account.Name_Short\n"
        "  # owner: TODO  (imported from the CRM: name the accountable team)\n"
        "spec:\n"
        "  condition: |\n"
        "    AND(\n"
        "      ISBLANK(Name),\n"
        "      TRUE\n"
        "    )\n"
        "  errorMessage: 'yes'\n"
    )
    owned = manifest_document("Role", "CEO", {"label": "CEO"}, {"owner": "crm-admins"})
    assert dump_document(owned) == (
        "apiVersion: crmctl/v1\nkind: Role\nmetadata:\n  name: CEO\n  owner: crm-admins\n"
        "spec:\n  label: CEO\n"
    )
