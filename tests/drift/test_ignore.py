"""drift.ignore: the environment-file section and how its globs match."""

from __future__ import annotations

import pytest

from crmctl.config.environment import load_environment
from crmctl.drift.ignore import ignore_rules, path_matches
from crmctl.errors import EnvironmentFileError, SourceLocation

ENV = """\
provider: {type: sandbox, path: s.db}
drift:
  ignore:
    - target: User/*
      reason: provisioned by the identity provider
    - target: CustomField/Account.*
      path: helpText
      reason: maintained in the CRM
"""


def test_rules_come_from_the_environment_file_with_their_lines(tmp_path) -> None:
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "prod.yaml").write_text(ENV)
    env = load_environment("prod", tmp_path)
    rules = ignore_rules(env.data["drift"], lambda i: env.location("drift", "ignore", i))
    assert [(r.target, r.path, r.reason) for r in rules] == [
        ("User/*", None, "provisioned by the identity provider"),
        ("CustomField/Account.*", "helpText", "maintained in the CRM"),
    ]
    assert rules[1].location == SourceLocation(env.location().file, 6, 7)


def test_a_rule_needs_a_reason(tmp_path) -> None:
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "prod.yaml").write_text(
        ENV.replace("      reason: maintained in the CRM\n", "")
    )
    with pytest.raises(EnvironmentFileError) as caught:
        load_environment("prod", tmp_path)
    assert [d.message for d in caught.value.diagnostics] == [
        "drift.ignore[1]: missing required key 'reason'"
    ]


@pytest.mark.parametrize(
    "path,pattern,expected",
    [
        ("label", "label", True),
        ("labels", "label", False),
        ("objects.Account", "objects", True),
        ("values[Paid].label", "values", True),
        ("values order", "values", True),
        ("values[Paid].label", "values[*].label", True),
        ("values[Paid].active", "values[*].label", False),
        ("fields.Contact.Email", "fields.Contact.*", True),
    ],
)
def test_path_globs_cover_their_path_and_below(path, pattern, expected) -> None:
    assert path_matches(path, pattern) is expected
