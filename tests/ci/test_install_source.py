"""Where the generated CI installs crmctl from: the running crmctl's own source, pinned."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from crmctl.ci.install import install_command, running_install_source, source_from_direct_url

SHA = "4f2a9c1e0b7d3a5f6e8c9d0a1b2c3d4e5f6a7b8c"


def test_a_vcs_install_is_pinned_to_its_commit():
    source = source_from_direct_url(
        {
            "url": "https://github.com/acme/crmctl.git",
            "vcs_info": {"vcs": "git", "commit_id": SHA, "requested_revision": "main"},
        }
    )
    assert source is not None
    assert source.requirement == f"crmctl @ git+https://github.com/acme/crmctl.git@{SHA}"
    assert source.warning is None


def test_a_wheel_url_keeps_its_hash():
    url = "https://files.example/crmctl-0.1.0-py3-none-any.whl"
    source = source_from_direct_url({"url": url, "archive_info": {"hashes": {"sha256": "ab" * 32}}})
    assert source is not None
    assert source.requirement == f"crmctl @ {url}#sha256={'ab' * 32}"
    assert source.warning is None


@pytest.mark.parametrize(
    ("info", "what"),
    [
        ({"url": "file:///home/me/crmctl", "dir_info": {"editable": True}}, "an editable checkout"),
        ({"url": "file:///home/me/crmctl", "dir_info": {}}, "a local path"),
        ({"url": "file:///tmp/crmctl-0.1.0-py3-none-any.whl", "archive_info": {}}, "a local path"),
    ],
)
def test_a_local_source_is_written_with_a_warning(info, what):
    source = source_from_direct_url(info)
    assert source is not None
    assert source.requirement == f"crmctl @ {info['url']}"
    assert source.warning is not None
    assert source.warning.startswith(
        f"this crmctl was installed from {what} ({info['url']}), which a CI runner cannot reach"
    )


def test_the_command_quotes_the_requirement_for_the_shell():
    assert install_command("crmctl @ git+https://h/o/crmctl@abc") == (
        "pip install 'crmctl @ git+https://h/o/crmctl@abc'"
    )


def fake_distribution(root: Path, version: str, direct_url: dict | None) -> None:
    info = root / f"crmctl-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: crmctl\nVersion: {version}\n")
    if direct_url is not None:
        (info / "direct_url.json").write_text(json.dumps(direct_url))


def test_an_index_install_is_pinned_to_its_published_version(tmp_path, monkeypatch):
    # pip writes no direct_url.json for a distribution it took from an index.
    fake_distribution(tmp_path, "7.3.1", None)
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    assert running_install_source().requirement == "crmctl==7.3.1"


def test_the_running_crmctl_is_the_default(tmp_path, monkeypatch, project, crmctl):
    fake_distribution(
        tmp_path,
        "0.1.0",
        {"url": "https://github.com/acme/crmctl", "vcs_info": {"vcs": "git", "commit_id": SHA}},
    )
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    result = crmctl("ci", "init", "--gitlab", "-e", "prod")
    assert result.exit_code == 0, result.output
    assert "warning" not in result.err
    pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    assert pipeline["default"]["before_script"] == [
        f"pip install 'crmctl @ git+https://github.com/acme/crmctl@{SHA}'"
    ]


def test_an_editable_checkout_is_written_with_a_warning(tmp_path, monkeypatch, project, crmctl):
    fake_distribution(
        tmp_path, "0.1.0", {"url": "file:///src/crmctl", "dir_info": {"editable": True}}
    )
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    result = crmctl("ci", "init", "--github", "-e", "prod")
    assert result.exit_code == 0, result.output
    assert result.err.splitlines()[0] == (
        "warning: this crmctl was installed from an editable checkout (file:///src/crmctl), "
        "which a CI runner cannot reach; the generated jobs will fail at 'Install crmctl' until "
        "you pass --install with a source CI can reach, e.g. --install "
        "'crmctl @ git+https://HOST/OWNER/crmctl@COMMIT' or the URL of a wheel"
    )
    text = (project / ".github/workflows/crmctl.yml").read_text()
    assert "run: pip install 'crmctl @ file:///src/crmctl'" in text
    assert "crmctl==" not in text


def test_install_takes_any_pip_requirement(project, crmctl):
    result = crmctl("ci", "init", "--gitlab", "-e", "prod", "--install", "crmctl==0.2.0")
    assert result.exit_code == 0, result.output
    pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    assert pipeline["default"]["before_script"] == ["pip install crmctl==0.2.0"]


@pytest.mark.parametrize(("variable", "expected"), [(None, "local"), ("staging", "staging")])
def test_the_default_environment_is_crmctl_env_else_local(project, crmctl, variable, expected):
    env = {"CRMCTL_ENV": variable} if variable else None
    result = crmctl("ci", "init", "--gitlab", "--install", "crmctl==0.2.0", env=env)
    assert result.exit_code == 0, result.output
    assert f"CI set up for environment {expected}." in result.out
    pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    assert pipeline["validate"]["script"][0] == f"crmctl validate -e {expected}"
