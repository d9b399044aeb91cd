"""`crmctl validate`: text and JSON reports, environments, PATHS and exit codes."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

from tests.conftest import EXAMPLE

REPO = Path(__file__).resolve().parents[2]

BROKEN_ROLE = (
    "apiVersion: crmctl/v1\nkind: Role\nmetadata: {name: Board}\n"
    "spec:\n  label: Board\n  parent: Chair\n"  # line 6: no role Chair
)


def load_gen_org():
    """bench/gen_org.py as a module (bench/ is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("gen_org", REPO / "bench" / "gen_org.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_org"] = module
    spec.loader.exec_module(module)
    return module


def test_example_organisation_is_valid(project: Path, crmctl) -> None:
    r = crmctl("validate")
    assert (r.exit_code, r.out, r.err) == (
        0,
        f"valid: {EXAMPLE.resources} resources in {EXAMPLE.files} files\n",
        "",
    )


def test_example_organisation_is_valid_in_prod(project: Path, crmctl) -> None:
    r = crmctl("validate", "-e", "prod")
    assert (r.exit_code, r.out, r.err) == (
        0,
        f"valid: {EXAMPLE.resources} resources in {EXAMPLE.files} files\n",
        "",
    )


def test_problems_then_a_summary(project: Path, crmctl) -> None:
    (project / "manifests" / "board.yaml").write_text(BROKEN_ROLE)
    r = crmctl("validate")
    assert (r.exit_code, r.err) == (1, "")
    assert r.out == (
        "manifests/board.yaml:6: Role/Board: parent role 'Chair' is not declared\n"
        "1 error in 1 file\n"
    )


def test_json_report_of_a_valid_organisation(project: Path, crmctl) -> None:
    r = crmctl("validate", "--format", "json", "-e", "staging")
    assert (r.exit_code, r.err) == (0, "")
    assert json.loads(r.out) == {
        "formatVersion": 1,
        "environment": "staging",
        "valid": True,
        "resources": EXAMPLE.resources,
        "files": EXAMPLE.files,
        "errors": 0,
        "warnings": 0,
        "diagnostics": [],
    }


def test_json_report_of_problems(project: Path, crmctl) -> None:
    (project / "manifests" / "board.yaml").write_text(BROKEN_ROLE)
    (project / "manifests" / "rule.yaml").write_text(
        "apiVersion: crmctl/v1\nkind: ValidationRule\nmetadata: {name: Account.Tier}\nspec:\n"
        "  condition: ISPICKVAL(Customer_Tier__c, 'Gold') && Amount__c > 10\n"
        "  errorMessage: Gold accounts only.\n"
    )
    r = crmctl("validate", "--format", "json")
    assert (r.exit_code, r.err) == (1, "")
    report = json.loads(r.out)
    assert {k: v for k, v in report.items() if k != "diagnostics"} == {
        "formatVersion": 1,
        "environment": "local",
        "valid": False,
        "resources": 81,
        "files": 13,
        "errors": 2,
        "warnings": 0,
    }
    assert report["diagnostics"] == [
        {
            "severity": "error",
            "code": "reference",
            "message": "parent role 'Chair' is not declared",
            "file": "manifests/board.yaml",
            "line": 6,
            "column": 3,
            "address": "Role/Board",
            "hint": None,
        },
        {
            "severity": "error",
            "code": "formula",
            "message": "spec.condition: unknown field Amount__c (formula line 1, column 40)",
            "file": "manifests/rule.yaml",
            "line": 5,
            "column": 53,
            "address": "ValidationRule/Account.Tier",
            "hint": None,
        },
    ]


def test_paths_report_only_their_own_problems(project: Path, crmctl) -> None:
    (project / "manifests" / "board.yaml").write_text(BROKEN_ROLE)
    # The permission sets in access/ name fields declared in objects/ and standard/.
    r = crmctl("validate", "manifests/access/")
    assert (r.exit_code, r.out, r.err) == (
        0,
        f"valid: {EXAMPLE.resources + 1} resources in {EXAMPLE.files + 1} files\n",
        "",
    )
    r = crmctl("validate", "manifests/board.yaml", "manifests/objects/")
    assert (r.exit_code, r.err) == (1, "")
    assert r.out == (
        "manifests/board.yaml:6: Role/Board: parent role 'Chair' is not declared\n"
        "1 error in 1 file\n"
    )


def test_paths_outside_the_environment_resolve_references_into_it(
    project: Path, crmctl, tmp_path: Path
) -> None:
    draft = tmp_path / "drafts" / "finance.yaml"
    draft.parent.mkdir()
    draft.write_text(
        "apiVersion: crmctl/v1\nkind: PermissionSet\nmetadata: {name: Finance}\nspec:\n"
        "  label: Finance\n  objects: {Invoice__c: [read, create, edit]}\n"
        "  fields:\n    Invoice__c.Amount__c: [read, edit]\n    Invoice__c.Tax__c: [read]\n"
    )
    r = crmctl("validate", str(draft))
    assert (r.exit_code, r.err) == (1, "")
    assert r.out == (
        f"{draft}:9: PermissionSet/Finance: fields: 'Invoice__c.Tax__c' is not a field of Invoice__c\n"
        "1 error in 1 file\n"
    )


def test_path_that_does_not_exist(project: Path, crmctl) -> None:
    r = crmctl("validate", "manifests/sales/", "manifests/objects")
    assert (r.exit_code, r.err) == (1, "")
    assert r.out == "manifests/sales: no such file or folder\n1 error in 1 file\n"


def test_project_folder_given_with_dash_c(project: Path, crmctl, monkeypatch) -> None:
    monkeypatch.chdir(project.parent)
    r = crmctl("-C", "project", "validate", "-e", "prod")
    assert (r.exit_code, r.out, r.err) == (
        0,
        f"valid: {EXAMPLE.resources} resources in {EXAMPLE.files} files\n",
        "",
    )
    r = crmctl("-C", "nowhere", "validate")
    assert (r.exit_code, r.out) == (1, "")
    assert r.err == "Error: project folder nowhere does not exist\n"


def test_unknown_format(project: Path, crmctl) -> None:
    r = crmctl("validate", "--format", "sarif")
    assert (r.exit_code, r.out) == (1, "")
    assert r.err.endswith(
        "Error: Invalid value for '--format': 'sarif' is not one of 'text', 'json'.\n"
    )


def test_generated_organisation_validates(tmp_path: Path, crmctl) -> None:
    gen_org = load_gen_org()
    counts = gen_org.generate(tmp_path / "org", resources=300, seed=7)
    assert sum(counts.values()) == 300
    assert set(counts) == {
        "CustomObject",
        "CustomField",
        "ValidationRule",
        "DuplicateRule",
        "RetentionPolicy",
        "Role",
        "PermissionSet",
        "User",
    }
    r = crmctl("--no-color", "-C", str(tmp_path / "org"), "validate")
    assert (r.exit_code, r.err) == (0, "")
    assert r.out.startswith("valid: 300 resources in ")


def test_generator_is_deterministic(tmp_path: Path) -> None:
    gen_org = load_gen_org()
    gen_org.main([str(tmp_path / "a"), "--resources", "150", "--seed", "3"])
    gen_org.main([str(tmp_path / "b"), "--resources", "150", "--seed", "3"])
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.yaml"))
    assert files == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.yaml"))
    assert all(
        (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files
    )
