"""The shared Salesforce DX projects and the example org through the Salesforce CLI:
deploy, retrieve, compare, plan.

The example org (the repository's manifests/) becomes Salesforce DX source
first: crmctl applies it to an emulator, and the CLI retrieves it all.
Each project is deployed once a session to its own emulator with `sf project
deploy start`, then retrieved into a copy with `sf project retrieve start
--manifest` (after every file of the copy was blanked, so a file the
retrieve does not write stays blank and shows). Every file must come back equal to the source, element
for element and in order, apart from the documented defaults
(docs/salesforce.md, "What a retrieve gives back"):

- elements a real org adds where a component lacks them (`DEFAULTS`);
- a standard object whose source has only fields gains an empty
  `<CustomObject/>` file (the CLI writes the object's own file);
- navikt holds two components twice, with different content: the permission
  set Manage_Customer_User_Permission (main/default/permissionsets and
  unpackagable/profiles) and the Activity object's own file (an empty one in
  main/default/objects/Activity, `sharingModel` in unpackagable/objects). The
  CLI deploys one copy (and nothing for an empty object file); the retrieve
  writes what was deployed to both places.

crmctl then imports the same source (the example org: its own manifests)
and plans against the org: no change (the example org's users aside: they are
records, which a metadata deploy does not carry).
"""

from __future__ import annotations

import copy
import json
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from crmctl.cli import main
from tests.clients.conftest import Sf, logged_in_cli, sfdx_project, shared_project
from tests.conftest import REPO, CliResult

#: The example org (the repository's manifests/), as Salesforce DX source (see `_example_source`).
EXAMPLE = "example-org"
#: The example org first: the longest (it is applied and retrieved before its deploy), so
#: its worker starts it early rather than last.
PROJECTS = [EXAMPLE, "navikt-crm-arbeidsgiver-base", "dreamhouse-lwc"]
#: One xdist group per project (`--dist loadgroup`): one worker runs a project's tests, so
#: each project is deployed once a run, not once per worker that happens to get one of its
#: tests (a deploy costs the CLI seconds); the projects themselves spread over the workers.
PROJECT_PARAMS = [pytest.param(name, marks=pytest.mark.xdist_group(f"sf-project-{name}"))
                  for name in PROJECTS]  # fmt: skip
NS = "http://soap.sforce.com/2006/04/metadata"
#: What a real org adds to a component that lacks it (and the emulator adds too).
DEFAULTS = {
    "Role": {"mayForecastManagerShare": "false"},
    "PermissionSet": {"hasActivationRequired": "false"},
}
#: Objects and a field navikt takes from NAV's other packages (crm-platform-base …):
#: an org has them before this project is deployed, so the test deploys stand-ins first.
NAVIKT_DEPENDENCIES = {"NavUnit__c": "NAV Unit", "NavTask__c": "NAV Task", "Absence__c": "Absence"}


def _write_dependencies(package: Path) -> None:
    """Stand-ins for what navikt takes from other packages, in package folder `package`."""
    objects = package / "main" / "default" / "objects"
    for name, label in NAVIKT_DEPENDENCIES.items():
        (objects / name).mkdir(parents=True)
        (objects / name / f"{name}.object-meta.xml").write_text(
            f'<?xml version="1.0" encoding="UTF-8"?>\n<CustomObject xmlns="{NS}">'
            "<deploymentStatus>Deployed</deploymentStatus>"
            f"<label>{label}</label><nameField><label>{label} Name</label><type>Text</type>"
            f"</nameField><pluralLabel>{label}s</pluralLabel><sharingModel>ReadWrite</sharingModel>"
            "</CustomObject>\n"
        )
    (objects / "Contact" / "fields").mkdir(parents=True)
    (objects / "Contact" / "fields" / "Source__c.field-meta.xml").write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<CustomField xmlns="{NS}">'
        "<fullName>Source__c</fullName><label>Source</label><length>255</length>"
        "<type>Text</type></CustomField>\n"
    )


#: The types the example org's components are (what crmctl deploys), for a retrieve of it all.
EXAMPLE_TYPES = ("CustomObject", "CustomField", "ValidationRule", "PermissionSet", "Role",
                 "DuplicateRule", "MatchingRules", "GlobalValueSet", "RecordType")  # fmt: skip


def _package_xml(types: tuple[str, ...]) -> str:
    body = "".join(f"<types><members>*</members><name>{t}</name></types>" for t in types)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Package xmlns="{NS}">{body}'
            "<version>61.0</version></Package>\n")  # fmt: skip


