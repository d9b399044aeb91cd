"""`crmctl plan --impact --format html`: the hand-counted fixture, read back from Chromium."""

from __future__ import annotations

from pathlib import Path

from crmctl.impact import ChangeImpact, Finding, ImpactReport
from crmctl.render.impact_html import impact_section
from tests.impact.conftest import contact_id
from tests.reports.chromium import render

HOSTILE = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>"


def ids(*keys: str) -> str:
    return ", ".join(contact_id(k) for k in keys)


def page_text(crmctl, tmp_path: Path, *extra: str) -> list[str]:
    r = crmctl("plan", "--impact", "--format", "html", *extra)
    assert (r.exit_code, r.err) == (0, ""), r.output
    (tmp_path / "plan.html").write_text(r.out, encoding="utf-8")
    dom = render(tmp_path / "plan.html")
    assert dom.console == []
    lines = dom.text.splitlines()
    start = lines.index("Impact on stored records")
    return lines[start : lines.index("Approvals", start)]


def test_the_plan_page_says_what_each_change_does_to_the_stored_records(
    impact_project, crmctl, tmp_path: Path
) -> None:
    lines = page_text(crmctl, tmp_path)
    assert lines[1].startswith(
        "Records read from sandbox database .crmctl/sandbox.db: Contact 10, Visit__c 2 (at "
    )
    assert lines[2] == "change effect records share sample ids"
    assert lines[3:] == [
        "~ CustomField/Contact.Code__c invalid 3 Contact records hold a Code__c longer than "
        f"5 characters 3 / 10 30.0% of 10 {ids('c02', 'c04', 'c06')}",
        "~ CustomField/Contact.Region__c invalid 3 Contact records have no Region__c, which "
        f"becomes required 3 / 10 30.0% of 10 {ids('c03', 'c05', 'c08')}",
        "~ CustomField/Contact.Score__c invalid 2 Contact records hold a Score__c beyond "
        f"precision 4, scale 1 2 / 10 20.0% of 10 {ids('c02', 'c05')}",
        "~ CustomField/Contact.Tier__c holds-removed-value 3 Contact records still hold the "
        f"removed Tier__c value(s) 'Bronze' 3 / 10 30.0% of 10 {ids('c03', 'c04', 'c08')}",
        "~ ValidationRule/Contact.Email_Needed rejects rejects 3 Contact records on their next "
        "edit: Contacts need an email unless they are Bronze. 3 / 10 30.0% of 10 "
        f"{ids('c02', 'c06', 'c09')}",
        "+ ValidationRule/Contact.Name_Short rejects rejects 3 Contact records on their next "
        f"edit: Last name too short. 3 / 10 30.0% of 10 {ids('c02', 'c04', 'c09')}",
        "~ DuplicateRule/Contact.Same_Email duplicates matches 4 existing pairs of Contact "
        "records (editing a match field of either record would be blocked) 4 / 10 "
        "10 records read "
        + ", ".join(
            f"{contact_id(a)}/{contact_id(b)}"
            for a, b in (("c01", "c05"), ("c01", "c07"), ("c05", "c07"), ("c03", "c08"))
        ),
        "~ RetentionPolicy/Old_Bronze_Contacts retention deletes 2 Contact records now "
        "(1 more than today) and 1 more in the next 30 days (today's policy: 0) 1 / 10 "
        f"10 records read {ids('c03')}",
        "- CustomField/Contact.Legacy__c drops-values drops the Legacy__c value of 4 Contact "
        f"records 4 / 10 40.0% of 10 {ids('c01', 'c03', 'c05', 'c08')}",
        "- CustomObject/Visit__c drops-records deletes all 2 Visit__c records with the object "
        "2 / 2 100.0% of 2 a00IMP0000000001, a00IMP0000000002",
        "Samples are record ids; add --show-values to see their values.",
    ]
    assert "ABCDEFG" not in "\n".join(lines) and "ann@x.com" not in "\n".join(lines)


def test_values_appear_on_the_page_only_with_show_values(
    impact_project, crmctl, tmp_path: Path
) -> None:
    lines = page_text(crmctl, tmp_path, "--show-values")
    assert lines[2] == "change effect records share sample ids values"
    code = next(i for i, line in enumerate(lines) if "CustomField/Contact.Code__c" in line)
    assert lines[code : code + 3] == [
        "~ CustomField/Contact.Code__c invalid 3 Contact records hold a Code__c longer than "
        f"5 characters 3 / 10 30.0% of 10 {ids('c02', 'c04', 'c06')} "
        f'{contact_id("c02")}: Code__c="ABCDEFG"',
        f'{contact_id("c04")}: Code__c="ABCDEF"',
        f'{contact_id("c06")}: Code__c="XYZXYZ"',
    ]
    assert "Samples are record ids; add --show-values to see their values." not in lines


def test_a_plan_page_without_impact_has_no_impact_section(
    impact_project, crmctl, tmp_path: Path
) -> None:
    r = crmctl("plan", "--format", "html")
    assert r.exit_code == 0, r.output
    assert "Impact on stored records" not in r.out


def test_record_values_and_ids_are_text_never_markup() -> None:
    finding = Finding(
        effect="invalid",
        object="Contact",
        count=1,
        total=4,
        summary=f"1 Contact record holds {HOSTILE}",
        samples=[HOSTILE],
        values={HOSTILE: {"Code__c": HOSTILE}},
    )
    report = ImpactReport(
        source=HOSTILE,
        now="2026-11-28T00:00:00Z",
        records={"Contact": 4},
        changes=[
            ChangeImpact(address=f"CustomField/Contact.{HOSTILE}", action="~", findings=[finding])
        ],  # fmt: skip
        notes=[HOSTILE],
        show_values=True,
    )
    html = impact_section(report)
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in html
    assert "1 / 4" in html and "25.0% of 4" in html
