"""Hostile manifest files: broken YAML, wrong types, odd bytes, and things that are not files."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from .test_manifests import (
    FILE,
    HEAD,
    custom_object,
    field,
    permission_set,
    retention,
    role,
    rule,
    user,
)

# --- YAML that is not a manifest ---------------------------------------------------------
NESTED = "[" * 10_000 + "]" * 10_000
ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(8)
)
STRUCTURE: dict[str, tuple[bytes, str]] = {
    "deep flow nesting": (NESTED.encode(), "exceeded maximum nesting depth"),
    "deep block nesting": (
        "".join(" " * i + f"k{i}:\n" for i in range(100)).encode() + b" " * 100 + b"v\n",
        "document is nested too deeply",
    ),
    "alias bomb": (
        ALIAS_BOMB.encode(),
        "YAML aliases expand this document to more than 100000 values",
    ),
    "merge-key bomb": (ALIAS_BOMB.encode() + b"spec: {<<: *i}\n", "YAML aliases expand"),
    "tab indentation": (
        role().replace("  label", "\tlabel").encode(),
        "a tab character cannot indent YAML",
    ),
    "unclosed flow": (b"apiVersion: crmctl/v1\nkind: Role\nmetadata: {name: X\n", "invalid YAML"),
    "python object tag": (
        role(extra="  parent: !!python/object:os.system ls\n").encode(),
        "unsupported YAML tag",
    ),
    "binary tag": (
        role(label="!!binary aGVsbG8=").encode(),
        "unsupported YAML tag tag:yaml.org,2002:binary",
    ),
    "set tag": (role(label="!!set {a, b}").encode(), "unsupported YAML tag tag:yaml.org,2002:set"),
    "custom tag": (role(label="!shell rm -rf /").encode(), "unsupported YAML tag !shell"),
    "duplicate key": (role(extra="  label: Again\n").encode(), "duplicate key 'label'"),
    "top-level list": (b"- apiVersion: crmctl/v1\n- kind: Role\n", "a manifest must be a mapping"),
    "top-level scalar": (b"just words\n", "a manifest must be a mapping"),
    "top-level number": (("9" * 5000 + "\n").encode(), "number with 5000 characters"),
    "empty file": (b"", "file is empty: it holds no manifests"),
    "only comments": (b"# nothing here\n", "file is empty: it holds no manifests"),
    "latin-1 bytes": (role(label="Caf\xe9").encode("latin-1"), "not valid UTF-8 text (byte 0xe9"),
    "utf-16 with BOM": (role().encode("utf-16"), "not a text file (it contains NUL bytes)"),
    "utf-32": (role().encode("utf-32"), "not a text file (it contains NUL bytes)"),
    "BOM then garbage": (b"\xef\xbb\xbf\xff\xfe", "not valid UTF-8 text (byte 0xff"),
    "lone surrogate escape": (role(label='"\\ud800"').encode(), "invalid YAML"),
    "null byte in middle": (
        role().encode().replace(b"Board\n", b"Bo\x00ard\n"),
        "not a text file (it contains NUL bytes)",
    ),
    "second document broken": ((role() + "---\n" + "kind: [\n").encode(), "invalid YAML"),
    "mapping key is a list": (
        b"apiVersion: crmctl/v1\n? [a, b]\n: c\n",
        "mapping keys must be plain strings",
    ),
    "anchor to itself": (b"a: &a [*a]\n", "document is nested too deeply"),
    "very long line": (
        role(label="x" * 1_000_000).encode(),
        "spec.label is 1000000 characters long",
    ),
}


@pytest.mark.parametrize(("raw", "message"), STRUCTURE.values(), ids=STRUCTURE.keys())
def test_yaml_that_is_not_a_manifest(hostile_project, refuse, raw, message):
    (hostile_project / FILE).write_bytes(raw)
    assert message in refuse("apply", "--auto-approve", names=FILE).err


def test_a_file_over_the_size_limit(hostile_project, refuse):
    with open(hostile_project / FILE, "wb") as out:
        out.truncate(6 * 1024 * 1024)  # sparse: 6 MB that cost nothing to write
    assert (
        "file is 6.0 MB; manifest files are limited to 5 MB"
        in refuse("apply", "--auto-approve", names=FILE).err
    )


# --- wrong types everywhere ---------------------------------------------------------------
WRONG = {
    "[1, 2]": "a list",
    "{a: 1}": "a mapping",
    "true": "a boolean",
    "null": "null",
    "12": "a number",
}
TYPE_PLACES = {
    "role label": (lambda v: role(label=v), "spec.label must be a string"),
    "permission set objects": (lambda v: permission_set(extra=f"  objects: {v}\n"), "spec.objects"),
    "field type": (lambda v: field(spec=f"{{type: {v}, label: X}}"), "spec.type"),
    "rule condition": (lambda v: rule(condition=v), "spec.condition must be a string"),
    "user email": (
        lambda v: user().replace('email: "ines.moreau@northwind.example"', f"email: {v}"),
        "spec.email: email must be an email address",
    ),
    "retention retain": (
        lambda v: retention(retain=v),
        "spec.retain: retain must be an ISO-8601 period",
    ),
    "object description": (
        lambda v: custom_object(extra=f"  description: {v}\n"),
        "spec.description must be a string",
    ),
}
TYPE_CASES = [
    pytest.param(
        make(value),
        f"spec.label must be a string, not {shown}" if place == "role label" else message,
        id=f"{place}={value}",
    )
    for place, (make, message) in TYPE_PLACES.items()
    for value, shown in WRONG.items()
]


@pytest.mark.parametrize(("text", "message"), TYPE_CASES)
def test_wrong_types_everywhere(hostile_project, refuse, text, message):
    (hostile_project / FILE).write_text(text)
    assert message in refuse("apply", "--auto-approve", names=FILE).err


ENVELOPES = {
    "spec is a list": (
        f"{HEAD}kind: Role\nmetadata: {{name: X}}\nspec: [label, X]\n",
        "spec must be a mapping, not a list",
    ),
    "metadata is a string": (
        f"{HEAD}kind: Role\nmetadata: X\nspec: {{label: X}}\n",
        "metadata must be a mapping, not a string",
    ),
    "name is a number": (
        f"{HEAD}kind: Role\nmetadata: {{name: 42}}\nspec: {{label: X}}\n",
        "metadata.name must be a string",
    ),
    "name is a list": (
        f"{HEAD}kind: Role\nmetadata: {{name: [a]}}\nspec: {{label: X}}\n",
        "metadata.name must be a string",
    ),
    "name is null": (
        f"{HEAD}kind: Role\nmetadata: {{name: null}}\nspec: {{label: X}}\n",
        "metadata.name must be a string",
    ),
    "name is empty": (
        f"{HEAD}kind: Role\nmetadata: {{name: ''}}\nspec: {{label: X}}\n",
        "metadata.name",
    ),
    "name with spaces": (
        f"{HEAD}kind: Role\nmetadata: {{name: Sales Rep}}\nspec: {{label: X}}\n",
        "a Role name is an API name",
    ),
    "name with slash": (
        f"{HEAD}kind: Role\nmetadata: {{name: ../../etc}}\nspec: {{label: X}}\n",
        "a Role name is an API name",
    ),
    "kind is a list": (
        f"{HEAD}kind: [Role]\nmetadata: {{name: X}}\nspec: {{label: X}}\n",
        "unknown kind",
    ),
    "unknown kind": (
        f"{HEAD}kind: Workflow\nmetadata: {{name: X}}\nspec: {{}}\n",
        "unknown kind 'Workflow'",
    ),
    "missing kind": (f"{HEAD}metadata: {{name: X}}\nspec: {{}}\n", "missing required key 'kind'"),
    "wrong apiVersion": (
        "apiVersion: crmctl/v2\nkind: Role\nmetadata: {name: X}\nspec: {label: X}\n",
        "apiVersion must be 'crmctl/v1'",
    ),
    "apiVersion number": (
        "apiVersion: 1\nkind: Role\nmetadata: {name: X}\nspec: {label: X}\n",
        "apiVersion must be 'crmctl/v1'",
    ),
    "labels not strings": (
        f"{HEAD}kind: Role\nmetadata: {{name: X, labels: {{a: [1]}}}}\nspec: {{label: X}}\n",
        "metadata.labels.a must be a string",
    ),
}


@pytest.mark.parametrize(("text", "message"), ENVELOPES.values(), ids=ENVELOPES.keys())
def test_broken_envelopes(hostile_project, refuse, text, message):
    (hostile_project / FILE).write_text(text)
    assert message in refuse("apply", "--auto-approve", names=FILE).err


UNKNOWN_KEYS = {
    "Role": role(extra="  colour: blue\n"),
    "PermissionSet": permission_set(extra="  admin: true\n"),
    "CustomObject": custom_object(extra="  sharing: Private\n"),
    "CustomField": field(spec="{type: Text, label: X, lenght: 10}"),
    "ValidationRule": rule() + "  severity: high\n",
    "User": user(extra="  password: hunter2\n"),
    "RetentionPolicy": retention(extra="  purge: true\n"),
    "metadata": role().replace("owner: hr", "owner: hr, namespace: x"),
    "top level": role() + "status: {}\n",
}


@pytest.mark.parametrize("text", UNKNOWN_KEYS.values(), ids=UNKNOWN_KEYS.keys())
def test_unknown_keys(hostile_project, refuse, text):
    (hostile_project / FILE).write_text(text)
    assert "unknown key" in refuse("apply", "--auto-approve", names=FILE).err


# --- things that are not regular files inside the project ----------------------------------
def test_a_symlink_to_a_file_outside_the_project(hostile_project, refuse, tmp_path):
    secret = tmp_path / "secret.yaml"
    secret.write_text(role())
    (hostile_project / FILE).symlink_to(secret)
    outcome = refuse("apply", "--auto-approve", names=FILE)
    assert (
        f"refusing to read this file: it is a symbolic link to {secret}, outside the project"
        in outcome.err
    )


def test_a_symlink_to_etc_passwd(hostile_project, refuse):
    (hostile_project / FILE).symlink_to("/etc/passwd")
    assert "outside the project" in refuse("apply", "--auto-approve", names=FILE).err


def test_a_symlinked_folder_outside_the_project(hostile_project, refuse, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "roles.yaml").write_text(role())
    (hostile_project / "manifests" / "linked").symlink_to(elsewhere)
    env = hostile_project / "environments" / "local.yaml"
    env.write_text(
        env.read_text().replace("  - manifests\n", "  - manifests\n  - manifests/linked\n")
    )
    assert "outside the project" in refuse("apply", "--auto-approve", names="manifests/linked").err


def test_a_symlink_to_dev_zero(hostile_project, refuse):
    (hostile_project / FILE).symlink_to("/dev/zero")
    assert "outside the project" in refuse("apply", "--auto-approve", names=FILE).err


def test_a_fifo(hostile_project, refuse):
    os.mkfifo(hostile_project / FILE)
    outcome = refuse("apply", "--auto-approve", names=FILE)
    assert (
        "refusing to read this file: it is a FIFO (named pipe), not a regular file" in outcome.err
    )


def test_a_socket(hostile_project, refuse):
    path = hostile_project / FILE
    with socket.socket(socket.AF_UNIX) as server:
        os.chdir(path.parent)
        server.bind(path.name)
        os.chdir(hostile_project)
        outcome = refuse("apply", "--auto-approve", names=FILE)
    assert "it is a socket, not a regular file" in outcome.err


def test_a_broken_symlink(hostile_project, refuse):
    (hostile_project / FILE).symlink_to(hostile_project / "nowhere.yaml")
    assert "refusing to read this file" in refuse("apply", "--auto-approve", names=FILE).err


def test_a_symlink_loop(hostile_project, refuse):
    (hostile_project / FILE).symlink_to(hostile_project / FILE)
    assert "refusing to read this file" in refuse("apply", "--auto-approve", names=FILE).err


MANIFEST_PATHS = {
    "dev zero": ("/dev/zero", "/dev/zero"),
    "etc": ("/etc", "/etc"),
    "parent folder": ("..", ".."),
    "absolute project copy": ("/tmp", "/tmp"),
}


@pytest.mark.parametrize(("entry", "shown"), MANIFEST_PATHS.values(), ids=MANIFEST_PATHS.keys())
def test_manifest_paths_outside_the_project(hostile_project, refuse, entry, shown):
    env = hostile_project / "environments" / "local.yaml"
    env.write_text(env.read_text().replace("  - manifests\n", f"  - {entry}\n"))
    outcome = refuse("apply", "--auto-approve", names=shown)
    assert "outside the project" in outcome.err


def test_a_fifo_named_as_the_manifest_folder(hostile_project, refuse):
    os.mkfifo(hostile_project / "pipe.yaml")
    env = hostile_project / "environments" / "local.yaml"
    env.write_text(env.read_text().replace("  - manifests\n", "  - manifests\n  - pipe.yaml\n"))
    assert (
        "it is a FIFO (named pipe), not a regular file"
        in refuse("apply", "--auto-approve", names="pipe.yaml").err
    )


def test_validate_of_a_fifo_given_on_the_command_line(hostile_project, refuse):
    os.mkfifo(hostile_project / "pipe.yaml")
    assert (
        "pipe.yaml: refusing to read this file: it is a FIFO (named pipe), not a regular file"
        in refuse("validate", "pipe.yaml", names="pipe.yaml").output
    )


def test_symlink_inside_the_project_is_read(hostile_project, crmctl):
    # A link that stays inside the project is an ordinary way to share a file.
    (hostile_project / "shared").mkdir()
    (hostile_project / "shared" / "board.yaml").write_text(role())
    (hostile_project / FILE).symlink_to(Path("..") / "shared" / "board.yaml")
    result = crmctl("validate")
    assert (result.exit_code, result.out) == (0, "valid: 8 resources in 3 files\n")
