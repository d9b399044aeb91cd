"""Past 200 changes, plans are grouped by kind and apply sums its result up per kind."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from crmctl.render.plan_view import BIG_PLAN, SHOWN_PER_KIND
from tests.e2e.helpers import desired_specs

EXTRA_ROLES = 205
REPO = Path(__file__).resolve().parents[2]


def _many_roles(project: Path) -> list[str]:
    docs = [
        "apiVersion: crmctl/v1\nkind: Role\n"
        f"metadata: {{name: Team_{i:03d}, owner: tests}}\n"
        f"spec:\n  label: Team {i:03d}\n  parent: CEO\n"
        for i in range(EXTRA_ROLES)
    ]
    (project / "manifests" / "access" / "teams.yaml").write_text("---\n".join(docs))
    return sorted(a for a in desired_specs(project) if a.startswith("Role/"))


@pytest.fixture
def big(project: Path) -> dict[str, list[str]]:
    roles = _many_roles(project)
    by_kind: dict[str, list[str]] = {}
    for address in desired_specs(project):
        by_kind.setdefault(address.split("/")[0], []).append(address)
    assert sum(map(len, by_kind.values())) > BIG_PLAN
    assert len(roles) > SHOWN_PER_KIND
    return by_kind


def test_a_big_plan_is_grouped_by_kind_with_counts(project: Path, crmctl, big):
    result = crmctl("plan")
    assert result.exit_code == 0, result.output
    lines = result.out.splitlines()
    total = sum(map(len, big.values()))
    assert lines[2] == (
        f"{total} changes, grouped by kind; the first {SHOWN_PER_KIND} of each are shown "
        "(--detail full lists every change):"
    )
    roles = len(big["Role"])
    head = lines.index(f"Role: {roles} ({roles} to add)")
    shown = [line for line in lines[head:] if line.startswith("  + Role/")]
    assert len(shown) == SHOWN_PER_KIND
    assert (
        f"  ... and {roles - SHOWN_PER_KIND} more Role changes ({roles - SHOWN_PER_KIND} to add)"
        in lines
    )
    for kind, addresses in big.items():
        n = len(addresses)
        more = [
            line for line in lines if line.startswith("  ... and ") and f" more {kind} " in line
        ]
        assert more == (
            []
            if n <= SHOWN_PER_KIND
            else [
                f"  ... and {n - SHOWN_PER_KIND} more {kind} changes ({n - SHOWN_PER_KIND} to add)"
            ]
        )
        assert f"{kind}: {n} ({n} to add)" in lines
    assert lines[-1] == f"Plan: {total} to add, 0 to change, 0 to destroy."


def test_detail_full_lists_every_change(project: Path, crmctl, big):
    result = crmctl("plan", "--detail", "full")
    assert result.exit_code == 0
    listed = [line.strip()[2:] for line in result.out.splitlines() if line.startswith("  + ")]
    assert sorted(listed) == sorted(a for addresses in big.values() for a in addresses)
    assert "grouped by kind" not in result.out


def test_a_big_apply_sums_its_result_up_per_kind(project: Path, crmctl, big):
    result = crmctl("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    total = sum(map(len, big.values()))
    after = result.out[result.out.index("\nResult") + 1 :].splitlines()
    width = max(map(len, big))
    number = len(str(max(map(len, big.values()))))
    kinds_in_plan_order = [
        line.split(":")[0]
        for line in result.out.splitlines()
        if line.endswith(" to add)") and not line.startswith(" ")
    ]
    assert after == [
        f"Result, by kind ({total} changes; -v lists each):",
        *(
            f"  {kind.ljust(width)}  {len(big[kind]):>{number}} applied"
            for kind in kinds_in_plan_order
        ),
        f"Apply complete: {total} added, 0 changed, 0 destroyed. Recorded as v1 of local.",
    ]
    assert crmctl("plan").out.splitlines()[-1] == "No changes. The CRM matches the manifests."


def test_apply_verbose_lists_every_change_and_its_result(project: Path, crmctl, big):
    result = crmctl("apply", "--auto-approve", "-v")
    assert result.exit_code == 0, result.output
    after = result.out[result.out.index("\nResult:\n") + 1 :].splitlines()
    applied = [line.split()[1] for line in after[1:-1]]
    assert sorted(applied) == sorted(a for addresses in big.values() for a in addresses)
    assert all(line.endswith("  applied") for line in after[1:-1])


def test_on_a_terminal_a_big_apply_shows_a_progress_bar(project: Path, big):
    master, slave = pty.openpty()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "NO_COLOR": "1",
        "CRMCTL_ACTOR": "tester@example.com",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "crmctl", "apply", "--auto-approve"],
        cwd=project,
        env=env,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        close_fds=True,
    )
    os.close(slave)
    output = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    assert proc.wait() == 0, output
    os.close(master)
    text = output.decode()
    assert "Applying  [####################################]  100%" in text
    total = sum(map(len, big.values()))
    assert f"Result, by kind ({total} changes; -v lists each):" in text


def test_a_big_apply_that_fails_names_the_failed_change_under_the_counts(
    project: Path, crmctl, capsys
):
    from tests.ux.test_plan_files_and_json import refuse_a_delete

    refusal = refuse_a_delete(project)  # a first apply of the example, then a refused delete
    capsys.readouterr()
    roles = _many_roles(project)
    result = crmctl("apply", "--auto-approve")
    assert result.exit_code == 1
    after = result.out[result.out.index("\nResult") + 1 :].splitlines()
    new_roles = len(roles) - len([a for a in roles if not a.startswith("Role/Team_")])
    assert after[0] == f"Result, by kind ({new_roles + 3} changes; -v lists each):"
    assert after[-2:] == [
        f"  FAILED: - CustomField/Lead.Lead_Score__c: {refusal}",
        f"Restored (undoing the changes above): {new_roles + 2} change(s) undone.",
    ]
    assert sorted(after[1:-2]) == sorted(
        [
            f"  {'CustomField':<14}  {1:>3} failed",
            f"  {'ValidationRule':<14}  {1:>3} applied",
            f"  {'Role':<14}  {new_roles:>3} applied",
            f"  {'PermissionSet':<14}  {1:>3} applied",
        ]
    )
