"""`ConfigIndex.add` / `remove`: an index kept up to date equals one built from scratch."""

from __future__ import annotations

from pathlib import Path

from crmctl.config.environment import load_environment
from crmctl.config.loader import load_desired_state
from crmctl.kinds import ConfigIndex
from crmctl.model import Resource

REPO = Path(__file__).resolve().parents[2]


def _example() -> list[Resource]:
    state = load_desired_state(load_environment("local", REPO))
    assert not state.errors
    return list(state.resources.values())


def _same(a: ConfigIndex, b: ConfigIndex) -> None:
    assert a.objects == b.objects
    assert a.custom_objects == b.custom_objects
    assert a.fields == b.fields
    assert a.field_resources.keys() == b.field_resources.keys()
    assert a.relationships == b.relationships
    assert a.roles == b.roles
    assert a.permission_sets == b.permission_sets


def test_adding_one_by_one_equals_building_at_once() -> None:
    resources = _example()
    grown = ConfigIndex([])
    for resource in reversed(resources):  # order must not matter
        grown.add(resource)
    _same(grown, ConfigIndex(resources))


def test_removing_each_resource_equals_building_without_it() -> None:
    resources = _example()
    for gone in resources:
        index = ConfigIndex(resources)
        index.remove(gone.kind, gone.name)
        _same(index, ConfigIndex([r for r in resources if r is not gone]))


def test_replacing_a_lookup_moves_its_relationship() -> None:
    before = Resource(
        "CustomField", "Contact.Boss__c", {"type": "Lookup", "referenceTo": "Contact"}
    )
    after = Resource("CustomField", "Contact.Boss__c", {"type": "Text"})
    index = ConfigIndex([before])
    assert index.relationships[("contact", "boss__r")] == "Contact"
    index.add(after)
    _same(index, ConfigIndex([after]))
    assert index.field("Contact", "boss__c") == ("Boss__c", "Text")


def test_removing_an_object_keeps_fields_declared_on_it() -> None:
    obj = Resource("CustomObject", "Invoice__c", {"label": "Invoice"})
    field = Resource("CustomField", "Invoice__c.Amount__c", {"type": "Number"})
    index = ConfigIndex([obj, field])
    index.remove("CustomObject", "Invoice__c")
    _same(index, ConfigIndex([field]))
    assert not index.has_object("Invoice__c")
