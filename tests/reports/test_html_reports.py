"""HTML reports (plan, drift, access), rendered in headless Chromium and read back as a person would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.reports.chromium import Dom, render
from tests.testing.conftest import edit

# A manifest value that must reach the page as text, never as markup.
HOSTILE = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>"

GOV_ENV = """\
description: The embedded sandbox with an approval policy
provider:
  type: sandbox
  path: .crmctl/sandbox.db
manifests: [manifests]
history:
  path: .crmctl/history
approvals:
  policyOwners: [security-officer]
  roles:
    security-officer: [tomas.berg@northwind.example]
  rules:
    - name: access-changes
      match: {kinds: [PermissionSet]}
      require: [security-officer]
"""


def _page(crmctl, path: Path, *args: str, code: int = 0) -> str:
    r = crmctl(*args)
    assert (r.exit_code, r.err) == (code, ""), r.output
    path.write_text(r.out, encoding="utf-8")
    return r.out


def _self_contained(dom: Dom) -> None:
    """Nothing the page could fetch: no script, link, image or frame, no src, href or url()."""
    assert dom.console == []
    fetching = {"script", "link", "img", "iframe", "object", "embed", "image", "use"}
    assert [t for t, _ in dom.tags if t in fetching] == []
    assert [(t, a) for t, a in dom.tags if {"src", "href", "xlink:href"} & set(a)] == []
    assert [a for _, a in dom.tags if "url(" in a.get("style", "")] == []
    assert "url(" not in dom.css and "@import" not in dom.css


def test_a_first_plan_as_a_page(project: Path, crmctl, tmp_path: Path) -> None:
    changes = json.loads(crmctl("plan", "--format", "json").out)["changes"]
    kinds: dict[str, int] = {}
    for c in changes:
        kinds[c["kind"]] = kinds.get(c["kind"], 0) + 1
    _page(crmctl, tmp_path / "plan.html", "plan", "--format", "html")
    dom = render(tmp_path / "plan.html")
    _self_contained(dom)
    lines = dom.text.splitlines()
    assert lines[:2] == [
        "crmctl plan for local",
        f"Plan: {len(changes)} to add, 0 to change, 0 to destroy. (sandbox .crmctl/sandbox.db "
        f"(in-process)) · planned {lines[1].rsplit('planned ', 1)[1]}",
    ]
    assert "Summary" in lines and "Risk highlights" in lines
    assert "No change to local needs an approval." in lines
    assert (
        "personal data CustomField/Contact.National_Id__c (create): a field classified Sensitive"
        in lines
    )
    assert (
        "personal data PermissionSet/Security_Officer (create) changes access to "
        "Contact.National_Id__c" in lines
    )
    # Collapsible field-level diffs: one <details> per change, closed until clicked.
    assert dom.count("details") == len(changes)
    assert not any("open" in attrs for tag, attrs in dom.tags if tag == "details")
    first = changes[0]
    assert (
        f"+ {first['kind']}/{first['name']} {len(first['diff'])} fields ({first['reason']})"
        in lines
    )
    # The charts: one bar per action, then per kind, with its count in the bar's tooltip.
    svg_titles = [a for t, a in dom.tags if t == "svg"]
    assert [a["aria-label"] for a in svg_titles] == [
        "Changes by action",
        "Changes by kind and action",
        "Governance status",
    ]
    assert [t for t in dom.svg_titles if ", create: " in t][1:] == [
        f"{kind}, create: {n}" for kind, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def test_a_manifest_value_is_text_on_the_page(project: Path, crmctl, tmp_path: Path) -> None:
    edit(
        project / "manifests" / "standard" / "contact.yaml",
        "  description: Identity document number for regulated contracts; encrypted at rest.",
        f'  description: "{HOSTILE}"',
    )
    html = _page(crmctl, tmp_path / "plan.html", "plan", "--format", "html")
    assert "<script>" not in html and "&lt;script&gt;" in html
    dom = render(tmp_path / "plan.html")
    assert dom.count("script") == 0 and dom.count("img") == 0
    assert f'+ description: "{HOSTILE}"' in dom.text
    assert dom.text.splitlines()[0] == "crmctl plan for local"  # the title was not rewritten
    assert dom.console == []


def test_deletes_widening_and_approvals_are_highlighted(
    applied: Path, crmctl, tmp_path: Path
) -> None:
    (applied / "environments" / "gov.yaml").write_text(GOV_ENV)
    edit(
        applied / "manifests" / "access" / "permission-sets.yaml",
        "    Contact.Preferred_Language__c: [read, edit]\n  system: [ApiEnabled]",
        "    Contact.Preferred_Language__c: [read, edit]\n    Contact.National_Id__c: [read]\n"
        "  system: [ApiEnabled]",
    )
    (applied / "manifests" / "data-quality" / "duplicate-rules.yaml").unlink()
    _page(crmctl, tmp_path / "plan.html", "plan", "--format", "html")
    dom = render(tmp_path / "plan.html")
    lines = dom.text.splitlines()
    risks = lines[lines.index("Risk highlights") + 1 : lines.index("Approvals")]
    assert risks == [
        "delete DuplicateRule/Contact.Same_Email",
        "delete DuplicateRule/Account.Same_VAT_Or_Name",
        "access widening 3 users gain read on Contact.National_Id__c via "
        "Sales_Rep (who: ines.moreau@northwind.example, jonas.lindqvist@northwind.example, "
        "maria.garcia@northwind.example)",
        "personal data PermissionSet/Sales_Rep (update) changes access to Contact.National_Id__c",
    ]
    assert "Changes (3)" in lines
    assert '+ fields.Contact.National_Id__c: ["read"]' in lines
    # The same change where a policy asks for the security officer: the approvals table.
    _page(crmctl, tmp_path / "gov.html", "plan", "-e", "gov", "--format", "html")
    dom = render(tmp_path / "gov.html")
    lines = dom.text.splitlines()
    approvals = lines[lines.index("Approvals") + 1 :]
    assert approvals[:3] == [
        "change roles required requested by approvals",
        "~ PermissionSet/Sales_Rep security-officer unknown missing security-officer: missing",
        "~ Environment/gov security-officer unknown missing security-officer: missing",
    ]
    assert (
        "Approvals: 2 changes need approvals: 0 approved, 2 waiting. Apply refuses until they "
        "are complete (crmctl approvals -e gov)." in lines
    )


def test_drift_as_a_page(applied: Path, crmctl, tmp_path: Path) -> None:
    from crmctl.sandbox.store import SandboxStore

    store = SandboxStore.open(applied / ".crmctl" / "sandbox.db")
    try:
        store.put_config("Role", "Auditor", {"label": HOSTILE}, actor="ana@example.com")
        spec = dict(store.get_config("PermissionSet", "Sales_Rep")["spec"])
        spec["fields"] = {**spec["fields"], "Contact.National_Id__c": ["read"]}
        store.put_config("PermissionSet", "Sales_Rep", spec, actor="ana@example.com")
    finally:
        store.close()
    r = crmctl("drift", "--format", "html", "--output", str(tmp_path / "drift.html"))
    assert r.exit_code == 2, r.output
    assert r.out.startswith("Drift in local: 1 modified, 0 deleted, 1 created out of band;")
    dom = render(tmp_path / "drift.html")
    _self_contained(dom)
    lines = dom.text.splitlines()
    risks = lines[lines.index("Risk highlights") + 1 : lines.index("Drift (2)")]
    assert risks == [
        "access Role/Auditor created out of band: who can see what may have changed",
        "access PermissionSet/Sales_Rep modified out of band: who can see what may have changed",
        "personal data PermissionSet/Sales_Rep concerns Contact.National_Id__c",
    ]
    assert f'+ label: "{HOSTILE}"' in dom.text
    assert '+ fields.Contact.National_Id__c: ["read"]' in lines
    assert any(line.startswith("~ PermissionSet/Sales_Rep ana@example.com 20") for line in lines)


def test_the_access_matrix(project: Path, crmctl, tmp_path: Path) -> None:
    _page(
        crmctl,
        tmp_path / "access.html",
        "access",
        "--classification",
        "Sensitive",
        "--format",
        "html",
    )
    expected = json.loads(crmctl("access", "--classification", "Sensitive", "--format", "json").out)
    dom = render(tmp_path / "access.html")
    _self_contained(dom)
    columns = [
        a["title"] for t, a in dom.tags if t == "th" and "title" in a and "@" not in a["title"]
    ]
    assert columns == [f"{t['object']}.{t['field']} [Sensitive]" for t in expected["targets"]]
    users = [row for row in dom.text.splitlines() if "@northwind.example" in row]
    assert [u.split()[0] for u in users] == [u["name"] for u in expected["users"]]
    # Every grant is one coloured cell whose tooltip names its paths; every other cell says none.
    titles = [t for t in dom.titles() if " on " in t]
    assert len(titles) == len(expected["users"]) * len(expected["targets"])
    for g in expected["grants"]:
        paths = "; ".join(f"{p} via {', '.join(v)}" for p, v in g["via"].items())
        assert f"{g['user']} on {g['object']}.{g['field']}: {paths}" in titles
    no_access = [t for t in titles if t.endswith(": no access")]
    assert len(no_access) == len(titles) - len(expected["grants"])
    assert (
        "tomas.berg@northwind.example on Contact.National_Id__c: read via Security_Officer, "
        "ViewAllData (Security_Officer)" in titles
    )


def test_a_matrix_too_big_for_a_page_says_how_to_narrow_it(
    project: Path, crmctl, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("crmctl.render.access_html.MAX_CELLS", 10)
    r = crmctl("access", "--format", "html")
    assert r.exit_code == 1 and r.out == ""
    assert r.err.startswith("Error: the access matrix would have ")
    assert "hint: narrow it: --classification PII,Sensitive" in r.err


def test_the_load_check_catches_a_page_that_fetches(tmp_path: Path) -> None:
    """The console check can fail: a page of ours that referenced anything would be refused."""
    from crmctl.render.html_page import page

    bad = page("t", "s", ['<img src="http://127.0.0.1:9/x.png">'])
    (tmp_path / "bad.html").write_text(bad, encoding="utf-8")
    dom = render(tmp_path / "bad.html")
    assert any("http://127.0.0.1:9/x.png" in line for line in dom.console), dom.console


def test_without_chromium_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.reports import chromium as browser

    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium is not installed"):
        browser.chromium()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="chromium is not installed"):
        browser.chromium()
