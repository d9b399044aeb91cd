"""`crmctl import`: write manifests from the live CRM.

Two uses:

- **bootstrapping** (`import_all`): the whole live configuration of an
  existing org into an empty folder, one reviewable file per concern;
- **adopting drift** (`import_resources`): selected resources into the
  manifests that declare them (that document rewritten in place, the others
  left alone), new ones into a file beside their siblings, and resources
  deleted from the CRM removed from the manifests.

Either way, planning afterwards finds nothing to change for the imported
resources (unless an environment override patches them: see `warnings`).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from crmctl.config.environment import Environment, display_path
from crmctl.config.loader import collect_files, load_desired_state
from crmctl.config.yamlsource import parse_yaml_text
from crmctl.dialect import DEFAULT_DIALECT, dialect_of
from crmctl.errors import CrmctlError
from crmctl.importer.document import (
    dump_document,
    dump_documents,
    manifest_document,
    reviewable_spec,
)
from crmctl.importer.edit import append_document, find_document, remove_document, replace_document
from crmctl.importer.layout import layout_header, layout_path
from crmctl.importer.result import Imported, ImportResult
from crmctl.kinds import HANDLERS, KINDS
from crmctl.model import DesiredState, Resource, partial_set
from crmctl.plan import matches_any
from crmctl.plan.selection import closest_hint
from crmctl.workspace import Workspace

__all__ = ["Imported", "ImportResult", "import_all", "import_resources"]

_KIND_RANK = {kind: i for i, kind in enumerate(KINDS)}


def _sort_key(resource: Resource) -> tuple[int, str]:
    return (_KIND_RANK.get(resource.kind, len(KINDS)), resource.name)


def _document(resource: Resource, existing: dict | None, owner: str | None) -> dict:
    """The manifest document of a live resource; `existing` is the document it replaces."""
    existing = existing or {}
    meta = dict(existing.get("metadata") or {})
    if owner and "owner" not in meta:
        meta["owner"] = owner
    old_spec = existing.get("spec")
    keep = list(old_spec) if isinstance(old_spec, dict) else []
    spec = reviewable_spec(resource.kind, resource.spec, keep)
    return manifest_document(resource.kind, resource.name, spec, meta)


def _validate(env: Environment, files: list[Path], manifests: list[Path] | None = None) -> list:
    """Problems in `files` only (the rest of the manifests is read so references resolve)."""
    existing = [f for f in files if f.exists()]
    if not existing:
        return []
    if manifests is not None:
        data = {**env.data, "manifests": [str(p) for p in manifests], "overrides": []}
        env = dataclasses.replace(env, data=data)
    return load_desired_state(env, only=existing).diagnostics


def _importable(resources: dict[str, Resource], warnings: list[str]) -> dict[str, Resource]:
    """The live resources as manifests can say them: a permission set a user holds only in
    part is left out of its `permissionSets`, with a warning saying so (a manifest can only
    grant a set whole, so it is for the admin to decide)."""
    out = dict(resources)
    for address, resource in resources.items():
        sets = resource.spec.get("permissionSets") if resource.kind == "User" else None
        if not isinstance(sets, list):
            continue
        partial = {s: part for s in sets if isinstance(s, str) and (part := partial_set(s))}
        if not partial:
            continue
        kept = [s for s in sets if s not in partial]
        out[address] = Resource(
            resource.kind, resource.name, {**resource.spec, "permissionSets": kept}
        )
        for entry, (whole, _) in partial.items():
            warnings.append(
                f"{address}: the CRM holds {entry!r}, a permission set in part; left out of "
                f"permissionSets (declare {whole!r} to grant it whole, or leave it out and "
                "crmctl plan shows the rest being taken away)"
            )
    return out


def import_all(
    workspace: Workspace, out_dir: Path, force: bool = False, owner: str | None = None
) -> ImportResult:
    """Write the whole live configuration into `out_dir`, one file per concern."""
    existing, _ = collect_files([out_dir]) if out_dir.exists() else ([], [])
    if existing and not force:
        raise CrmctlError(
            f"{display_path(out_dir)} already holds {len(existing)} manifest file"
            f"{'s' * (len(existing) != 1)}; --all bootstraps an empty folder",
            hint="adopt single resources with: crmctl import KIND/NAME ...; "
            "or pass --force to overwrite files of the same names",
        )
    notes: list[str] = []
    live = sorted(_importable(workspace.read_live(), notes).values(), key=_sort_key)
    if not live:
        raise CrmctlError(f"the CRM of {workspace.env.name} holds no configuration to import")
    groups: dict[PurePosixPath, list[Resource]] = defaultdict(list)
    dialect = dialect_of(str(workspace.env.provider.get("type", "")))
    for resource in live:
        groups[layout_path(resource.kind, resource.name, dialect)].append(resource)
    result = ImportResult(warnings=notes)
    for relative, resources in sorted(groups.items()):
        path = out_dir.joinpath(*relative.parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            result.created_files.append(path)
        documents = [_document(r, None, owner) for r in resources]
        result.without_owner += _ownerless(documents)
        text = dump_documents(documents, header=layout_header(relative))
        path.write_text(text, encoding="utf-8")
        result.imported += [Imported(r.address, path, "written") for r in resources]
    result.diagnostics = _validate(workspace.env, result.files, manifests=[out_dir.resolve()])
    return result


def _ownerless(documents: list[dict]) -> list[str]:
    return [
        f"{d['kind']}/{d['metadata']['name']}" for d in documents if "owner" not in d["metadata"]
    ]


def _expand(patterns: Iterable[str], known: set[str]) -> list[str]:
    addresses: list[str] = []
    for pattern in patterns:
        found = sorted((a for a in known if matches_any(a, [pattern])), key=_address_key)
        if not found:
            raise CrmctlError(
                f"{pattern} matches nothing in the CRM or in the manifests",
                hint=closest_hint(pattern, sorted(known)),
            )
        addresses += [a for a in found if a not in addresses]
    return addresses


def _address_key(address: str) -> tuple[int, str]:
    kind, _, name = address.partition("/")
    return (_KIND_RANK.get(kind, len(KINDS)), name)


def _declaring_file(resource: Resource) -> Path:
    assert resource.source is not None
    return Path(resource.source.file).resolve()


def _home_for(
    kind: str, name: str, state: DesiredState, root: Path, dialect: str = DEFAULT_DIALECT
) -> Path:
    """Where a resource not declared yet goes: beside its siblings, else the import layout."""
    handler = HANDLERS[kind]
    obj = name if kind == "CustomObject" else handler.object_of(name)
    siblings: list[Resource] = []
    if obj is not None:
        for r in state.resources.values():
            owner = r.name if r.kind == "CustomObject" else HANDLERS[r.kind].object_of(r.name)
            if owner is not None and owner.lower() == obj.lower():
                siblings.append(r)
    else:
        siblings = [r for r in state.resources.values() if r.kind == kind]
    if siblings:
        counts: dict[Path, int] = defaultdict(int)
        for r in siblings:
            counts[_declaring_file(r)] += 1
        return max(sorted(counts), key=lambda p: counts[p])
    return root.joinpath(*layout_path(kind, name, dialect).parts)


def _existing(text: str, kind: str, name: str) -> dict:
    """The document of `text` that declares kind/name."""
    docs, _ = parse_yaml_text(text, "<manifest>")
    for doc in docs:
        data = doc.data
        if isinstance(data, dict) and data.get("kind") == kind:
            meta = data.get("metadata")
            if isinstance(meta, dict) and meta.get("name") == name:
                return data
    return {}


def _holds_documents(text: str) -> bool:
    docs, _ = parse_yaml_text(text, "<manifest>")
    return any(d.data is not None for d in docs)


def import_resources(
    workspace: Workspace, patterns: Iterable[str], owner: str | None = None
) -> ImportResult:
    """Make the manifests say what the CRM holds for the given resources (globs allowed)."""
    env = workspace.env
    state = workspace.desired()
    result = ImportResult()
    read = workspace.read_live()
    addresses = _expand(patterns, set(read) | set(state.resources))
    live = _importable({a: read[a] for a in addresses if a in read}, result.warnings)
    root = env.manifest_paths[0]
    overridden = {o["target"] for o in env.overrides}
    for address in addresses:
        kind, _, name = address.partition("/")
        declared = state.resources.get(address)
        now = live.get(address)
        if declared is not None:
            path = _declaring_file(declared)
            text = path.read_text(encoding="utf-8")
            start = find_document(text, kind, name)
            if start is None:  # declared through a file we cannot edit back (should not happen)
                raise CrmctlError(f"cannot find {address} in {display_path(path)} to update it")
            if now is None:
                text = remove_document(text, start)
                if _holds_documents(text):
                    path.write_text(text, encoding="utf-8")
                else:
                    path.unlink()
                    result.deleted_files.append(path)
                result.imported.append(Imported(address, path, "removed"))
                continue
            document = _document(now, _existing(text, kind, name), owner)
            result.without_owner += _ownerless([document])
            path.write_text(replace_document(text, start, dump_document(document)), "utf-8")
            result.imported.append(Imported(address, path, "updated"))
        else:
            assert now is not None
            path = _home_for(kind, name, state, root, dialect_of(str(env.provider.get("type", ""))))
            document = _document(now, None, owner)
            result.without_owner += _ownerless([document])
            if path.exists():
                text = append_document(path.read_text("utf-8"), dump_document(document))
                path.write_text(text, "utf-8")
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                header = layout_header(PurePosixPath(*path.relative_to(root).parts))
                path.write_text(dump_documents([document], header), "utf-8")
                result.created_files.append(path)
            result.imported.append(Imported(address, path, "added"))
        if address in overridden:
            result.warnings.append(
                f"{address}: the environment file overrides this resource; the override still "
                "applies on top of the imported spec, so crmctl plan may show a change"
            )
    result.diagnostics = _validate(env, [f for f in result.files if f.exists()])
    return result
