"""The direct YAML writer writes byte for byte what PyYAML's emitter writes (it replaced it for speed)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from crmctl.importer.sfdx import import_sfdx, write_manifests
from crmctl.yamlwrite import _pyyaml, to_yaml

REPO = Path(__file__).resolve().parents[2]
SFDX = REPO / ".." / "shared" / "data" / "sfdx"
sys.path.insert(0, str(REPO / "bench"))

ODD = [
    "plain", "two words", "", " leading", "trailing ", "yes", "No", "on", "null", "~", "true",
    "False", "123", "0x1F", "1e3", "1.5", ".inf", "-", "- item", "a: b", "a #b", "#x", "@at",
    "`tick", "'quoted'", '"double"', "x, y", "[list]", "{map}", "é ü ß 日本", "tab\there",
    "back\\slash", "*star", "&amp", "!bang", "%pct", "?q", "|pipe", ">gt", "a" * 300,
    "2026-01-31", "12:30", "Account.Name", "Profile: Sales", "café: au lait", "\u00a0nbsp",
    "line\u2028sep", "bell\x07",
]  # fmt: skip
SCALARS = [*ODD, 0, 1, -7, 3.25, 1e20, True, False, None]


def documents() -> list[dict]:
    docs: list[dict] = []
    for value in SCALARS:
        docs.append({"spec": {"value": value, "list": [value], "items": [value, "x"]}})
        if isinstance(value, str):
            docs.append({value or "empty": {value or "k": value}})
    docs.append({"a": {}, "b": [], "c": [{}], "d": [[1, 2]], "e": [{"x": 1, "y": [1, 2]}]})
    docs.append({"long": ["word"] * 40, "mixed": [1, "two", None, True], "nested": {"n": {}}})
    docs.append({"multi": "first\nsecond\n", "rules": [{"formula": "A &&\nB"}]})
    return docs


@pytest.mark.parametrize("inline_lists", [True, False])
def test_direct_writer_equals_pyyaml_on_odd_values(inline_lists: bool) -> None:
    for doc in documents():
        assert to_yaml(doc, inline_lists) == _pyyaml(doc, inline_lists), doc


def test_the_output_reads_back_as_the_data() -> None:
    for doc in documents():
        text = to_yaml(doc)
        assert yaml.safe_load(text) == yaml.safe_load(_pyyaml(doc, True))


def emitted_with_pyyaml(out: Path) -> dict[Path, str]:
    """What the import wrote, every document written again by PyYAML's emitter."""
    files = {}
    for path in sorted(out.rglob("*.yaml")):
        header, _, body = path.read_text(encoding="utf-8").partition("\n")
        docs = yaml.safe_load_all(body)
        again = "---\n".join(_pyyaml(doc, True) for doc in docs)
        files[path] = f"{header}\n{again}"
    return files


def test_a_synthetic_org_imports_byte_identical_to_the_pyyaml_emitter(tmp_path: Path) -> None:
    from gen_sfdx import generate

    generate(tmp_path / "src", objects=6, fields=60, rules=8, roles=7, profiles=3,
             field_permissions=40, permission_sets=3)  # fmt: skip
    result = import_sfdx(tmp_path / "src")
    written = write_manifests(result, tmp_path / "out", owner="crm-admins")
    assert len(written) == 6 + 3 + 1
    expected = emitted_with_pyyaml(tmp_path / "out")
    for path in written:
        assert path.read_text(encoding="utf-8") == expected[path], path


@pytest.mark.skipif(not SFDX.is_dir(), reason="../shared/data/sfdx is not present")
@pytest.mark.parametrize("project", ["dreamhouse-lwc", "navikt-crm-arbeidsgiver-base"])
def test_real_projects_import_byte_identical_to_the_pyyaml_emitter(
    tmp_path: Path, project: str
) -> None:
    result = import_sfdx(SFDX / project)
    written = write_manifests(result, tmp_path / "out")
    assert written
    expected = emitted_with_pyyaml(tmp_path / "out")
    for path in written:
        assert path.read_text(encoding="utf-8") == expected[path], path
