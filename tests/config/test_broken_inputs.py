"""A corpus of broken manifest files: each gets one clear message with its line, never a traceback.

Every case adds `manifests/broken.yaml` to a copy of the example project and
runs `crmctl validate`; the example's own manifests stay valid, so the output
is exactly the broken file's problems and the summary.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crmctl.config.yamlsource import MAX_FILE_BYTES
from tests.conftest import EXAMPLE

ROLE = b"apiVersion: crmctl/v1\nkind: Role\nmetadata: {name: Board}\nspec:\n  label: Board\n"
KINDS = (
    "CustomObject, GlobalValueSet, CustomField, StandardField, RecordType, ValidationRule, "
    "DuplicateRule, "
    "RetentionPolicy, Role, PermissionSet, User"
)

CASES = {
    "unclosed bracket": (
        b"apiVersion: crmctl/v1\nkind: Role\nmetadata: {name: Board\nspec:\n  label: Board\n",
        "manifests/broken.yaml:4: invalid YAML: did not find expected ',' or '}' "
        "(while parsing a flow mapping on line 3)\n"
        "1 error in 1 file\n",
    ),
    "unclosed quote": (
        b'apiVersion: crmctl/v1\nkind: Role\nmetadata: {name: Board}\nspec: {label: "Board}\n',
        "manifests/broken.yaml:5: invalid YAML: found unexpected end of stream "
        "(while scanning a quoted scalar on line 4)\n"
        "1 error in 1 file\n",
    ),
    "key indented too little": (
        b"apiVersion: crmctl/v1\nkind: Role\nmetadata:\n  name: Board\n spec:\n  label: B\n",
        "manifests/broken.yaml:5: invalid YAML: did not find expected key "
        "(while parsing a block mapping on line 1)\n"
        "1 error in 1 file\n",
    ),
    "key indented too much": (
        b"apiVersion: crmctl/v1\nkind: Role\nmetadata:\n  name: Board\nspec:\n  label: B\n"
        b"    parent: CEO\n",
        "manifests/broken.yaml:7: invalid YAML: mapping values are not allowed in this context\n"
        "1 error in 1 file\n",
    ),
    "tab indentation": (
        b"apiVersion: crmctl/v1\nkind: Role\nmetadata:\n\tname: Board\nspec:\n  label: B\n",
        "manifests/broken.yaml:4: invalid YAML: a tab character cannot indent YAML\n"
        "  hint: indent with spaces\n"
        "1 error in 1 file\n",
    ),
    "wrong types": (
        b"apiVersion: crmctl/v1\nkind: CustomField\nmetadata: {name: Account.Size__c}\nspec:\n"
        b"  type: Number\n  label: 42\n  precision: '10'\n  required: yes\n",
        "manifests/broken.yaml:6: CustomField/Account.Size__c: spec.label must be a string, "
        "not a number\n"
        "  hint: quote the value: '42'\n"
        "manifests/broken.yaml:7: CustomField/Account.Size__c: spec.precision must be a whole "
        "number, not a string\n"
        "manifests/broken.yaml:8: CustomField/Account.Size__c: spec.required must be true or "
        "false, not a string\n"
        "3 errors in 1 file\n",
    ),
    "unknown keys": (
        b"apiVersion: crmctl/v1\nkind: Role\nmetadata: {name: Board, ownr: hr}\nspec:\n"
        b"  label: Board\n  parnt: CEO\n  colour: blue\n",
        "manifests/broken.yaml:3: Role/Board: metadata: unknown key 'ownr'\n"
        "  hint: did you mean 'owner'?\n"
        "manifests/broken.yaml:6: Role/Board: spec: unknown key 'parnt'\n"
        "  hint: did you mean 'parent'?\n"
        "manifests/broken.yaml:7: Role/Board: spec: unknown key 'colour'\n"
        "  hint: allowed keys: description, label, parent\n"
        "3 errors in 1 file\n",
    ),
    "duplicate names": (
        ROLE + b"---\n" + ROLE,
        "manifests/broken.yaml:7: Role/Board: declared twice: also at manifests/broken.yaml:1\n"
        "  hint: a resource's kind and metadata.name must be unique; rename or remove one\n"
        "1 error in 1 file\n",
    ),
    "duplicate yaml keys": (
        b"apiVersion: crmctl/v1\nkind: Role\nmetadata: {name: Board}\nspec:\n  label: Board\n"
        b"  parent: CEO\n  label: Directors\n",
        "manifests/broken.yaml:7: duplicate key 'label' (first defined on line 5)\n"
        "  hint: YAML keeps only the last value of a repeated key; remove one of them\n"
        "1 error in 1 file\n",
    ),
    "empty file": (
        b"",
        "manifests/broken.yaml: file is empty: it holds no manifests\n1 error in 1 file\n",
    ),
    "only comments": (
        b"# TODO: add the board role\n# (waiting for HR)\n",
        "manifests/broken.yaml: file is empty: it holds no manifests\n1 error in 1 file\n",
    ),
    "document is a list": (
        b"- apiVersion: crmctl/v1\n- kind: Role\n",
        "manifests/broken.yaml:1: a manifest must be a mapping with apiVersion, kind, metadata "
        "and spec, not a list\n"
        "1 error in 1 file\n",
    ),
    "document is a scalar": (
        ROLE + b"---\njust some text\n",
        "manifests/broken.yaml:7: a manifest must be a mapping with apiVersion, kind, metadata "
        "and spec, not a string\n"
        "1 error in 1 file\n",
    ),
    "missing kind": (
        b"apiVersion: crmctl/v1\nmetadata: {name: Board}\nspec: {label: Board}\n",
        f"manifests/broken.yaml:1: missing required key 'kind'\n  hint: kinds: {KINDS}\n"
        "1 error in 1 file\n",
    ),
    "unknown kind": (
        b"apiVersion: crmctl/v1\nkind: PermissionGroup\nmetadata: {name: Board}\n"
        b"spec: {label: Board}\n",
        "manifests/broken.yaml:2: unknown kind 'PermissionGroup'\n"
        "  hint: did you mean 'PermissionSet'?\n"
        "1 error in 1 file\n",
    ),
    "kind nothing like a known one": (
        b"apiVersion: crmctl/v1\nkind: Dashboard\nmetadata: {name: Board}\nspec: {label: Board}\n",
        f"manifests/broken.yaml:2: unknown kind 'Dashboard'\n  hint: kinds: {KINDS}\n"
        "1 error in 1 file\n",
    ),
    "wrong apiVersion": (
        ROLE.replace(b"crmctl/v1", b"v1"),
        "manifests/broken.yaml:1: Role/Board: apiVersion must be 'crmctl/v1' (got 'v1')\n"
        "1 error in 1 file\n",
    ),
    "missing metadata name": (
        b"apiVersion: crmctl/v1\nkind: Role\nmetadata: {owner: hr}\nspec: {label: Board}\n",
        "manifests/broken.yaml:3: metadata: missing required key 'name'\n1 error in 1 file\n",
    ),
    "missing metadata and spec": (
        b"apiVersion: crmctl/v1\nkind: Role\n",
        "manifests/broken.yaml:1: the document: missing required key 'metadata'\n"
        "manifests/broken.yaml:1: the document: missing required key 'spec'\n"
        "2 errors in 1 file\n",
    ),
    "binary file": (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00",
        "manifests/broken.yaml: not a text file (it contains NUL bytes)\n1 error in 1 file\n",
    ),
    "invalid utf-8": (
        ROLE.replace(b"label: Board", b"label: Conseil d'administration \xe9lu"),
        "manifests/broken.yaml:5: not valid UTF-8 text (byte 0xe9 at offset 97)\n"
        "  hint: save the file as UTF-8\n"
        "1 error in 1 file\n",
    ),
    "control character": (
        ROLE.replace(b"label: Board", b"label: Board\x07"),
        "manifests/broken.yaml:5: invalid YAML: unacceptable character #x0007: "
        "control characters are not allowed\n"
        "  hint: delete it: YAML allows no control characters, not even in quotes\n"
        "1 error in 1 file\n",
    ),
    "deeply nested document": (
        ROLE + b"  description:\n" + b"".join(b"  " * (i + 2) + b"k:\n" for i in range(80)),
        "manifests/broken.yaml:70: document is nested too deeply\n1 error in 1 file\n",
    ),
    "deeply nested flow": (
        ROLE + b"  description: " + b"[" * 200 + b"]" * 200 + b"\n",
        "manifests/broken.yaml:6: document is nested too deeply\n1 error in 1 file\n",
    ),
    "python object tag": (
        ROLE.replace(b"label: Board", b"label: !!python/object/apply:os.system ['id']"),
        "manifests/broken.yaml:5: unsupported YAML tag "
        "tag:yaml.org,2002:python/object/apply:os.system\n"
        "  hint: crmctl manifests use plain YAML: strings, numbers, booleans, lists and mappings\n"
        "1 error in 1 file\n",
    ),
    "custom tag on a mapping": (
        ROLE.replace(b"spec:\n", b"spec: !Secret\n"),
        "manifests/broken.yaml:4: unsupported YAML tag !Secret\n"
        "  hint: crmctl manifests use plain YAML: strings, numbers, booleans, lists and mappings\n"
        "1 error in 1 file\n",
    ),
    "alias to an anchor of another document": (
        ROLE.replace(b"label: Board", b"label: &title Board")
        + b"---\n"
        + ROLE.replace(b"name: Board", b"name: Council").replace(b"label: Board", b"label: *title"),
        "manifests/broken.yaml:11: invalid YAML: found undefined alias\n1 error in 1 file\n",
    ),
    "complex mapping key": (
        b"? [apiVersion, kind]\n: crmctl/v1\n",
        "manifests/broken.yaml:1: mapping keys must be plain strings\n1 error in 1 file\n",
    ),
}


@pytest.mark.parametrize(("content", "expected"), CASES.values(), ids=list(CASES))
def test_broken_file(project: Path, crmctl, content: bytes, expected: str) -> None:
    (project / "manifests" / "broken.yaml").write_bytes(content)
    r = crmctl("validate")
    assert "Traceback" not in r.output
    assert (r.exit_code, r.err) == (1, "")
    assert r.out == expected


def test_ten_megabyte_file(project: Path, crmctl) -> None:
    with (project / "manifests" / "huge.yaml").open("wb") as out:
        out.write(ROLE)
        out.write(b"  description: " + b"x" * (10 * 1024 * 1024) + b"\n")
    r = crmctl("validate")
    assert "Traceback" not in r.output
    assert (r.exit_code, r.err) == (1, "")
    assert r.out == (
        f"manifests/huge.yaml: file is 10.0 MB; manifest files are limited to "
        f"{MAX_FILE_BYTES // 1024 // 1024} MB\n"
        "  hint: split the resources over several files\n"
        "1 error in 1 file\n"
    )


def test_alias_bomb(project: Path, crmctl) -> None:
    lines = [b"  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]".encode() for i in range(1, 10)]
    (project / "manifests" / "bomb.yaml").write_bytes(ROLE + b"  x:\n" + b"\n".join(lines))
    r = crmctl("validate")
    assert (r.exit_code, r.err) == (1, "")
    assert r.out == (
        "manifests/bomb.yaml:11: YAML aliases expand this document to more than 100000 values\n"
        "  hint: write the values out instead of nesting aliases of aliases\n"
        "1 error in 1 file\n"
    )


def test_anchors_aliases_and_merge_keys_within_a_document_are_fine(project: Path, crmctl) -> None:
    (project / "manifests" / "anchors.yaml").write_text(
        "apiVersion: crmctl/v1\n"
        "kind: CustomField\n"
        "metadata: {name: Account.Billing_Tier__c, owner: &team finance-ops}\n"
        "spec:\n"
        "  <<: &picklist {type: Picklist, classification: Internal}\n"
        "  label: Billing Tier\n"
        "  values: &tiers [Bronze, Silver, Gold]\n"
        "  description: *team\n"
    )
    r = crmctl("validate")
    assert (r.exit_code, r.out, r.err) == (
        0,
        f"valid: {EXAMPLE.resources + 1} resources in {EXAMPLE.files + 1} files\n",
        "",
    )


def test_several_broken_files_are_all_reported(project: Path, crmctl) -> None:
    (project / "manifests" / "a.yaml").write_bytes(b"")
    (project / "manifests" / "b.yaml").write_bytes(b"kind: Role\n\tspec: {}\n")
    (project / "manifests" / "c.yml").write_bytes(ROLE.replace(b"Role", b"Rol"))
    r = crmctl("validate")
    assert (r.exit_code, r.err) == (1, "")
    assert r.out == (  # the file that cannot be parsed first
        "manifests/b.yaml:2: invalid YAML: a tab character cannot indent YAML\n"
        "  hint: indent with spaces\n"
        "manifests/a.yaml: file is empty: it holds no manifests\n"
        "manifests/c.yml:2: unknown kind 'Rol'\n"
        "  hint: did you mean 'Role'?\n"
        "3 errors in 3 files\n"
    )
