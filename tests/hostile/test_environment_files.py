"""Hostile environment files: each is refused with exit 1, naming the file, changing nothing."""

from __future__ import annotations

import os

import pytest

from .conftest import ENVIRONMENT

FILE = "environments/local.yaml"


def replaced(old: str, new: str) -> str:
    assert old in ENVIRONMENT
    return ENVIRONMENT.replace(old, new)


def with_override(spec: str, target: str = "Role/CEO") -> str:
    return ENVIRONMENT + f"overrides:\n  - target: {target}\n    reason: test\n    spec: {spec}\n"


CASES: dict[str, tuple[str | bytes, str]] = {
    "ESC in description": (
        replaced("description: the hostile corpus's embedded sandbox", 'description: "the\\e"'),
        "contains the control character U+001B (ESC)",
    ),
    "NUL in description": (
        replaced("description: the hostile corpus's embedded sandbox", 'description: "\\0the"'),
        "contains the control character U+0000 (NUL)",
    ),
    "RLO in protect": (
        replaced("  - CustomObject/*", '  - "CustomObject/\\u202e*"'),
        "U+202E (RIGHT-TO-LEFT OVERRIDE)",
    ),
    "BEL in a key": (
        ENVIRONMENT + '"lab\\ael": x\n',
        "a key of the document contains the control character U+0007 (BEL)",
    ),
    "5000-digit number": (
        replaced(
            "description: the hostile corpus's embedded sandbox", "description: " + "9" * 5000
        ),
        "number with 5000 characters",
    ),
    "1e999 history path": (
        replaced("path: .crmctl/history", "path: 1.0e+999"),
        "1.0e+999 is not a finite number",
    ),
    "deep nesting": (
        replaced(
            "description: the hostile corpus's embedded sandbox",
            "description: " + "[" * 5000 + "]" * 5000,
        ),
        "invalid YAML",
    ),
    "alias bomb": (
        ENVIRONMENT
        + "x: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
        + "".join(
            f"x{i}: &a{i} [{', '.join([f'*a{i - 1}' if i else '*a'] * 10)}]\n" for i in range(6)
        ),
        "YAML aliases expand this document to more than 100000 values",
    ),
    "tab indentation": (
        ENVIRONMENT.replace("  type: sandbox", "\ttype: sandbox"),
        "a tab character cannot indent YAML",
    ),
    "latin-1": (
        ENVIRONMENT.replace("the hostile", "th\xe9 hostile").encode("latin-1"),
        "not valid UTF-8 text (byte 0xe9",
    ),
    "utf-16": (ENVIRONMENT.encode("utf-16"), "not a text file (it contains NUL bytes)"),
    "empty": ("", "an environment file holds exactly one YAML mapping"),
    "a list": ("- provider\n", "an environment file holds exactly one YAML mapping"),
    "two documents": (
        ENVIRONMENT + "---\n" + ENVIRONMENT,
        "an environment file holds exactly one YAML mapping",
    ),
    "unknown key": (ENVIRONMENT + "colour: blue\n", "unknown key 'colour'"),
    "duplicate key": (ENVIRONMENT + "protect: []\n", "duplicate key 'protect'"),
    "python tag": (
        ENVIRONMENT + "x: !!python/object/apply:os.system [ls]\n",
        "unsupported YAML tag",
    ),
    "provider a list": (
        replaced(
            "provider:\n  type: sandbox\n  path: .crmctl/sandbox.db\n", "provider: [sandbox]\n"
        ),
        "provider must be a mapping",
    ),
    "provider type unknown": (
        replaced("type: sandbox", "type: dynamics"),
        "provider.type must be one of sandbox, salesforce",
    ),
    "provider missing": (
        replaced("provider:\n  type: sandbox\n  path: .crmctl/sandbox.db\n", ""),
        "missing required key 'provider'",
    ),
    "manifests a string": (
        replaced("manifests:\n  - manifests\n", "manifests: manifests\n"),
        "manifests must be a list",
    ),
    "manifests empty": (
        replaced("manifests:\n  - manifests\n", "manifests: []\n"),
        "manifests needs at least 1 item(s)",
    ),
    "manifests a number": (replaced("  - manifests\n", "  - 7\n"), "manifests[0] must be a string"),
    "protect a string": (
        replaced("protect:\n  - CustomObject/*\n", "protect: everything\n"),
        "protect must be a list",
    ),
    "history a list": (
        replaced("history:\n  path: .crmctl/history\n", "history: [x]\n"),
        "history must be a mapping",
    ),
    "roles a list": (replaced("  roles: {}", "  roles: []"), "approvals.roles must be a mapping"),
    "rules a string": (replaced("  rules: []", "  rules: all"), "approvals.rules must be a list"),
    "separation of duties a string": (
        replaced("separationOfDuties: false", "separationOfDuties: nope"),
        "approvals.separationOfDuties must be true or false",
    ),
    "override target unknown": (
        with_override("{label: X}", target="Role/Nobody"),
        "override target Role/Nobody is not declared in the manifests",
    ),
    "override spec a list": (with_override("[1]"), "must be a mapping"),
    "override with ESC": (
        with_override('{label: "C\\eEO"}'),
        "contains the control character U+001B (ESC)",
    ),
    "override with huge number": (
        with_override("{label: " + "1" * 5000 + "}"),
        "number with 5000 characters",
    ),
    "override with long label": (
        with_override("{label: " + "L" * 81 + "}"),
        "spec.label is 81 characters long",
    ),
    "override with newline label": (
        with_override('{label: "C\\nEO"}'),
        "spec.label contains a line break; it must be one line",
    ),
    "override with unknown key": (
        with_override("{colour: blue}"),
        "after override: spec: unknown key 'colour'",
    ),
    "override with cyrillic email": (
        with_override(
            '{email: "pr\\u0456ya@northwind.example"}', target="User/priya.shah@northwind.example"
        ),
        "spec.email contains the non-ASCII character U+0456",
    ),
    "override target wrong type": (
        ENVIRONMENT + "overrides:\n  - target: [Role/CEO]\n    reason: x\n    spec: {}\n",
        "overrides[0].target",
    ),
    "cyrillic role holder": (
        replaced("  roles: {}", '  roles: {crm-admin: ["pr\\u0456ya.shah@northwind.example"]}'),
        "role holders are email addresses in ASCII",
    ),
    "zero-width role holder": (
        replaced("  roles: {}", '  roles: {crm-admin: ["priya\\u200b.shah@northwind.example"]}'),
        "contains the control character U+200B (ZERO WIDTH SPACE)",
    ),
    "NUL byte": (ENVIRONMENT.encode() + b"\x00", "not a text file (it contains NUL bytes)"),
}


