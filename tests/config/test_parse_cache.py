"""The parse cache never serves stale or foreign data, and a damaged entry is ignored, not fatal."""

from __future__ import annotations

from pathlib import Path

import pytest

from crmctl.config import parsecache
from crmctl.config.environment import load_environment
from crmctl.config.loader import load_desired_state

FIELD = """\
apiVersion: crmctl/v1
kind: CustomField
metadata: {{name: Account.Cache_Probe__c, owner: sales-ops}}
spec:
  type: Text
  label: {label}
  length: 80
"""


@pytest.fixture
def cached_project(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    monkeypatch.delenv(parsecache.NO_CACHE_VARIABLE, raising=False)
    (project / "manifests" / "probe.yaml").write_text(FIELD.format(label="First"))
    return project


def entries(project: Path) -> list[Path]:
    folder = project / parsecache.CACHE_DIR
    return sorted(folder.glob("*.bin")) if folder.is_dir() else []


def probe_label(project: Path, use_cache: bool = True) -> str:
    state = load_desired_state(load_environment("local", project), use_cache=use_cache)
    return state.resources["CustomField/Account.Cache_Probe__c"].spec["label"]


def test_a_second_load_is_served_from_the_cache(cached_project: Path) -> None:
    env = load_environment("local", cached_project)
    first = load_desired_state(env)
    assert entries(cached_project)
    cache = parsecache.open_parse_cache(cached_project)
    assert cache is not None
    raw = (cached_project / "manifests" / "probe.yaml").read_bytes()
    assert cache.get(raw, "manifests/probe.yaml") is not None
    second = load_desired_state(env)
    assert second.resources.keys() == first.resources.keys()
    assert [d.render() for d in second.diagnostics] == [d.render() for d in first.diagnostics]
    probe = second.resources["CustomField/Account.Cache_Probe__c"]
    assert str(probe.location("label")) == "manifests/probe.yaml:6"
    assert str(probe.location("length")) == "manifests/probe.yaml:7"
    # The cache hands back the key positions packed, as the parser keeps them.
    assert probe.source is not None and isinstance(probe.source.packed, bytes)


def test_editing_a_file_invalidates_its_entry(cached_project: Path) -> None:
    assert probe_label(cached_project) == "First"
    (cached_project / "manifests" / "probe.yaml").write_text(FIELD.format(label="Second"))
    assert probe_label(cached_project) == "Second"


def test_a_corrupted_entry_is_ignored_and_replaced(cached_project: Path) -> None:
    assert probe_label(cached_project) == "First"
    for entry in entries(cached_project):
        entry.write_bytes(entry.read_bytes()[:-7] + b"garbage")
    assert probe_label(cached_project) == "First"
    for entry in entries(cached_project):
        entry.write_bytes(b"")
    assert probe_label(cached_project) == "First"


def test_an_entry_forged_without_the_users_key_is_not_believed(
    cached_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone who can write .crmctl/ (a shared CI cache) cannot make crmctl read other data."""
    probe = cached_project / "manifests" / "probe.yaml"
    assert probe_label(cached_project) == "First"
    # Another user (another key) writes an entry for the same bytes, saying "Forged".
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "attacker-cache"))
    forger = parsecache.open_parse_cache(cached_project)
    assert forger is not None
    docs, problems = forger.get(probe.read_bytes(), "x") or ([], [])
    assert docs == []  # the attacker's key does not verify the user's entry either
    from crmctl.config.yamlsource import parse_yaml_text

    forged_docs, _ = parse_yaml_text(FIELD.format(label="Forged"), "manifests/probe.yaml")
    forger.put(probe.read_bytes(), "manifests/probe.yaml", forged_docs, [])
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    assert probe_label(cached_project) == "First"


def test_no_cache_reads_nothing_from_it_and_writes_nothing(cached_project: Path) -> None:
    assert probe_label(cached_project, use_cache=False) == "First"
    assert entries(cached_project) == []


def test_the_environment_variable_turns_it_off(
    cached_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(parsecache.NO_CACHE_VARIABLE, "1")
    assert probe_label(cached_project) == "First"
    assert entries(cached_project) == []


def test_syntax_errors_come_back_from_the_cache_with_their_line(
    cached_project: Path, crmctl
) -> None:
    (cached_project / "manifests" / "probe.yaml").write_text("kind: [unclosed\n")
    first = crmctl("validate")
    second = crmctl("validate")
    assert first.exit_code == second.exit_code == 1
    assert first.out == second.out
    assert "manifests/probe.yaml:2" in second.out
    assert crmctl("validate", "--no-cache").out == first.out


def test_an_unusable_cache_folder_is_not_fatal(cached_project: Path) -> None:
    (cached_project / ".crmctl").mkdir(exist_ok=True)
    (cached_project / ".crmctl" / "cache").write_text("a file where the folder should be")
    assert probe_label(cached_project) == "First"
    assert probe_label(cached_project) == "First"
