"""`$filter` on Edm.DateTimeOffset values compares instants (fractions and offsets), per OData."""

from __future__ import annotations

from tests.dataverse_emulator.conftest import Env, label, table_body

DATETIME = "Microsoft.Dynamics.CRM.DateTimeAttributeMetadata"


def _names(dv: Env, where: str) -> list[str]:
    response = dv.get("nw_invoices", params={"$select": "nw_name", "$filter": where,
                                             "$orderby": "nw_name"})  # fmt: skip
    assert response.status_code == 200, response.text
    return [r["nw_name"] for r in response.json()["value"]]


def _invoices(dv: Env) -> None:
    dv.post("EntityDefinitions", table_body("nw_Invoice"))
    column = dv.post("EntityDefinitions(LogicalName='nw_invoice')/Attributes", {
        "@odata.type": DATETIME, "SchemaName": "nw_SentOn", "DisplayName": label("Sent on"),
        "RequiredLevel": {"Value": "None"}, "Format": "DateAndTime",
        "DateTimeBehavior": {"Value": "UserLocal"}})  # fmt: skip
    assert column.status_code == 204, column.text
    for name, sent in (("a", "2026-11-29T01:00:16.9Z"), ("b", "2026-11-29T01:00:17.72Z"),
                       ("c", "2026-11-29T01:00:18Z"), ("d", None)):  # fmt: skip
        assert dv.post("nw_invoices", {"nw_name": name, "nw_senton": sent}).status_code == 204


def test_a_whole_second_bound_keeps_the_later_fraction(dv: Env) -> None:
    _invoices(dv)
    assert _names(dv, "nw_senton ge 2026-11-29T01:00:17Z") == ["b", "c"]
    assert _names(dv, "nw_senton lt 2026-11-29T01:00:17Z") == ["a"]
    assert _names(dv, "nw_senton gt 2026-11-29T01:00:17.72Z") == ["c"]
    assert _names(dv, "nw_senton eq 2026-11-29T01:00:17.720Z") == ["b"]
    assert _names(dv, "nw_senton ne 2026-11-29T01:00:18Z") == ["a", "b", "d"]
    assert _names(dv, "nw_senton le 2026-11-29T01:00Z") == []


def test_offsets_are_instants_too(dv: Env) -> None:
    _invoices(dv)
    assert _names(dv, "nw_senton ge 2026-11-29T01:00:17+00:00") == ["b", "c"]
    # 02:00:17.5 at +01:00 is 01:00:17.5 UTC; 20:00:17.8 at -05:00 (the day before) is 01:00:17.8.
    assert _names(dv, "nw_senton ge 2026-11-29T02:00:17.5+01:00") == ["b", "c"]
    assert _names(dv, "nw_senton ge 2026-11-28T20:00:17.8-05:00") == ["c"]


def test_date_times_order_as_instants(dv: Env) -> None:
    _invoices(dv)
    later = {"nw_name": "e", "nw_senton": "2026-11-29T02:00:17.1+01:00"}
    assert dv.post("nw_invoices", later).status_code == 204
    response = dv.get("nw_invoices?$select=nw_name&$filter=nw_senton ne null&$orderby=nw_senton")
    # e is 01:00:17.1 UTC: after a (16.9), before b (17.72); as text it would sort last.
    assert [r["nw_name"] for r in response.json()["value"]] == ["a", "e", "b", "c"]


def test_created_on_at_the_second_it_was_written_is_found(dv: Env) -> None:
    _invoices(dv)
    created = dv.get("nw_invoices?$select=createdon&$filter=nw_name eq 'b'").json()["value"][0]
    whole_second = created["createdon"][:19] + "Z"
    assert created["createdon"] != whole_second  # the stored value carries a fraction
    assert "b" in _names(dv, f"createdon ge {whole_second}")


def test_a_bad_date_time_literal_is_an_error(dv: Env) -> None:
    _invoices(dv)
    response = dv.get("nw_invoices", params={"$filter": "nw_senton ge 2026-11-29T01:00:17"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "0x80060888"
    assert "2026-11-29T01:00:17" in response.json()["error"]["message"]
