"""`crmctl plan --impact` on the hand-counted fixture (tests/impact/conftest.py)."""

from __future__ import annotations

import json

from tests.impact.conftest import contact_id


def ids(*keys: str) -> list[str]:
    return [contact_id(k) for k in keys]


def impact_of(crmctl, *extra: str) -> dict:
    r = crmctl("plan", "--impact", "--format", "json", *extra)
    assert r.exit_code == 0, r.output
    return json.loads(r.out)["impact"]


def findings(impact: dict) -> dict[str, list[dict]]:
    return {c["address"]: c["findings"] for c in impact["changes"]}


def test_every_change_says_what_it_does_to_the_stored_records(impact_project, crmctl) -> None:
    impact = impact_of(crmctl)
    assert impact["records"] == {"Contact": 10, "Visit__c": 2}
    assert impact["showValues"] is False
    found = findings(impact)
    assert set(found) == {
        "CustomField/Contact.Tier__c",
        "CustomField/Contact.Code__c",
        "CustomField/Contact.Score__c",
        "CustomField/Contact.Region__c",
        "CustomField/Contact.Legacy__c",
        "ValidationRule/Contact.Email_Needed",
        "ValidationRule/Contact.Name_Short",
        "DuplicateRule/Contact.Same_Email",
        "RetentionPolicy/Old_Bronze_Contacts",
        "CustomObject/Visit__c",
    }
    (tier,) = found["CustomField/Contact.Tier__c"]
    assert (tier["effect"], tier["count"], tier["total"]) == ("holds-removed-value", 3, 10)
    assert tier["samples"] == ids("c03", "c04", "c08")
    assert tier["details"] == {"field": "Tier__c", "removed": {"Bronze": 3}}
    assert tier["summary"] == "3 Contact records still hold the removed Tier__c value(s) 'Bronze'"
    (code,) = found["CustomField/Contact.Code__c"]
    assert (code["effect"], code["count"], code["samples"]) == (
        "invalid",
        3,
        ids("c02", "c04", "c06"),
    )
    assert code["summary"] == "3 Contact records hold a Code__c longer than 5 characters"
    (score,) = found["CustomField/Contact.Score__c"]
    assert (score["count"], score["samples"]) == (2, ids("c02", "c05"))
    assert score["details"] == {"field": "Score__c", "reason": "number"}
    (region,) = found["CustomField/Contact.Region__c"]
    assert (region["count"], region["samples"], region["percent"]) == (
        3,
        ids("c03", "c05", "c08"),
        30.0,
    )
    assert region["summary"] == "3 Contact records have no Region__c, which becomes required"
    (legacy,) = found["CustomField/Contact.Legacy__c"]
    assert (legacy["effect"], legacy["count"]) == ("drops-values", 4)
    assert legacy["samples"] == ids("c01", "c03", "c05", "c08")
    (visits,) = found["CustomObject/Visit__c"]
    assert (visits["effect"], visits["count"], visits["total"]) == ("drops-records", 2, 2)
    assert visits["samples"] == ["a00IMP0000000001", "a00IMP0000000002"]


def test_rules_are_evaluated_with_the_formula_engine_before_and_after(
    impact_project, crmctl
) -> None:
    found = findings(impact_of(crmctl))
    (changed,) = found["ValidationRule/Contact.Email_Needed"]
    assert (changed["effect"], changed["count"], changed["samples"]) == (
        "rejects", 3, ids("c02", "c06", "c09"),
    )  # fmt: skip
    assert changed["details"] == {
        "message": "Contacts need an email unless they are Bronze.",
        "rule": "Contact.Email_Needed",
        "before": 1,
    }
    assert changed["summary"] == (
        "rejects 3 Contact records on their next edit: "
        "Contacts need an email unless they are Bronze."
    )
    (new,) = found["ValidationRule/Contact.Name_Short"]
    assert (new["count"], new["samples"], new["details"]) == (
        3, ids("c02", "c04", "c09"), {"message": "Last name too short.", "rule": "Contact.Name_Short"},
    )  # fmt: skip


