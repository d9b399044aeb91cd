"""The Dataverse provider's pure parts: spec <-> metadata, refusals, $batch answers."""

from __future__ import annotations

from crmctl.providers.dataverse import columns, security
from crmctl.providers.dataverse.webapi import parse_multipart


def test_a_type_change_is_refused_except_text_to_autonumber() -> None:
    text = {"type": "Text", "length": 100}
    assert (
        columns.type_change_refusal(text, {"type": "AutoNumber", "displayFormat": "A-{000}"})
        is None
    )
    assert columns.type_change_refusal(text, {"type": "Email"}) is None  # a format, not a type
    assert columns.type_change_refusal(text, {"type": "Number", "scale": 0}) == (
        "Dataverse cannot change a column's data type after it is created (Text -> Number: "
        "StringAttributeMetadata -> IntegerAttributeMetadata); only a text column can become "
        "an autonumber column"
    )
    assert columns.type_change_refusal(
        {"type": "Number", "scale": 0}, {"type": "Number", "scale": 2}
    )


def test_a_picklist_column_reads_as_values_with_their_option_values_and_default() -> None:
    attribute = {
        "LogicalName": "nw_status",
        "AttributeType": "Picklist",
        "DisplayName": columns.label("Status"),
        "RequiredLevel": {"Value": "ApplicationRequired"},
    }
    detail = {
        "DefaultFormValue": 412300001,
        "OptionSet": {
            "IsGlobal": False,
            "Options": [
                {"Value": 412300000, "Label": columns.label("Draft")},
                {"Value": 412300001, "Label": columns.label("Sent")},
            ],
        },
    }
    assert columns.column_spec(attribute, detail) == {
        "type": "Picklist",
        "values": [
            {"value": "Draft", "optionValue": 412300000},
            {"value": "Sent", "default": True, "optionValue": 412300001},
        ],
        "label": "Status",
        "required": True,
    }


def test_autonumber_formats_translate_both_ways() -> None:
    body = columns.create_column_body(
        "nw_invoice.nw_number", {"type": "AutoNumber", "label": "No", "displayFormat": "INV-{0000}"}
    )
    assert body["AutoNumberFormat"] == "INV-{SEQNUM:4}"
    spec = columns.column_spec(
        {"LogicalName": "nw_number", "AttributeType": "String", "DisplayName": columns.label("No")},
        {"AutoNumberFormat": "INV-{SEQNUM:4}", "MaxLength": 100},
    )
    assert spec == {"type": "AutoNumber", "displayFormat": "INV-{0000}", "label": "No"}


def test_role_privileges_become_objects_and_depths() -> None:
    privileges = [
        {"PrivilegeName": "prvReadnw_invoice", "Depth": "Global"},
        {"PrivilegeName": "prvWritenw_invoice", "Depth": 1},
        {"PrivilegeName": "prvAppendTonw_invoice", "Depth": "2"},
        {"PrivilegeName": "prvExportToExcel", "Depth": "Global"},
    ]
    assert security.role_spec({"name": "Invoice Desk"}, privileges, None) == {
        "label": "Invoice Desk",
        "objects": {"nw_invoice": ["read", "edit"]},
        "depths": {"nw_invoice": {"appendTo": "Deep", "edit": "Local", "read": "Global"}},
    }
    assert security.api_name("Invoice Desk (EMEA)") == "Invoice_Desk_EMEA"


def test_a_batch_answer_with_a_change_set_is_split_into_its_responses() -> None:
    body = (
        b"--batchresponse_1\r\nContent-Type: multipart/mixed; boundary=changesetresponse_2\r\n\r\n"
        b"--changesetresponse_2\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
        b"Content-ID: 1\r\n\r\nHTTP/1.1 204 No Content\r\nOData-Version: 4.0\r\n\r\n\r\n"
        b"--changesetresponse_2--\r\n"
        b"--batchresponse_1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{"value": [1]}\r\n'
        b"--batchresponse_1--\r\n"
    )
    answers = parse_multipart(body, "multipart/mixed; boundary=batchresponse_1")
    assert [a.status for a in answers] == [204, 200]
    assert answers[1].json() == {"value": [1]}
    assert answers[0].body == b""
