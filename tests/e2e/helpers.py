"""Small helpers for end-to-end tests: live state and manifest edits."""

from __future__ import annotations

from pathlib import Path

import yaml

from crmctl.kinds import HANDLERS


def live_specs(store) -> dict[str, dict]:
    """Every configuration item in the sandbox, by address."""
    return {f"{i['kind']}/{i['name']}": i["spec"] for i in store.list_all_config()}


def desired_specs(project: Path) -> dict[str, dict]:
    """The canonical spec of every manifest in the project, by address."""
    out = {}
    for path in sorted((project / "manifests").rglob("*.yaml")):
        for doc in yaml.load_all(
            path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        ):
            if doc:
                kind, name = doc["kind"], doc["metadata"]["name"]
                out[f"{kind}/{name}"] = HANDLERS[kind].canonical(doc["spec"], name)
    return out


def write_manifest(project: Path, name: str, *docs: dict) -> Path:
    path = project / "manifests" / name
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return path


def manifest(kind: str, name: str, **spec) -> dict:
    return {
        "apiVersion": "crmctl/v1",
        "kind": kind,
        "metadata": {"name": name, "owner": "tests"},
        "spec": spec,
    }


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))
