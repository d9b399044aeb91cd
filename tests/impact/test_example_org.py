"""`plan --impact` on the example organisation with seeded records, in every format."""

from __future__ import annotations

import json


def edit(path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_the_example_org_in_text_markdown_and_json(project, crmctl) -> None:
    assert crmctl("apply", "--auto-approve").exit_code == 0
    seeded = crmctl("sandbox", "seed", "--records", "300")
    assert seeded.exit_code == 0, seeded.output
    contact = project / "manifests" / "standard" / "contact.yaml"
    edit(contact, "  values: [English, German, French, Spanish, Norwegian]", "  values: [English]")
    edit(
        project / "manifests" / "retention" / "policies.yaml", "  retain: P2Y\n", "  retain: P1M\n"
    )

    data = json.loads(crmctl("plan", "--impact", "--format", "json").out)["impact"]
    assert data["records"] == {"Contact": 75, "Lead": 60}  # seed's shares of 300
    found = {c["address"]: c["findings"] for c in data["changes"]}
    (held,) = found["CustomField/Contact.Preferred_Language__c"]
    assert held["effect"] == "holds-removed-value" and held["total"] == 75
    assert held["count"] == sum(held["details"]["removed"].values()) > 0
    (policy,) = found["RetentionPolicy/Unconverted_Leads"]
    assert policy["details"]["nowAfter"] >= policy["details"]["nowBefore"]
    assert policy["count"] == policy["details"]["delta"] > 0

    text = crmctl("plan", "--impact")
    assert text.exit_code == 0
    assert f"      {held['summary']} ({held['percent']:.1f}% of 75)" in text.out
    markdown = crmctl("plan", "--impact", "--format", "markdown")
    assert f"| `~ CustomField/Contact.Preferred_Language__c` | {held['summary']} |" in markdown.out
