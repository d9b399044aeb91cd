"""Every command that reads the manifests refuses a hostile one the same way apply does."""

from __future__ import annotations

import os

import pytest

from .test_manifests import FILE, role, rule

COMMANDS = {
    "validate": ("validate",),
    "validate json": ("validate", "--format", "json"),
    "plan": ("plan",),
    "plan json": ("plan", "--format", "json"),
    "plan markdown": ("plan", "--format", "markdown"),
    "plan detailed": ("plan", "--detailed-exitcode"),
    "lint": ("lint",),
    "drift": ("drift",),
    "approvals": ("approvals",),
    "approve": ("approve", "--role", "crm-admin"),
    "import": ("import", "Role/CEO"),
    "rollback": ("rollback", "--to", "v1"),
}
HOSTILE = {
    "ESC in a label": role(label='"Bo\\eard"'),
    "case twin": role(name="ceo"),
    "bad regex": rule(condition="\"REGEX(Name, '[')\""),
    "5000-digit number": role(label="9" * 5000),
    "cyrillic username": role()
    .replace("kind: Role", "kind: User")
    .replace(
        "metadata: {name: Board, owner: hr}\nspec:\n  label: Board",
        'metadata: {name: "pr\\u0456ya@northwind.example"}\nspec: {email: a@b.example, lastName: S}',
    ),
}


@pytest.mark.parametrize("args", COMMANDS.values(), ids=COMMANDS.keys())
@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_every_command_refuses_a_hostile_manifest(hostile_project, refuse, args, text):
    (hostile_project / FILE).write_text(text)
    refuse(*args, names=FILE)


@pytest.mark.parametrize("args", COMMANDS.values(), ids=COMMANDS.keys())
def test_every_command_refuses_a_fifo(hostile_project, refuse, args):
    os.mkfifo(hostile_project / FILE)
    assert "it is a FIFO (named pipe), not a regular file" in refuse(*args, names=FILE).output