def _crmctl(project: Path, cli: Sf, *args: str) -> CliResult:
    """crmctl in-process in `project`, logged in to the CLI's emulator (the CLI's env)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(project)
        env = {"NO_COLOR": "1", "CRMCTL_ACTOR": "tests", **cli.org.env_variables()}
        with CliRunner().isolation(env=env) as (out, err, *_):
            code = main(list(args))
            return CliResult(code, out.getvalue().decode(), err.getvalue().decode())


def _example_source(tmp: Path) -> Path:
    """The example org (manifests/) as Salesforce DX source: crmctl applies it to an
    emulator of its own, and the Salesforce CLI retrieves all of it from there."""
    project = tmp / "crmctl-example"
    shutil.copytree(REPO / "manifests", project / "manifests")
    for cli in logged_in_cli(tmp / "example-org"):
        cli.org.write_env(project, "sf", manifests="manifests")
        r = _crmctl(project, cli, "apply", "-e", "sf", "--auto-approve")
        assert r.exit_code == 0, r.output
        root = sfdx_project(tmp / "example-sfdx")
        (root / "force-app").mkdir()
        (root / "package.xml").write_text(_package_xml(EXAMPLE_TYPES))
        answer = cli.run("project", "retrieve", "start", "--manifest", "package.xml",
                         "--wait", "30", cwd=root)["result"]  # fmt: skip
        assert answer["success"] is True
    return root / "force-app"


class Deployed:
    """One project deployed by the CLI to its own emulator."""

    def __init__(self, name: str, cli: Sf, root: Path, result: dict, source: Path) -> None:
        self.name, self.cli, self.root, self.result = name, cli, root, result
        self.source = source


@pytest.fixture(scope="session", params=PROJECT_PARAMS)
def deployed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployed]:
    """Each project deployed once a session: the tests only read the org (and the project
    folder `root`; a test that writes files works in a copy)."""
    name = request.param
    tmp = tmp_path_factory.mktemp(name)
    source = _example_source(tmp) if name == EXAMPLE else shared_project(name)
    for cli in logged_in_cli(tmp):
        root = sfdx_project(tmp / "project", source)
        folders = ["--source-dir", "force-app"]
        if name.startswith("navikt"):
            # The other packages' stand-ins, in a package folder of their own; one deploy
            # creates them before what needs them, as an org that has them already.
            _write_dependencies(root / "dependencies")
            folders += ["--source-dir", "dependencies"]
            project = json.loads((root / "sfdx-project.json").read_text())
            project["packageDirectories"].append({"path": "dependencies"})
            (root / "sfdx-project.json").write_text(json.dumps(project, indent=2))
        # --ignore-errors: what the org takes is saved (rollbackOnError false).
        answer = cli.run("project", "deploy", "start", *folders,
                         "--ignore-errors", "--wait", "30", cwd=root, ok=False)  # fmt: skip
        yield Deployed(name, cli, root, answer["result"], source)


def _failures(result: dict) -> list[tuple[str, str, str]]:
    found = result.get("details", {}).get("componentFailures", [])
    found = found if isinstance(found, list) else [found]
    return sorted((f["componentType"], f["fullName"], f["problem"]) for f in found)


def test_the_project_deploys_with_the_salesforce_cli(deployed: Deployed) -> None:
    result = deployed.result
    profiles = sorted(p.name.removesuffix(".profile-meta.xml")
                      for p in deployed.source.rglob("*.profile-meta.xml"))  # fmt: skip
    # The org takes every component, profiles too.
    assert _failures(result) == []
    assert result["status"] == "Succeeded"
    assert result["numberComponentsDeployed"] == result["numberComponentsTotal"]
    project = deployed.root / "force-app"
    sent = {Path(f["filePath"]).resolve() for f in result["files"] if f["state"] != "Failed"}
    assert {p for p in project.rglob("*.profile-meta.xml")} <= sent
    assert len(profiles) == (3 if deployed.name.startswith("navikt") else 0)
    unsent = {p for p in project.rglob("*-meta.xml") if p not in sent}
    # The CLI sends nothing for an object whose own file is empty (or has an empty copy).
    for path in unsent:
        copies = _copies(project)[_key(path.relative_to(project))]
        assert path.name.endswith(".object-meta.xml"), path
        assert any(len(ET.parse(c).getroot()) == 0 for c in copies), path


_CHILD_FOLDERS = {"fields", "validationRules", "listViews", "recordTypes", "webLinks",
                  "compactLayouts", "fieldSets", "businessProcesses"}  # fmt: skip


def _key(relative: Path) -> tuple[str, ...]:
    """What names a component's file: its name, and its object for an object's child."""
    if relative.parent.name in _CHILD_FOLDERS:
        return (relative.parent.parent.name, relative.parent.name, relative.name)
    return (relative.name,)


def _copies(root: Path) -> dict[tuple[str, ...], list[Path]]:
    """Each component file's copies in a project (a few projects hold a component twice)."""
    out: dict[tuple[str, ...], list[Path]] = {}
    for path in sorted(root.rglob("*-meta.xml")):
        out.setdefault(_key(path.relative_to(root)), []).append(path)
    return out


