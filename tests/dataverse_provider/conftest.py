"""Fixtures of the provider's tests.

`org`: a fresh emulator over https (org.py), its credentials in the environment;
`dv`: the `project` with an empty dv/ manifests folder and environments/dv.yaml on `org`.
Also: stop the recording servers a test started (fake.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dataverse_provider.fake import RUNNING
from tests.dataverse_provider.org import DataverseOrg, dataverse_org


@pytest.fixture(autouse=True)
def _stop_recording_servers() -> Iterator[None]:
    yield
    while RUNNING:
        RUNNING.pop().stop()


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DataverseOrg]:
    for item in dataverse_org(tmp_path):
        for name, value in item.env_variables().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("CRMCTL_HTTP_RETRY_BUDGET", "10")
        yield item


@pytest.fixture
def dv(project: Path, org: DataverseOrg) -> Path:
    (project / "dv").mkdir()
    org.write_env(project, "dv")
    return project
