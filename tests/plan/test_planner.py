"""The planner over in-memory states: no CRM involved (it is pure)."""

from crmctl.errors import Severity, SourceLocation
from crmctl.model import Resource
from crmctl.plan import Action, PlanInputs, canonical, make_plan


def res(kind, name, **spec):
    return Resource(kind, name, spec)


def by_address(*resources):
    return {r.address: r for r in resources}


OBJ = res("CustomObject", "Invoice__c", label="Invoice")
FIELD = res("CustomField", "Invoice__c.Amount__c", type="Number", label="Amount")
RULE = res("ValidationRule", "Invoice__c.Positive", condition="Amount__c <= 0", errorMessage="No")
ROLE_CEO = res("Role", "CEO", label="CEO")
ROLE_VP = res("Role", "VP", label="VP", parent="CEO")
PS = res("PermissionSet", "Reader", label="Reader", fields={"Invoice__c.Amount__c": ["read"]})
USER = res(
    "User", "a@b.example", email="a@b.example", lastName="A", role="VP", permissionSets=["Reader"]
)


def plan_of(desired, live=(), **kw):
    return make_plan(PlanInputs("test", by_address(*desired), by_address(*live), **kw))


def test_creates_follow_dependencies_whatever_the_input_order():
    plan = plan_of([USER, PS, RULE, FIELD, ROLE_VP, ROLE_CEO, OBJ])
    assert [c.address for c in plan.changes] == [
        "CustomObject/Invoice__c",
        "CustomField/Invoice__c.Amount__c",
        "ValidationRule/Invoice__c.Positive",
        "Role/CEO",
        "Role/VP",
        "PermissionSet/Reader",
        "User/a@b.example",
    ]
    assert {c.action for c in plan.changes} == {Action.CREATE}
    assert plan.summary() == "Plan: 7 to add, 0 to change, 0 to destroy."


def test_deletes_run_last_in_reverse_dependency_order():
    live = [OBJ, FIELD, RULE]
    plan = plan_of([], live, managed={r.address for r in live})
    assert [(c.action, c.address) for c in plan.changes] == [
        (Action.DELETE, "ValidationRule/Invoice__c.Positive"),
        (Action.DELETE, "CustomField/Invoice__c.Amount__c"),
        (Action.DELETE, "CustomObject/Invoice__c"),
    ]


def test_live_resources_not_managed_are_unmanaged_and_never_deleted():
    plan = plan_of([OBJ], [OBJ, ROLE_CEO])
    assert plan.changes == []
    assert plan.unmanaged == ["Role/CEO"]
    assert plan.summary() == "No changes. The CRM matches the manifests."


def test_equal_after_canonicalisation_means_no_change():
    live = Resource("PermissionSet", "Reader", canonical("PermissionSet", PS.spec))
    desired = res(
        "PermissionSet",
        "Reader",
        label="Reader",
        fields={"Invoice__c.Amount__c": ["read"]},
        objects={},
    )
    assert plan_of([desired], [live]).changes == []


def test_update_carries_field_diff_and_live_fingerprint():
    live = res("Role", "VP", label="Vice President", parent="CEO")
    plan = plan_of([ROLE_VP], [live])
    [change] = plan.changes
    assert change.action is Action.UPDATE
    assert [(d.path, d.before, d.after) for d in change.diffs] == [
        ("label", "Vice President", "VP")
    ]
    assert change.live_fingerprint is not None and len(change.live_fingerprint) == 64


def test_replace_when_the_provider_says_so():
    live = res("CustomField", "Invoice__c.Amount__c", type="Text", label="Amount")

    def rule(kind, before, after):
        return "cannot convert" if before["type"] != after["type"] else None

    [change] = plan_of([FIELD], [live], requires_replace=rule).changes
    assert change.action is Action.REPLACE
    assert change.reason == "cannot convert"
    assert plan_of([FIELD], [live], requires_replace=rule).counts() == {
        "add": 1,
        "change": 0,
        "destroy": 1,
    }