def _canonical(element: ET.Element, defaults: dict[str, str] | None = None) -> str:
    element = copy.deepcopy(element)
    for item in element.iter():
        item.tag = item.tag.rpartition("}")[2]
        item.text = (item.text or "").strip() or None
        item.tail = None
    return ET.tostring(element, encoding="unicode")


def _without_defaults(retrieved: ET.Element, source: ET.Element) -> ET.Element:
    """The retrieved element less the documented defaults the source does not state."""
    retrieved = copy.deepcopy(retrieved)
    kind = retrieved.tag.rpartition("}")[2]
    stated = {child.tag.rpartition("}")[2] for child in source}
    for child in list(retrieved):
        tag = child.tag.rpartition("}")[2]
        if tag not in stated and DEFAULTS.get(kind, {}).get(tag) == (child.text or "").strip():
            retrieved.remove(child)
    return retrieved


def _blank(root: Path) -> None:
    """Empty every metadata file (its root element only): the retrieve must write it again."""
    for path in root.rglob("*-meta.xml"):
        tag = ET.parse(path).getroot().tag.rpartition("}")[2]
        path.write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n<{tag} xmlns="{NS}"/>\n')


def test_the_project_retrieves_back_equal_to_its_source(deployed: Deployed, tmp_path: Path) -> None:
    root = sfdx_project(tmp_path / "retrieved", deployed.source)  # a copy: this test writes
    cli = deployed.cli
    cli.run("project", "generate", "manifest", "--source-dir", "force-app", "--output-dir", ".",
            cwd=root)  # fmt: skip
    _blank(root / "force-app")
    answer = cli.run("project", "retrieve", "start", "--manifest", "package.xml", "--wait", "30",
                     cwd=root)["result"]  # fmt: skip
    assert answer["success"] is True
    source, back = deployed.source, root / "force-app"
    differing, unwritten = [], []
    copies_of = _copies(source)
    for path in sorted(source.rglob("*-meta.xml")):
        relative = path.relative_to(source)
        retrieved = ET.parse(back / relative).getroot()
        # A component the source holds twice comes back as the copy the CLI deployed.
        copies = [ET.parse(c).getroot() for c in copies_of[_key(relative)]]
        if any(
            _canonical(_without_defaults(retrieved, copy_)) == _canonical(copy_) for copy_ in copies
        ):
            continue
        blank = len(retrieved) == 0 and not (retrieved.text or "").strip()
        (unwritten if blank else differing).append(str(relative))
    assert differing == []
    assert unwritten == []  # profiles too: the org keeps a profile's XML as deployed
    extra = sorted(
        str(p.relative_to(back)) for p in back.rglob("*-meta.xml")
        if not (source / p.relative_to(back)).exists()
    )  # fmt: skip
    for relative in extra:  # a standard object's own file, empty: its fields alone were sent
        element = ET.parse(back / relative).getroot()
        assert (relative.endswith(".object-meta.xml"), len(element)) == (True, 0), relative
        obj = Path(relative).name.removesuffix(".object-meta.xml")
        assert "__" not in obj and any(source.rglob(f"objects/{obj}/fields/*")), relative


def test_crmctl_plans_no_change_against_what_the_cli_deployed(
    deployed: Deployed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crmctl
) -> None:
    project = tmp_path / "crmctl"
    project.mkdir()
    monkeypatch.chdir(project)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("CRMCTL_ACTOR", "tests")
    for name, value in deployed.cli.org.env_variables().items():
        monkeypatch.setenv(name, value)
    deployed.cli.org.write_env(project, "sf", manifests="manifests")
    if deployed.name != EXAMPLE:  # a project's import plans empty
        r = crmctl("import", "--from", "sfdx", str(deployed.source), "--out", "manifests")
        assert r.exit_code == 0, r.output
        r = crmctl("plan", "-e", "sf", "--detailed-exitcode")
        assert "No changes. The CRM matches the manifests." in r.out, r.out[-3000:]
        assert r.exit_code == 0, r.output[-3000:]
        return
    # The example org's own manifests plan empty, apart from its users: they are records
    # (REST), which a metadata deploy does not carry.
    shutil.copytree(REPO / "manifests", project / "manifests")
    users = [d for path in (project / "manifests").rglob("*.yaml")
             for d in yaml.safe_load_all(path.read_text()) if d and d["kind"] == "User"]  # fmt: skip
    assert len(users) == 8
    r = crmctl("plan", "-e", "sf", "--detailed-exitcode")
    assert r.exit_code == 2, r.output[-3000:]
    assert "Plan: 8 to add, 0 to change, 0 to destroy." in r.out, r.out[-3000:]
    added = [line.split()[1] for line in r.out.splitlines() if line.startswith("  + ")]
    assert sorted(added) == sorted(f"User/{u['metadata']['name']}" for u in users)
    r = crmctl("plan", "-e", "sf", "--detailed-exitcode", "--exclude", "User/*")
    assert "No changes in the selected resources." in r.out, r.out[-3000:]
    assert r.exit_code == 0, r.output[-3000:]
