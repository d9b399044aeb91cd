"""Enforcement on every record write, over HTTP: types, required, unique, defaults, rules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .conftest import RecordsApi, RecordsOrg


@pytest.fixture
def admin(records_org: RecordsOrg) -> RecordsApi:
    return records_org.admin


@pytest.fixture
def account(admin: RecordsApi) -> str:
    """A fresh EMEA account: each test counts the orders of its own account."""
    return admin.made("Account", {"Name": f"Enforcement {id(object())}", "Region__c": "EMEA"})


def order(account: str, **fields: Any) -> dict[str, Any]:
    return {"Account__c": account, "Amount__c": 100, "Order_Date__c": "2025-01-15", **fields}


def orders_of(admin: RecordsApi, account: str) -> list[dict[str, Any]]:
    response = admin.query("Order__c", f"Account__c:eq:{account}")
    assert response.status_code == 200, response.text
    return [r["fields"] for r in response.json()["records"]]


def refused(response: Any, *errors: dict[str, Any], obj: str = "Order__c") -> None:
    """The response is 400 VALIDATION_FAILED listing exactly `errors`."""
    assert response.status_code == 400, response.text
    messages = "; ".join(e["message"].rstrip(".") for e in errors)
    assert response.json() == {
        "error": {
            "code": "VALIDATION_FAILED",
            "message": f"the {obj} record is not valid: {messages}",
            "details": {"errors": list(errors)},
        }
    }


def error(field: str | None, code: str, message: str, rule: str | None = None) -> dict[str, Any]:
    out = {"field": field, "code": code, "message": message}
    if rule:
        out["rule"] = rule
    return out


# ------------------------------------------------------------ field types

VALID = [
    ("Quantity__c", 12, 12),
    ("Quantity__c", 12.0, 12),
    ("Amount__c", 1234.5, 1234.5),
    ("Amount__c", 999999.99, 999999.99),
    ("Discount__c", 12.25, 12.25),
    ("Order_Date__c", "2024-02-29", "2024-02-29"),
    ("Rush__c", True, True),
    ("Gift_Wrap__c", False, False),
    ("Buyer_Email__c", "a.b+orders@shop.example", "a.b+orders@shop.example"),
    ("Buyer_Phone__c", "+47 22 00 00 00", "+47 22 00 00 00"),
    ("Tracking_Url__c", "https://track.example/1", "https://track.example/1"),
    ("Notes__c", "n" * 1000, "n" * 1000),
    ("Summary__c", "s" * 255, "s" * 255),
    ("Coupon__c", "50", "50"),
    ("Status__c", "Placed", "Placed"),
    ("Channels__c", "Web; Store;Web", "Web;Store"),
    ("Carrier__c", "", None),
]


@pytest.mark.parametrize(("field", "sent", "stored"), VALID)
def test_a_valid_value_is_stored_in_its_canonical_form(
    admin: RecordsApi, account: str, field: str, sent: Any, stored: Any
) -> None:
    record_id = admin.made("Order__c", order(account, **{field: sent}))
    assert admin.stored("Order__c", record_id).get(field) == stored


def test_a_date_time_is_stored_in_utc_with_milliseconds(admin: RecordsApi, account: str) -> None:
    fields = order(account, Status__c="Shipped", Shipped_At__c="2025-01-02T03:04:05+02:00")
    record_id = admin.made("Order__c", fields)
    assert admin.stored("Order__c", record_id)["Shipped_At__c"] == "2025-01-02T01:04:05.000Z"


def test_a_lookup_to_an_existing_record_is_stored(admin: RecordsApi, account: str) -> None:
    contact = admin.made("Contact", {"LastName": "Lookup", "Email": "lookup@example.com"})
    record_id = admin.made("Order__c", order(account, Contact__c=contact))
    assert admin.stored("Order__c", record_id)["Contact__c"] == contact


INVALID = [
    ("Quantity__c", "12", "INVALID_TYPE", "Quantity__c: expected a number, got text"),
    ("Quantity__c", 12345, "NUMBER_OUT_OF_RANGE",
     "Quantity__c: 12345 has more than 4 digits before the decimal point"),
    ("Quantity__c", 1.5, "NUMBER_OUT_OF_RANGE", "Quantity__c: 1.5 has more than 0 decimal places"),
    ("Amount__c", 1.234, "NUMBER_OUT_OF_RANGE", "Amount__c: 1.234 has more than 2 decimal places"),
    ("Amount__c", 1000000, "NUMBER_OUT_OF_RANGE",
     "Amount__c: 1000000 has more than 6 digits before the decimal point"),
    ("Amount__c", True, "INVALID_TYPE", "Amount__c: expected a number, got true/false"),
    ("Order_Date__c", "2024-02-30", "INVALID_TYPE",
     "Order_Date__c: '2024-02-30' is not a date (expected YYYY-MM-DD)"),
    ("Order_Date__c", "15/01/2025", "INVALID_TYPE",
     "Order_Date__c: '15/01/2025' is not a date (expected YYYY-MM-DD)"),
    ("Order_Date__c", 20250115, "INVALID_TYPE", "Order_Date__c: expected a date, got a number"),
    ("Shipped_At__c", "yesterday", "INVALID_TYPE",
     "Shipped_At__c: 'yesterday' is not an ISO-8601 date and time"),
    ("Rush__c", "true", "INVALID_TYPE", "Rush__c: expected true or false"),
    ("Buyer_Email__c", "not-an-email", "INVALID_FORMAT",
     "Buyer_Email__c: 'not-an-email' is not an email address"),
    ("Buyer_Phone__c", "1" * 41, "TOO_LONG", "Buyer_Phone__c: 41 characters; at most 40 are allowed"),
    ("Tracking_Url__c", 5, "INVALID_TYPE", "Tracking_Url__c: expected text, got a number"),
    ("Notes__c", "n" * 1001, "TOO_LONG", "Notes__c: 1001 characters; at most 1000 are allowed"),
    ("Summary__c", "s" * 256, "TOO_LONG", "Summary__c: 256 characters; at most 255 are allowed"),
    ("Coupon__c", "c" * 13, "TOO_LONG", "Coupon__c: 13 characters; at most 12 are allowed"),
    ("Status__c", "Lost", "INVALID_PICKLIST_VALUE",
     "Status__c: 'Lost' is not one of 'Draft', 'Placed', 'Shipped', 'Cancelled'"),
    ("Status__c", "placed", "INVALID_PICKLIST_VALUE",
     "Status__c: 'placed' is not one of 'Draft', 'Placed', 'Shipped', 'Cancelled'"),
    ("Channels__c", "Web;Fax", "INVALID_PICKLIST_VALUE",
     "Channels__c: 'Fax' is not among 'Web', 'Phone', 'Store'"),
    ("Channels__c", ["Web"], "INVALID_TYPE", "Channels__c: expected text, got a list"),
    ("Contact__c", "003000000099999", "INVALID_REFERENCE",
     "Contact__c: no Contact record has id '003000000099999'"),
]  # fmt: skip


@pytest.mark.parametrize(("field", "sent", "code", "message"), INVALID)
def test_an_invalid_value_is_refused_and_nothing_is_stored(
    admin: RecordsApi, account: str, field: str, sent: Any, code: str, message: str
) -> None:
    response = admin.create("Order__c", order(account, **{field: sent}))
    refused(response, error(field, code, message))
    assert orders_of(admin, account) == []


def test_a_lookup_must_point_at_a_record_of_its_object(admin: RecordsApi, account: str) -> None:
    contact = admin.made("Contact", {"LastName": "Wrong", "Email": "wrong-object@example.com"})
    response = admin.create("Order__c", order(contact))
    refused(
        response,
        error(
            "Account__c",
            "INVALID_REFERENCE",
            f"Account__c: no Account record has id '{contact}'",
        ),
    )


def test_an_inactive_picklist_value_is_refused(admin: RecordsApi) -> None:
    response = admin.create("Account", {"Name": "Latin Traders", "Region__c": "LATAM"})
    refused(
        response,
        error(
            "Region__c",
            "INVALID_PICKLIST_VALUE",
            "Region__c: 'LATAM' is not one of 'EMEA', 'AMER', 'APAC'",
        ),
        obj="Account",
    )


def test_every_problem_of_a_write_is_listed_in_one_answer(admin: RecordsApi, account: str) -> None:
    response = admin.create(
        "Order__c", {"Account__c": account, "Bogus__c": 1, "Quantity__c": "many", "Amount__c": -5}
    )
    refused(
        response,
        error("Bogus__c", "UNKNOWN_FIELD", "Order__c has no field 'Bogus__c'"),
        error("Quantity__c", "INVALID_TYPE", "Quantity__c: expected a number, got text"),
        error("Order_Date__c", "REQUIRED_FIELD_MISSING", "Order_Date__c is required"),
        error(
            "Amount__c",
            "VALIDATION_RULE",
            "The amount must be positive.",
            "Order__c.Positive_Amount",
        ),
    )


# ------------------------------------------------ defaults, required, unique


def test_create_applies_defaults_and_sets_the_system_fields(
    records_org: RecordsOrg, account: str
) -> None:
    desk = records_org.as_user("desk@example.com")
    response = desk.create("Order__c", order(account))
    assert response.status_code == 201, response.text
    body = response.json()
    record_id = body["id"]
    assert record_id.startswith("a0") and len(record_id) == 15
    # The desk may read Gift_Wrap__c but not Rush__c or Carrier__c; all three got defaults.
    assert body["fields"] == {
        "Id": record_id,
        "Name": body["fields"]["Name"],
        "Account__c": account,
        "Amount__c": 100,
        "Order_Date__c": "2025-01-15",
        "Status__c": "Draft",
        "Gift_Wrap__c": True,
        "OwnerId": "desk@example.com",
        "CreatedById": "desk@example.com",
        "CreatedDate": "2025-06-01T12:00:00.000Z",
        "LastModifiedById": "desk@example.com",
        "LastModifiedDate": "2025-06-01T12:00:00.000Z",
    }
    assert body["warnings"] == []
    assert body["fields"]["Name"].startswith("ORD-")
    stored = records_org.admin.stored("Order__c", record_id)
    assert (stored["Rush__c"], stored["Carrier__c"]) == (False, "Post")


def test_an_explicit_value_wins_over_the_default(admin: RecordsApi, account: str) -> None:
    record_id = admin.made("Order__c", order(account, Carrier__c="DHL", Status__c="Placed"))
    stored = admin.stored("Order__c", record_id)
    assert (stored["Carrier__c"], stored["Status__c"]) == ("DHL", "Placed")


def test_required_fields_are_required_on_create(admin: RecordsApi, account: str) -> None:
    response = admin.create("Order__c", {"Quantity__c": 1})
    refused(
        response,
        error("Account__c", "REQUIRED_FIELD_MISSING", "Account__c is required"),
        error("Amount__c", "REQUIRED_FIELD_MISSING", "Amount__c is required"),
        error("Order_Date__c", "REQUIRED_FIELD_MISSING", "Order_Date__c is required"),
    )


def test_a_required_field_cannot_be_blanked_on_update(admin: RecordsApi, account: str) -> None:
    record_id = admin.made("Order__c", order(account))
    response = admin.update("Order__c", record_id, {"Amount__c": None, "Order_Date__c": ""})
    refused(
        response,
        error("Amount__c", "REQUIRED_FIELD_MISSING", "Amount__c is required"),
        error("Order_Date__c", "REQUIRED_FIELD_MISSING", "Order_Date__c is required"),
    )
    stored = admin.stored("Order__c", record_id)
    assert (stored["Amount__c"], stored["Order_Date__c"]) == (100, "2025-01-15")


def test_a_standard_required_field_is_required(admin: RecordsApi) -> None:
    refused(
        admin.create("Lead", {"LastName": "Nocompany"}),
        error("Company", "REQUIRED_FIELD_MISSING", "Company is required"),
        obj="Lead",
    )


def test_unique_text_is_compared_without_case(admin: RecordsApi, account: str) -> None:
    first = admin.made("Order__c", order(account, Reference__c="REF-77"))
    response = admin.create("Order__c", order(account, Reference__c="ref-77"))
    refused(
        response,
        error(
            "Reference__c",
            "DUPLICATE_VALUE",
            f"Reference__c must be unique; Order__c {first} already has 'ref-77'",
        ),
    )
    assert [o["Id"] for o in orders_of(admin, account)] == [first]
    # A record keeps its own value when other fields change.
    assert admin.update("Order__c", first, {"Reference__c": "Ref-77"}).status_code == 200


def test_server_fields_cannot_be_written(records_org: RecordsOrg, account: str) -> None:
    desk = records_org.as_user("desk@example.com")
    response = desk.create(
        "Order__c", order(account, Id="x", Name="ORD-9999", CreatedById="me", OwnerId="x@y.z")
    )
    refused(
        response,
        error("Id", "READ_ONLY_FIELD", "Id is set by the server"),
        error("Name", "READ_ONLY_FIELD", "Name is set by the server"),
        error("CreatedById", "READ_ONLY_FIELD", "CreatedById is set by the server"),
        error("OwnerId", "READ_ONLY_FIELD", "OwnerId is set by the server"),
    )


def test_an_admin_may_set_the_owner_and_created_date_to_import_records(
    admin: RecordsApi, account: str
) -> None:
    fields = order(account, OwnerId="desk@example.com", CreatedDate="2020-03-04T05:06:07Z")
    record_id = admin.made("Order__c", fields)
    stored = admin.stored("Order__c", record_id)
    assert (stored["OwnerId"], stored["CreatedDate"], stored["CreatedById"]) == (
        "desk@example.com",
        "2020-03-04T05:06:07.000Z",
        "admin@sandbox.local",
    )
    refused(
        admin.create("Order__c", order(account, OwnerId="ghost@example.com")),
        error("OwnerId", "INVALID_REFERENCE", "OwnerId: no User record has id 'ghost@example.com'"),
    )


def test_contact_name_is_first_and_last_name(admin: RecordsApi) -> None:
    contact = admin.made("Contact", {"FirstName": "Ada", "LastName": "Byron", "Email": "ada@x.io"})
    assert admin.stored("Contact", contact)["Name"] == "Ada Byron"
    admin.update("Contact", contact, {"LastName": "Lovelace"})
    assert admin.stored("Contact", contact)["Name"] == "Ada Lovelace"


# ------------------------------------------------------- validation rules


def rule_error(rule: str, field: str | None, message: str) -> dict[str, Any]:
    return error(field, "VALIDATION_RULE", message, f"Order__c.{rule}")


def test_a_failing_rule_reports_its_message_on_its_field(admin: RecordsApi, account: str) -> None:
    refused(
        admin.create("Order__c", order(account, Amount__c=0)),
        rule_error("Positive_Amount", "Amount__c", "The amount must be positive."),
    )
    assert orders_of(admin, account) == []


def test_formulas_see_percent_fields_as_fractions(admin: RecordsApi, account: str) -> None:
    assert admin.create("Order__c", order(account, Discount__c=50)).status_code == 201
    refused(
        admin.create("Order__c", order(account, Discount__c=50.01)),
        rule_error("Discount_Cap", "Discount__c", "Discounts above 50% need approval."),
    )


def test_two_failing_rules_are_both_reported(admin: RecordsApi, account: str) -> None:
    refused(
        admin.create("Order__c", order(account, Amount__c=-1, Status__c="Shipped")),
        rule_error("Positive_Amount", "Amount__c", "The amount must be positive."),
        rule_error(
            "Shipped_Needs_Time", "Shipped_At__c", "A shipped order needs its shipping time."
        ),
    )


def test_isnew_applies_on_create_only(admin: RecordsApi, account: str) -> None:
    refused(
        admin.create("Order__c", order(account, Status__c="Cancelled")),
        rule_error("Not_Born_Cancelled", None, "An order cannot be created cancelled."),
    )
    record_id = admin.made("Order__c", order(account))
    response = admin.update("Order__c", record_id, {"Status__c": "Cancelled"})
    assert response.status_code == 200, response.text
    assert admin.stored("Order__c", record_id)["Status__c"] == "Cancelled"


def test_ischanged_and_priorvalue_see_the_record_before_the_update(
    admin: RecordsApi, account: str
) -> None:
    fields = order(account, Status__c="Shipped", Shipped_At__c="2025-05-01T10:00:00Z")
    record_id = admin.made("Order__c", fields)
    refused(
        admin.update("Order__c", record_id, {"Status__c": "Placed"}),
        rule_error("Shipped_Is_Final", "Status__c", "A shipped order's status cannot change."),
    )
    assert admin.stored("Order__c", record_id)["Status__c"] == "Shipped"
    # Other fields of a shipped order may change: ISCHANGED(Status__c) is false.
    assert admin.update("Order__c", record_id, {"Quantity__c": 3}).status_code == 200
    assert admin.stored("Order__c", record_id)["Quantity__c"] == 3


def test_a_rule_reads_a_related_record_through_a_lookup(admin: RecordsApi) -> None:
    apac = admin.made("Account", {"Name": "Kowloon Imports", "Region__c": "APAC"})
    emea = admin.made("Account", {"Name": "Bergen Fisk", "Region__c": "EMEA"})
    refused(
        admin.create("Order__c", order(apac, Amount__c=20000)),
        rule_error("APAC_Limit", "Amount__c", "APAC orders above 10000 need a local approver."),
    )
    record_id = admin.made("Order__c", order(emea, Amount__c=20000))
    # Moving the order to the APAC account makes the rule see the new account.
    refused(
        admin.update("Order__c", record_id, {"Account__c": apac}),
        rule_error("APAC_Limit", "Amount__c", "APAC orders above 10000 need a local approver."),
    )


def test_a_formula_that_fails_to_evaluate_is_reported_not_a_500(
    admin: RecordsApi, account: str
) -> None:
    refused(
        admin.create("Order__c", order(account, Coupon__c="ABC")),
        error(
            "Coupon__c",
            "FORMULA_ERROR",
            "validation rule Order__c.Coupon_Value could not be evaluated: "
            'VALUE cannot convert "ABC" to a number (formula line 1, column 28)',
            "Order__c.Coupon_Value",
        ),
    )
    refused(
        admin.create("Order__c", order(account, Coupon__c="150")),
        rule_error("Coupon_Value", "Coupon__c", "Coupons are worth at most 100."),
    )


def test_user_globals_are_the_calling_user(records_org: RecordsOrg, account: str) -> None:
    desk = records_org.as_user("desk@example.com")
    warehouse = records_org.as_user("bulk@warehouse.example")
    refused(
        desk.create("Order__c", order(account, Quantity__c=1001)),
        rule_error(
            "Bulk_From_Warehouse", "Quantity__c", "Only the warehouse orders more than 1000 units."
        ),
    )
    assert warehouse.create("Order__c", order(account, Quantity__c=1001)).status_code == 201


def test_an_inactive_rule_does_not_run(admin: RecordsApi, account: str) -> None:
    assert admin.create("Order__c", order(account, Quantity__c=13)).status_code == 201


def test_a_rule_is_skipped_when_a_field_it_reads_is_invalid(
    admin: RecordsApi, account: str
) -> None:
    # Positive_Amount and APAC_Limit read Amount__c; its own problem is the one to show.
    refused(
        admin.create("Order__c", order(account, Amount__c="lots")),
        error("Amount__c", "INVALID_TYPE", "Amount__c: expected a number, got text"),
    )
