"""Hostile saved plans: `crmctl apply PLAN` refuses each with exit 1, naming the file, changing nothing."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .test_manifests import role

FILE = "plan.json"


@pytest.fixture
def saved_plan(hostile_project: Path, crmctl) -> dict[str, Any]:
    """A genuine plan (one role to add) saved as plan.json; returns its JSON."""
    (hostile_project / "manifests" / "board.yaml").write_text(role())
    result = crmctl("plan", "--out", FILE)
    assert result.exit_code == 0, result.output
    return json.loads((hostile_project / FILE).read_text())


# --- not a plan at all -------------------------------------------------------------------
GARBAGE: dict[str, tuple[bytes, str]] = {
    "empty": (b"", "plan file plan.json is not valid JSON"),
    "whitespace": (b"   \n", "plan file plan.json is not valid JSON"),
    "random bytes": (bytes(range(256)) * 4, "plan file plan.json is not UTF-8 text"),
    "latin-1 JSON": (
        '{"environment": "caf\xe9"}'.encode("latin-1"),
        "is not UTF-8 text (byte 0xe9",
    ),
    "utf-16 JSON": (
        '{"formatVersion": 1}'.encode("utf-16"),
        "plan file plan.json is not UTF-8 text",
    ),
    "BOM then JSON": (b'\xef\xbb\xbf{"formatVersion": 1}', "plan file plan.json is not valid JSON"),
    "yaml": (b"formatVersion: 1\nchanges: []\n", "plan file plan.json is not valid JSON"),
    "truncated": (b'{"formatVersion": 1, "changes": [', "plan file plan.json is not valid JSON"),
    "null": (b"null", "is not a crmctl plan of format version 1"),
    "a list": (b"[]", "is not a crmctl plan of format version 1"),
    "a number": (b"42", "is not a crmctl plan of format version 1"),
    "a string": (b'"plan"', "is not a crmctl plan of format version 1"),
    "empty object": (b"{}", "is not a crmctl plan of format version 1"),
    "NaN": (b'{"formatVersion": NaN}', "holds NaN, which is not JSON"),
    "Infinity": (b'{"formatVersion": 1, "x": Infinity}', "holds Infinity, which is not JSON"),
    "-Infinity": (b'{"formatVersion": 1, "x": -Infinity}', "holds -Infinity, which is not JSON"),
    "1e999": (b'{"formatVersion": 1e999}', "holds the number 1e999"),
    "5000-digit integer": (
        b'{"formatVersion": ' + b"9" * 5000 + b"}",
        "holds a number with 5000 digits",
    ),
    "negative 5000-digit integer": (
        b'{"x": -' + b"9" * 5000 + b"}",
        "holds a number with 5001 digits",
    ),
    "deep array nesting": (
        b"[" * 100_000 + b"]" * 100_000,
        "plan file plan.json is nested too deeply",
    ),
    "deep object nesting": (
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        "plan file plan.json is nested too deeply",
    ),
    "moderate nesting": (
        b'{"formatVersion": 1, "x": ' + b"[" * 500 + b"]" * 500 + b"}",
        "plan file plan.json is nested too deeply",
    ),
    "NUL bytes": (b'{"formatVersion": 1\x00}', "plan file plan.json is not valid JSON"),
}


@pytest.mark.parametrize(("raw", "message"), GARBAGE.values(), ids=GARBAGE.keys())
def test_garbage_plan_files(hostile_project, refuse, raw, message):
    (hostile_project / FILE).write_bytes(raw)
    assert message in refuse("apply", FILE, names=FILE).err


# --- a genuine plan, edited -------------------------------------------------------------
def edit(path: str, value: Any) -> Callable[[dict], None]:
    """Set the value at a dotted path (list indexes as numbers)."""

    def apply(plan: dict) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        target = plan
        for part in parents:
            target = target[part]
        target[last] = value

    return apply


def drop(path: str) -> Callable[[dict], None]:
    def apply(plan: dict) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        target = plan
        for part in parents:
            target = target[part]
        del target[last]

    return apply


EDITS: dict[str, tuple[Callable[[dict], None], str]] = {
    "format version 0": (edit("formatVersion", 0), "is not a crmctl plan of format version 1"),
    "format version 2": (edit("formatVersion", 2), "is not a crmctl plan of format version 1"),
    "format version as text": (
        edit("formatVersion", "1"),
        "is not a crmctl plan of format version 1",
    ),
    "format version 1.5": (edit("formatVersion", 1.5), "is not a crmctl plan of format version 1"),
    "format version missing": (drop("formatVersion"), "is not a crmctl plan of format version 1"),
    "environment edited": (
        edit("environment", "prod"),
        "plan file plan.json: no environment 'prod': environments/prod.yaml does not exist",
    ),
    "environment a list": (edit("environment", ["local"]), "not a crmctl plan file: environment"),
    "manifests digest edited": (
        edit("manifestsDigest", "0" * 64),
        "plan file plan.json: the saved plan is stale; nothing was applied:\n"
        "  - the manifests or the environment file changed since the plan was made",
    ),
    "manifests digest missing": (
        drop("manifestsDigest"),
        "'manifestsDigest' is a required property",
    ),
    "changes missing": (drop("changes"), "'changes' is a required property"),
    "changes a mapping": (edit("changes", {}), "changes"),
    "change action unknown": (edit("changes.0.action", "explode"), "'explode' is not one of"),
    "change symbol unknown": (edit("changes.0.symbol", "!"), "changes/0/symbol"),
    "change name edited": (
        edit("changes.0.name", "CEO"),
        "  - Role/CEO now exists in the CRM since the plan was made",
    ),
    "change address garbage": (edit("changes.0.address", "no slash"), "changes/0/address"),
    "change after a list": (edit("changes.0.after", ["x"]), "changes/0/after"),
    "change fingerprint edited": (
        edit("changes.0.liveFingerprint", "f" * 64),
        "  - Role/Board was deleted in the CRM since the plan was made",
    ),
    "change fingerprint garbage": (
        edit("changes.0.liveFingerprint", "zz"),
        "changes/0/liveFingerprint",
    ),
    "change diff a string": (edit("changes.0.diff", "all"), "changes/0/diff"),
    "change diff item missing path": (
        edit("changes.0.diff", [{"change": "added", "before": None, "after": 1}]),
        "'path' is a required property",
    ),
    "change source garbage line": (
        edit("changes.0.source", "manifests/board.yaml:" + "9" * 5000),
        "plan.json",
    ),
    "change requires a string": (edit("changes.0.requires", "everyone"), "changes/0/requires"),
    "change approvals garbage": (edit("changes.0.approvals", {"x": 1}), "plan.json"),
    "change missing keys": (edit("changes.0", {}), "is a required property"),
    "change a number": (edit("changes.0", 7), "changes/0"),
    "change after with ESC": (
        edit("changes.0.after.label", "Bo\x1bard"),
        "plan file plan.json holds the control character U+001B (ESC) at changes/0/after/label",
    ),
    "diff with RLO": (
        edit("changes.0.diff.0.after", "\u202eBoard"),
        "holds the control character U+202E (RIGHT-TO-LEFT OVERRIDE) at changes/0/diff/0/after",
    ),
    "key with NUL": (
        edit("changes.0.after.la\x00bel", "Board"),
        "holds the control character U+0000 (NUL) at changes/0/after/la",
    ),
    "targets with control characters": (
        edit("targets", ["Role/\x1b[2J*"]),
        "holds the control character U+001B (ESC) at targets/0",
    ),
    "rollback target garbage": (edit("rollbackTo", "v" + "9" * 5000), "rollbackTo"),
    "rollback target v0": (edit("rollbackTo", "v0"), "rollbackTo"),
    "rollback target text": (edit("rollbackTo", "latest"), "rollbackTo"),
    "summary a string": (edit("summary", "lots"), "summary"),
    "summary huge count": (edit("summary.add", 10**30), "holds a number with 31 digits"),
    "applicable a string": (edit("applicable", "yes"), "applicable"),
    "diagnostic severity unknown": (
        edit("diagnostics", [{"severity": "fatal", "message": "x", "file": None}]),
        "plan.json",
    ),
    "diagnostic message missing": (edit("diagnostics", [{"severity": "error"}]), "plan.json"),
    "policy change garbage": (edit("policyChange", {"kind": 1}), "plan.json"),
}


@pytest.mark.parametrize(("change", "message"), EDITS.values(), ids=EDITS.keys())
def test_edited_plan_files(hostile_project, saved_plan, refuse, change, message):
    change(saved_plan)
    (hostile_project / FILE).write_text(json.dumps(saved_plan))
    assert message in refuse("apply", FILE, names=FILE).err


def test_the_untouched_plan_applies(hostile_project, saved_plan, crmctl):
    # The control: the plan the edits start from is good.
    result = crmctl("apply", FILE)
    assert result.exit_code == 0, result.output


# --- things that are not plan files --------------------------------------------------------
def test_dev_zero_as_the_plan(hostile_project, refuse):
    outcome = refuse("apply", "/dev/zero", names="/dev/zero")
    assert (
        "refusing to read plan file /dev/zero: it is a character device, not a regular file"
        in outcome.err
    )


def test_a_symlink_to_dev_zero_as_the_plan(hostile_project, refuse):
    (hostile_project / FILE).symlink_to("/dev/zero")
    assert "it is a character device, not a regular file" in refuse("apply", FILE, names=FILE).err


def test_a_fifo_as_the_plan(hostile_project, refuse):
    os.mkfifo(hostile_project / FILE)
    outcome = refuse("apply", FILE, names=FILE)
    assert "refusing to read plan file plan.json: it is a FIFO (named pipe)" in outcome.err


def test_a_folder_as_the_plan(hostile_project, refuse):
    (hostile_project / "plans").mkdir()
    assert (
        "Error: Invalid value for '[PLAN_FILE]': File 'plans' is a directory."
        in refuse("apply", "plans", names="plans").err
    )


def test_a_missing_plan(hostile_project, refuse):
    assert (
        "plan file nowhere.json does not exist"
        in refuse("apply", "nowhere.json", names="nowhere.json").err
    )


def test_a_plan_over_the_size_limit(hostile_project, refuse):
    with open(hostile_project / FILE, "wb") as out:
        out.truncate(65 * 1024 * 1024)  # sparse
    assert "it is 65.0 MB; the limit is 64 MB" in refuse("apply", FILE, names=FILE).err


def test_a_plan_for_approval_that_is_a_fifo(hostile_project, refuse):
    os.mkfifo(hostile_project / FILE)
    outcome = refuse("approve", "--role", "crm-admin", "--plan", FILE, names=FILE)
    assert "it is a FIFO (named pipe)" in outcome.err
