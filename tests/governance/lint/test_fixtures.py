"""Every lint fixture is a valid manifest, so the rules are tested on what users can write."""

from __future__ import annotations

import pytest

from crmctl.config.schema_check import schema_diagnostics
from crmctl.config.yamlsource import read_yaml_file
from crmctl.governance.lint import RULES
from tests.governance.lint.helpers import FIXTURES

FILES = sorted(p.relative_to(FIXTURES).as_posix() for p in FIXTURES.rglob("*.yaml"))


@pytest.mark.parametrize("name", FILES)
def test_fixture_matches_the_kind_schemas(name):
    docs, problems = read_yaml_file(FIXTURES / name, name)
    for doc in docs:
        problems += schema_diagnostics(doc.data["kind"], doc.data, doc.source)
    assert [d.render() for d in problems] == []


def test_every_rule_has_a_pass_and_a_fail_fixture_and_a_test():
    for rule_id, module in RULES.items():
        folder = module.__name__.rsplit(".", 1)[1]
        assert rule_id == folder.replace("_", "-")
        assert {"pass.yaml", "fail.yaml"} <= {p.name for p in (FIXTURES / folder).iterdir()}
        assert (FIXTURES.parent / f"test_{folder}.py").is_file()