@pytest.mark.parametrize(("content", "message"), CASES.values(), ids=CASES.keys())
def test_hostile_environment_files(hostile_project, refuse, content, message):
    path = hostile_project / FILE
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    assert message in refuse("apply", "--auto-approve", names=FILE).err


def test_an_environment_file_over_the_size_limit(hostile_project, refuse):
    path = hostile_project / FILE
    path.unlink()
    with open(path, "wb") as out:
        out.truncate(6 * 1024 * 1024)
    assert "file is 6.0 MB" in refuse("apply", "--auto-approve", names=FILE).err


def test_an_environment_file_that_is_a_fifo(hostile_project, refuse):
    path = hostile_project / FILE
    path.unlink()
    os.mkfifo(path)
    outcome = refuse("apply", "--auto-approve", names=FILE)
    assert (
        "refusing to read this file: it is a FIFO (named pipe), not a regular file" in outcome.err
    )


def test_an_environment_file_linked_to_dev_zero(hostile_project, refuse):
    path = hostile_project / FILE
    path.unlink()
    path.symlink_to("/dev/zero")
    outcome = refuse("apply", "--auto-approve", names=FILE)
    assert (
        "refusing to read this file: it is a symbolic link to /dev/zero, outside the project"
        in outcome.err
    )


def test_an_environment_file_linked_outside_the_project(hostile_project, refuse, tmp_path):
    elsewhere = tmp_path / "prod.yaml"
    elsewhere.write_text(ENVIRONMENT)
    path = hostile_project / FILE
    path.unlink()
    path.symlink_to(elsewhere)
    assert "outside the project" in refuse("apply", "--auto-approve", names=FILE).err


def test_an_environment_file_that_is_a_folder(hostile_project, refuse):
    path = hostile_project / FILE
    path.unlink()
    path.mkdir()
    assert "it is a folder, not a regular file" in refuse("apply", "--auto-approve", names=FILE).err


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "/dev/urandom"])
def test_a_device_named_as_the_environment(hostile_project, refuse, device):
    outcome = refuse("apply", "--auto-approve", "-e", device, names=device)
    assert "it is a character device, not a regular file" in outcome.err


def test_a_fifo_named_as_the_environment(hostile_project, refuse):
    os.mkfifo(hostile_project / "env.yaml")
    outcome = refuse("plan", "-e", "env.yaml", names="env.yaml")
    assert "it is a FIFO (named pipe), not a regular file" in outcome.err