def test_deleting_a_protected_resource_is_an_error():
    where = SourceLocation("environments/prod.yaml", 30)
    plan = plan_of([], [OBJ], managed={OBJ.address}, protect=[("CustomObject/*", where)])
    [error] = plan.errors
    assert error.render() == (
        "environments/prod.yaml:30: CustomObject/Invoice__c: refusing to delete a protected resource "
        "(protect: CustomObject/*)"
    )
    assert not plan.applicable


def test_target_and_exclude_select_changes_by_glob():
    everything = [OBJ, FIELD, RULE, ROLE_CEO, ROLE_VP]
    plan = plan_of(everything, targets=["CustomField/*", "Role/*"], excludes=["Role/VP"])
    assert [c.address for c in plan.changes] == ["CustomField/Invoice__c.Amount__c", "Role/CEO"]


def test_unsupported_kinds_are_reported_not_silently_skipped():
    retention = res(
        "RetentionPolicy",
        "Old",
        object="Lead",
        dateField="CreatedDate",
        retain="P1Y",
        action="delete",
        legalBasis="x",
    )
    plan = plan_of([OBJ, retention], supported_kinds=("CustomObject",))
    assert [c.address for c in plan.changes] == ["CustomObject/Invoice__c"]
    [warning] = plan.diagnostics
    assert warning.severity is Severity.WARNING
    assert (
        warning.message
        == "RetentionPolicy: 1 resource not planned: this provider does not support RetentionPolicy"
    )
    assert plan.applicable


def test_a_relationship_name_spelled_as_the_default_is_the_same_field():
    spelled = res(
        "CustomField",
        "Invoice__c.Account__c",
        type="Lookup",
        label="Account",
        referenceTo="Account",
        relationshipName="Account",
    )
    implied = res(
        "CustomField",
        "Invoice__c.Account__c",
        type="Lookup",
        label="Account",
        referenceTo="Account",
    )
    assert plan_of([spelled], [implied]).changes == []
    assert plan_of([implied], [spelled]).changes == []
    other = res(
        "CustomField",
        "Invoice__c.Account__c",
        type="Lookup",
        label="Account",
        referenceTo="Account",
        relationshipName="Customer",
    )
    [change] = plan_of([other], [implied]).changes
    assert [(d.path, d.before, d.after) for d in change.diffs] == [
        ("relationshipName", None, "Customer")
    ]


def test_permission_entries_on_what_the_manifests_do_not_define_are_kept_and_not_shown():
    # The org's permission set also grants access to an object of another package
    # (Other__c) and to a field crmctl leaves alone (Invoice__c.Where__c, a Location field):
    # no manifest of this configuration can name them (validate refuses them).
    live = res("PermissionSet", "Reader", label="Reader",
               objects={"Invoice__c": ["read"], "Other__c": ["read", "edit"]},
               fields={"Invoice__c.Amount__c": ["read"], "Invoice__c.Where__c": ["read"],
                       "Other__c.Code__c": ["read", "edit"]})  # fmt: skip
    desired = res("PermissionSet", "Reader", label="Reader", objects={"Invoice__c": ["read"]},
                  fields={"Invoice__c.Amount__c": ["read"]})  # fmt: skip
    assert (
        plan_of([OBJ, FIELD, desired], [OBJ, FIELD, live], managed={"PermissionSet/Reader"}).changes
        == []
    )

    # A change the manifests do make keeps them in the desired spec, so a provider that
    # writes whole specs keeps them too; the diff shows only the declared change.
    desired.spec["fields"] = {"Invoice__c.Amount__c": ["read", "edit"]}
    [change] = plan_of([OBJ, FIELD, desired], [OBJ, FIELD, live]).changes
    assert change.action is Action.UPDATE
    assert change.after["objects"] == {"Invoice__c": ["read"], "Other__c": ["read", "edit"]}
    assert change.after["fields"] == {
        "Invoice__c.Amount__c": ["read", "edit"],
        "Invoice__c.Where__c": ["read"],
        "Other__c.Code__c": ["read", "edit"],
    }
    assert [d.path for d in change.diffs] == ["fields.Invoice__c.Amount__c"]

    # Entries on what the manifests define are crmctl's: one the manifests drop is removed.
    desired.spec["fields"] = {}
    [change] = plan_of([OBJ, FIELD, desired], [OBJ, FIELD, live]).changes
    assert "Invoice__c.Amount__c" not in change.after["fields"]
    assert "Invoice__c.Where__c" in change.after["fields"]