def test_duplicate_pairs_and_retention_now_and_in_thirty_days(impact_project, crmctl) -> None:
    found = findings(impact_of(crmctl))
    (pairs,) = found["DuplicateRule/Contact.Same_Email"]
    # ann@x.com: c01, c05, c07 (case differs) = 3 pairs; bo@x.com: c03, c08 = 1 pair
    assert (pairs["effect"], pairs["count"], pairs["details"]["before"]) == ("duplicates", 4, 4)
    assert pairs["samples"] == [
        f"{contact_id(a)}/{contact_id(b)}"
        for a, b in (("c01", "c05"), ("c01", "c07"), ("c05", "c07"), ("c03", "c08"))
    ]
    assert "editing a match field of either record would be blocked" in pairs["summary"]
    (policy,) = found["RetentionPolicy/Old_Bronze_Contacts"]
    # Bronze: c03 (200 days), c04 (160), c08 (380). P1Y covers c08; P6M covers c03 and
    # c08 now, and c04 within 30 days.
    assert policy["details"] == {
        "policy": "Old_Bronze_Contacts",
        "action": "delete",
        "nowBefore": 1,
        "nowAfter": 2,
        "delta": 1,
        "next30DaysBefore": 0,
        "next30DaysAfter": 1,
    }
    assert (policy["count"], policy["samples"]) == (1, ids("c03"))
    assert policy["summary"] == (
        "deletes 2 Contact records now (1 more than today) and 1 more in the next 30 days "
        "(today's policy: 0)"
    )


def test_values_are_shown_only_when_asked(impact_project, crmctl) -> None:
    quiet = crmctl("plan", "--impact")
    assert quiet.exit_code == 0
    assert "ABCDEFG" not in quiet.out and "ann@x.com" not in quiet.out
    assert f"e.g. {', '.join(ids('c02', 'c04', 'c06'))}" in quiet.out
    assert "Samples are record ids; add --show-values to see their values." in quiet.out
    shown = crmctl("plan", "--impact", "--show-values")
    assert f'{contact_id("c02")}: Code__c="ABCDEFG"' in shown.out
    data = impact_of(crmctl, "--show-values")
    (code,) = findings(data)["CustomField/Contact.Code__c"]
    assert code["values"][contact_id("c04")] == {"Code__c": "ABCDEF"}


def test_text_and_markdown_name_the_source_and_the_figures(impact_project, crmctl) -> None:
    text = crmctl("plan", "--impact")
    assert (
        "Records read from sandbox database .crmctl/sandbox.db: Contact 10, Visit__c 2" in text.out
    )
    assert (
        "      3 Contact records hold a Code__c longer than 5 characters (30.0% of 10)" in text.out
    )
    md = crmctl("plan", "--impact", "--format", "markdown")
    assert md.exit_code == 0
    assert "### Impact on existing records" in md.out
    assert (
        "| `~ CustomField/Contact.Code__c` | 3 Contact records hold a Code__c longer than 5 "
        f"characters | 3 / 10 | 30.0% | `{contact_id('c02')}`, `{contact_id('c04')}`, "
        f"`{contact_id('c06')}` |"
    ) in md.out


def test_a_loaded_snapshot_is_measured_like_the_environments_own_records(
    impact_project, crmctl
) -> None:
    r = crmctl("sandbox", "load", "-e", "local", "--db", "snap.db", "--from", "records/Contact.csv")
    assert r.exit_code == 0, r.output
    assert (
        r.out
        == "Loaded 10 records into "
        + str(impact_project / "snap.db")
        + " from 1 file(s):\n  Contact              10\n"
    )
    impact = impact_of(crmctl, "--impact-db", "snap.db")
    assert impact["source"] == "sandbox database snap.db"
    assert impact["records"] == {"Contact": 10, "Visit__c": 0}
    (code,) = findings(impact)["CustomField/Contact.Code__c"]
    assert code["count"] == 3
