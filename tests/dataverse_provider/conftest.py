"""Stop the recording servers a test started (tests/dataverse_provider/fake.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.dataverse_provider.fake import RUNNING


@pytest.fixture(autouse=True)
def _stop_recording_servers() -> Iterator[None]:
    yield
    while RUNNING:
        RUNNING.pop().stop()
