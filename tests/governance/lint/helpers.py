"""Load a lint fixture (a YAML file of manifests beside the tests) and run one rule over it."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from crmctl.config.yamlsource import read_yaml_file
from crmctl.governance.lint import LintContext, LintSettings
from crmctl.model import Resource

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> list[Resource]:
    """The resources of `fixtures/<name>`, located as `<name>:line`."""
    docs, problems = read_yaml_file(FIXTURES / name, name)
    assert problems == []
    return [
        Resource(
            d.data["kind"], d.data["metadata"]["name"], d.data["spec"], d.data["metadata"], d.source
        )
        for d in docs
    ]


def findings(rule: ModuleType, name: str, settings: LintSettings | None = None) -> list[str]:
    """Each finding of `rule` over the fixture, rendered as `file:line: Kind/name: message`."""
    return [d.render() for d in rule.check(LintContext(load(name), settings or LintSettings()))]
