"""bench/gen_sfdx.py writes a project whose permission sets crmctl imports whole.

The large-org import bench (issue 15) measures the cost of writing the permission-set
YAML; these tests pin what it relies on, at a small size: every generated permission set
becomes a manifest, every field permission that grants access is kept (they reference
the generated fields), profiles are listed as left to the org, and the files are the same
for the same arguments.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

from crmctl.importer.sfdx import PROFILE_NOTE, import_sfdx, write_manifests

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))

from gen_sfdx import generate  # noqa: E402

SIZES = {"objects": 5, "fields": 40, "rules": 6, "roles": 4, "profiles": 2,
         "permission_sets": 3, "field_permissions": 30}  # fmt: skip
GRANT = re.compile(
    r"<fieldPermissions>\s*<editable>(\w+)</editable>\s*<field>([^<]+)</field>\s*"
    r"<readable>(\w+)</readable>"
)


def granted(xml: str) -> dict[str, list[str]]:
    """The field permissions of a permission-set file that grant something, as crmctl writes them."""
    out = {}
    for editable, field, readable in GRANT.findall(xml):
        if editable == "true":
            out[field] = ["read", "edit"]
        elif readable == "true":
            out[field] = ["read"]
    return out


def test_every_generated_permission_set_imports_with_all_its_grants(tmp_path: Path) -> None:
    assert generate(tmp_path / "src", **SIZES) == 5 + 40 + 6 + 4 + 2 + 3
    result = import_sfdx(tmp_path / "src")
    assert result.counts() == {
        "CustomObject": 5,
        "CustomField": 40,
        "ValidationRule": 6,
        "Role": 4,
        "PermissionSet": 3,
    }
    written = write_manifests(result, tmp_path / "out")
    sets = sorted((tmp_path / "src").rglob("*.permissionset-meta.xml"))
    assert [p.name.split(".")[0] for p in sets] == [
        "Account_Access_1",
        "Billing_Access_1",
        "Contract_Access_1",
    ]
    for source in sets:
        name = source.name.split(".")[0]
        manifest = tmp_path / "out" / "permission-sets" / f"{name}.yaml"
        assert manifest in written
        spec = yaml.safe_load(manifest.read_text(encoding="utf-8"))["spec"]
        expected = granted(source.read_text())
        assert 0 < len(expected) <= 30
        assert spec["fields"] == expected
        assert sorted(spec["objects"]) == ["Account_1__c", "Billing_1__c", "Contract_1__c",
                                           "Delivery_1__c", "Entitlement_1__c"]  # fmt: skip
    # Only the tab settings of a permission set are not kept; nothing is left out.
    about_sets = [line for line in result.report if line.component.startswith("PermissionSet/")]
    assert len(about_sets) == 3
    assert all(re.fullmatch(r"not kept: tabSettings \(\d\)", line.reason) for line in about_sets)
    assert not [line for line in result.report if "left out" in line.reason]
    profiles = [line for line in result.report if line.component.startswith("Profile/")]
    assert [(line.file, line.reason) for line in profiles] == [
        (f"force-app/main/default/profiles/Sales Profile {i}.profile-meta.xml", PROFILE_NOTE)
        for i in (1, 2)
    ]


def test_the_same_arguments_write_the_same_files(tmp_path: Path) -> None:
    generate(tmp_path / "a", **SIZES)
    generate(tmp_path / "b", **SIZES)
    a = {p.relative_to(tmp_path / "a"): p.read_bytes() for p in (tmp_path / "a").rglob("*.xml")}
    b = {p.relative_to(tmp_path / "b"): p.read_bytes() for p in (tmp_path / "b").rglob("*.xml")}
    assert a == b
    assert len(a) == 5 + 40 + 6 + 4 + 2 + 3