def test_whitespace_around_a_formula_is_no_change():
    # A YAML block ends in a newline; the Salesforce CLI trims the XML text it converts.
    rule = res(
        "ValidationRule", "Invoice__c.Positive", condition="Amount__c <= 0\n", errorMessage="No"
    )
    field = res("CustomField", "Invoice__c.Double__c", type="Formula", returnType="Number",
                formula="  Amount__c * 2\n", label="Double")  # fmt: skip
    live_rule = res(
        "ValidationRule", "Invoice__c.Positive", condition="Amount__c <= 0", errorMessage="No"
    )
    live_field = res("CustomField", "Invoice__c.Double__c", type="Formula", returnType="Number",
                     formula="Amount__c * 2", label="Double")  # fmt: skip
    assert plan_of([OBJ, FIELD, rule, field], [OBJ, FIELD, live_rule, live_field]).changes == []
    live_rule.spec["condition"] = "Amount__c < 0"
    [change] = plan_of([OBJ, FIELD, rule, field], [OBJ, FIELD, live_rule, live_field]).changes
    assert change.after["condition"] == "Amount__c <= 0"


def test_permission_entries_on_an_object_the_plan_deletes_go_with_it():
    other = res("CustomObject", "Other__c", label="Other")
    code = res("CustomField", "Other__c.Code__c", type="Text", label="Code")
    live = res("PermissionSet", "Reader", label="Reader",
               objects={"Invoice__c": ["read"], "Other__c": ["read"]},
               fields={"Other__c.Code__c": ["read"]})  # fmt: skip
    desired = res("PermissionSet", "Reader", label="Reader", objects={"Invoice__c": ["read"]})
    managed = {"CustomObject/Other__c", "CustomField/Other__c.Code__c", "PermissionSet/Reader"}
    plan = plan_of([OBJ, desired], [OBJ, other, code, live], managed=managed)
    [change] = [c for c in plan.changes if c.kind == "PermissionSet"]
    assert change.after["objects"] == {"Invoice__c": ["read"]}
    assert change.after["fields"] == {}
    assert sorted(c.address for c in plan.changes if c.action is Action.DELETE) == [
        "CustomField/Other__c.Code__c", "CustomObject/Other__c"]  # fmt: skip
    # Not crmctl's (never applied by it): the object stays, and so do the entries.
    assert (
        plan_of([OBJ, desired], [OBJ, other, code, live], managed={"PermissionSet/Reader"}).changes
        == []
    )


def test_a_change_shares_the_address_string_of_its_desired_resource():
    desired = by_address(OBJ, FIELD)
    plan = make_plan(PlanInputs("test", desired, {}))
    keys = {address: address for address in desired}
    for change in plan.changes:
        assert change.address == f"{change.kind}/{change.name}"
        assert change.address is keys[change.address]


def test_a_restore_towards_a_snapshot_removes_entries_on_what_the_snapshot_defines():
    # A failed apply granted Secret__c; the restore plans only the permission set towards the
    # snapshot from before the apply, which defines Secret__c: the grant is crmctl's to remove.
    secret = res("CustomObject", "Secret__c", label="Secret")
    before = res("PermissionSet", "Reader", label="Reader", objects={"Invoice__c": ["read"]})
    live = res("PermissionSet", "Reader", label="Reader",
               objects={"Invoice__c": ["read"], "Secret__c": ["read", "edit"]})  # fmt: skip
    snapshot = by_address(OBJ, secret, before)
    [change] = plan_of(
        [before], [live], managed={"PermissionSet/Reader"}, declared=snapshot
    ).changes
    assert change.action is Action.UPDATE
    assert change.after["objects"] == {"Invoice__c": ["read"]}
    # Without the snapshot, Secret__c is not in the configuration: the entry is kept.
    assert plan_of([before], [live], managed={"PermissionSet/Reader"}).changes == []
