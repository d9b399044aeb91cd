"""The shared Salesforce DX projects through the Salesforce CLI: deploy, retrieve, compare, plan.

Each project is deployed to its own emulator with `sf project deploy start`,
then retrieved in place with `sf project retrieve start --manifest` (after
every file of the copy was blanked, so a file the retrieve does not write
stays blank and shows). Every file must come back equal to the source, element
for element and in order, apart from the documented defaults
(docs/salesforce.md, "What a retrieve gives back"):

- elements a real org adds where a component lacks them (`DEFAULTS`);
- a standard object whose source has only fields gains an empty
  `<CustomObject/>` file (the CLI writes the object's own file);
- profiles are not taken (the emulator refuses the Profile type per
  component), so they do not come back;
- navikt holds two components twice, with different content: the permission
  set Manage_Customer_User_Permission (main/default/permissionsets and
  unpackagable/profiles) and the Activity object's own file (an empty one in
  main/default/objects/Activity, `sharingModel` in unpackagable/objects). The
  CLI deploys one copy (and nothing for an empty object file); the retrieve
  writes what was deployed to both places.

crmctl then imports the same source and plans against the org.
"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clients.conftest import Sf, logged_in_cli, sfdx_project, shared_project

PROJECTS = ["dreamhouse-lwc", "navikt-crm-arbeidsgiver-base"]
NS = "http://soap.sforce.com/2006/04/metadata"
#: What a real org adds to a component that lacks it (and the emulator adds too).
DEFAULTS = {
    "Role": {"mayForecastManagerShare": "false"},
    "PermissionSet": {"hasActivationRequired": "false"},
}
#: Objects and a field navikt takes from NAV's other packages (crm-platform-base …):
#: an org has them before this project is deployed, so the test deploys stand-ins first.
NAVIKT_DEPENDENCIES = {"NavUnit__c": "NAV Unit", "NavTask__c": "NAV Task", "Absence__c": "Absence"}


def _write_dependencies(root: Path) -> None:
    objects = root / "force-app" / "main" / "default" / "objects"
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


class Deployed:
    """One shared project deployed by the CLI to its own emulator."""

    def __init__(self, name: str, cli: Sf, root: Path, result: dict) -> None:
        self.name, self.cli, self.root, self.result = name, cli, root, result
        self.source = shared_project(name)


@pytest.fixture(scope="module", params=PROJECTS)
def deployed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployed]:
    name = request.param
    source = shared_project(name)
    tmp = tmp_path_factory.mktemp(name)
    for cli in logged_in_cli(tmp):
        if name.startswith("navikt"):
            deps = sfdx_project(tmp / "dependencies")
            _write_dependencies(deps)
            cli.run("project", "deploy", "start", "--source-dir", "force-app", cwd=deps)
        root = sfdx_project(tmp / "project", source)
        # --ignore-errors: what the org takes is saved (rollbackOnError false).
        answer = cli.run("project", "deploy", "start", "--source-dir", "force-app",
                         "--ignore-errors", "--wait", "30", cwd=root, ok=False)  # fmt: skip
        yield Deployed(name, cli, root, answer["result"])


def _failures(result: dict) -> list[tuple[str, str, str]]:
    found = result.get("details", {}).get("componentFailures", [])
    found = found if isinstance(found, list) else [found]
    return sorted((f["componentType"], f["fullName"], f["problem"]) for f in found)


def test_the_project_deploys_with_the_salesforce_cli(deployed: Deployed) -> None:
    result = deployed.result
    profiles = sorted(p.name.removesuffix(".profile-meta.xml")
                      for p in deployed.source.rglob("*.profile-meta.xml"))  # fmt: skip
    # The only components the org refuses are the profiles, each naming the type.
    assert _failures(result) == [
        ("Profile", p, "Not available for deploy for this organization: the Profile metadata type")
        for p in profiles
    ]
    assert result["status"] == ("SucceededPartial" if profiles else "Succeeded")
    assert result["numberComponentsDeployed"] == result["numberComponentsTotal"] - len(profiles)
    project = deployed.root / "force-app"
    sent = {Path(f["filePath"]).resolve() for f in result["files"] if f["state"] != "Failed"}
    unsent = {p for p in project.rglob("*-meta.xml")
              if p not in sent and not p.name.endswith(".profile-meta.xml")}  # fmt: skip
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


def test_the_project_retrieves_back_equal_to_its_source(deployed: Deployed) -> None:
    root = deployed.root
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
    assert unwritten == sorted(
        str(p.relative_to(source)) for p in source.rglob("*.profile-meta.xml")
    )
    extra = sorted(
        str(p.relative_to(back)) for p in back.rglob("*-meta.xml")
        if not (source / p.relative_to(back)).exists()
    )  # fmt: skip
    for relative in extra:  # a standard object's own file, empty: its fields alone were sent
        element = ET.parse(back / relative).getroot()
        assert (relative.endswith(".object-meta.xml"), len(element)) == (True, 0), relative
        obj = Path(relative).name.removesuffix(".object-meta.xml")
        assert "__" not in obj and any(source.rglob(f"objects/{obj}/fields/*")), relative


@pytest.mark.xfail(
    strict=True,
    reason=(
        "issue 13, not done yet: the provider reads permission-set entries on fields crmctl "
        "leaves alone (formula, Location, Html) and on other packages' objects, which import "
        "leaves out, so the plan removes them; navikt's profiles import as Profile_* "
        "permission sets the org does not have. Remove this mark once the plan is empty."
    ),
)
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
    r = crmctl("import", "--from", "sfdx", str(deployed.source), "--out", "manifests")
    assert r.exit_code == 0, r.output
    deployed.cli.org.write_env(project, "sf", manifests="manifests")
    r = crmctl("plan", "-e", "sf", "--detailed-exitcode")
    assert "No changes. The CRM matches the manifests." in r.out, r.out[-3000:]
    assert r.exit_code == 0, r.output[-3000:]
