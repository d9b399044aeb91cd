"""Every fault class x first/middle/last chunk x restore on/off: crmctl reports what the CRM holds."""

from __future__ import annotations

import pytest

from tests.faults.matrix import Trial, all_trials, run_trial

# (fault, position, restore) -> (exit code, recorded status, where the CRM ends up).
# A write whose answer is lost or wrong but which landed counts as landed: when the
# last chunk lands, the apply is complete whatever the answer said.
EXPECTED = {
    ("error-before", "first", True): (1, "failed, restored", "old"),
    ("error-before", "middle", True): (1, "failed, restored", "old"),
    ("error-before", "last", True): (1, "failed, restored", "old"),
    ("error-before", "first", False): (1, "failed, partial", "old"),
    ("error-before", "middle", False): (1, "failed, partial", "partial"),
    ("error-before", "last", False): (1, "failed, partial", "partial"),
    ("error-after", "first", True): (1, "failed, restored", "old"),
    ("error-after", "middle", True): (1, "failed, restored", "old"),
    ("error-after", "last", True): (0, "applied", "new"),
    ("error-after", "first", False): (1, "failed, partial", "partial"),
    ("error-after", "middle", False): (1, "failed, partial", "partial"),
    ("error-after", "last", False): (0, "applied", "new"),
    ("drop-after", "first", True): (1, "failed, restored", "old"),
    ("drop-after", "middle", True): (1, "failed, restored", "old"),
    ("drop-after", "last", True): (0, "applied", "new"),
    ("drop-after", "first", False): (1, "failed, partial", "partial"),
    ("drop-after", "middle", False): (1, "failed, partial", "partial"),
    ("drop-after", "last", False): (0, "applied", "new"),
}


def test_the_matrix_is_complete():
    assert {(t.fault, t.position, t.restore) for t in all_trials()} == set(EXPECTED)


@pytest.mark.parametrize("trial", all_trials(), ids=lambda t: t.name)
def test_faulted_apply_reports_the_live_crm(trial: Trial, tmp_path):
    result = run_trial(trial, tmp_path)
    assert result.mismatches == [], result.output
    assert (result.exit_code, result.status, result.ended) == EXPECTED[
        (trial.fault, trial.position, trial.restore)
    ], result.output
