"""Load the manifests of an environment into a DesiredState, collecting every problem.

Pipeline: find files -> parse YAML (with lines) -> check each document against
its kind's schema -> find duplicate names -> apply the environment's
overrides -> check references between resources.
"""

from __future__ import annotations

import copy
import difflib
import stat
from pathlib import Path
from typing import Any

from crmctl.config.environment import Environment, display_path
from crmctl.config.files import file_kind, outside_reason
from crmctl.config.knock_on import UNREADABLE_CODES, declared_names, group_knock_on
from crmctl.config.limits import limit_diagnostics
from crmctl.config.parsecache import open_parse_cache
from crmctl.config.schema_check import schema_diagnostics, type_name
from crmctl.config.yamlsource import read_yaml_file
from crmctl.errors import Diagnostic, SourceLocation
from crmctl.kinds import HANDLERS, KINDS, ConfigIndex
from crmctl.limits import limits_for
from crmctl.model import DesiredState, Resource, address_of
from crmctl.schemas import dialect_of

__all__ = ["load_desired_state", "collect_files", "merge_patch"]

API_VERSION = "crmctl/v1"


def collect_files(
    paths: list[Path], root: Path | None = None
) -> tuple[list[Path], list[Diagnostic]]:
    """Every `*.yaml` / `*.yml` below the given folders (and the files given), sorted, once each.

    With `root` (the project folder), a file that lies outside it once symbolic
    links are followed is refused, and so is anything that is not a regular
    file (a FIFO or a device named `*.yaml`): each with the reason.
    """
    files: dict[Path, None] = {}
    problems = []

    def refuse(path: Path, reason: str) -> None:
        problems.append(
            Diagnostic(
                f"refusing to read this file: {reason}",
                SourceLocation(display_path(path)),
                code="io",
            )
        )

    def take(path: Path) -> None:
        reason = outside_reason(path, root) if root is not None else None
        if reason:
            return refuse(path, reason)
        try:
            mode = path.stat().st_mode
        except OSError as exc:
            return refuse(path, f"it cannot be read ({exc.strerror or exc})")
        if not stat.S_ISREG(mode):
            return refuse(path, f"it is {file_kind(mode)}, not a regular file")
        files.setdefault(path.resolve(), None)

    for path in paths:
        if root is not None and (reason := outside_reason(path, root)):
            refuse(path, reason)
        elif path.is_dir():
            for found in sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml")):
                if not found.is_dir():
                    take(found)
        elif path.exists() or path.is_symlink():
            take(path)
        else:
            problems.append(
                Diagnostic("no such file or folder", SourceLocation(display_path(path)), code="io")
            )
    return list(files), problems


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch: mappings merge, null removes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _document(doc, dialect: str) -> tuple[Resource | None, bool, list[Diagnostic]]:
    """(resource, valid, problems) for one YAML document."""
    data = doc.data
    where = doc.location
    if not isinstance(data, dict):
        return (
            None,
            False,
            [
                Diagnostic(
                    f"a manifest must be a mapping with apiVersion, kind, metadata and spec, not {type_name(data)}",
                    where,
                    code="envelope",
                )
            ],
        )
    kind = data.get("kind")
    name = data.get("metadata", {}).get("name") if isinstance(data.get("metadata"), dict) else None
    if kind not in KINDS:
        if kind is None:
            message, loc = "missing required key 'kind'", where
        else:
            message, loc = f"unknown kind {kind!r}", doc.source.location(("kind",))
        close = difflib.get_close_matches(str(kind), KINDS, n=1) if kind else []
        hint = f"did you mean '{close[0]}'?" if close else f"kinds: {', '.join(KINDS)}"
        return None, False, [Diagnostic(message, loc, hint=hint, code="envelope")]
    address = address_of(kind, name) if isinstance(name, str) else None
    problems = schema_diagnostics(kind, data, doc.source, address, dialect)
    spec = data.get("spec")
    if not isinstance(name, str) or not isinstance(spec, dict):
        return None, False, problems
    metadata = data.get("metadata") or {}
    return Resource(kind, name, spec, metadata, doc.source), not problems, problems


def _apply_overrides(
    env: Environment, resources: dict[str, Resource], valid: set[str]
) -> list[Diagnostic]:
    problems = []
    for i, override in enumerate(env.overrides):
        target = override["target"]
        resource = resources.get(target)
        loc = env.location("overrides", i, "target")
        if resource is None:
            close = difflib.get_close_matches(target, list(resources), n=1)
            problems.append(
                Diagnostic(
                    f"override target {target} is not declared in the manifests",
                    loc,
                    hint=f"did you mean {close[0]}?" if close else None,
                    code="reference",
                )
            )
            continue
        patched = merge_patch(resource.spec, override["spec"])
        if target in valid:
            document = {
                "apiVersion": API_VERSION,
                "kind": resource.kind,
                "metadata": resource.metadata,
                "spec": patched,
            }
            errors = schema_diagnostics(
                resource.kind,
                document,
                env.source,
                target,
                dialect_of(str(env.provider.get("type", ""))),
            )
            for err in errors:
                problems.append(
                    Diagnostic(
                        f"after override: {err.message}",
                        env.location("overrides", i, "spec"),
                        address=target,
                        hint=err.hint,
                        code="schema",
                    )
                )
            if errors:
                valid.discard(target)
        resource.spec = patched
        resource.overrides = (*resource.overrides, (override["spec"], env.source, i))
    return problems


def _lost_resources(
    problems: list[Diagnostic], files: list[Path], read: dict[str, Resource]
) -> tuple[dict[str, set[str]], list[str]]:
    """(names each partly unparsable file declares but lost, every unreadable file in order)."""
    unreadable = list(
        dict.fromkeys(
            d.location.file for d in problems if d.location and d.code in UNREADABLE_CODES
        )
    )
    syntax = {d.location.file for d in problems if d.location and d.code == "yaml-syntax"}
    names = {r.name for r in read.values()}
    lost: dict[str, set[str]] = {}
    for path in files:
        shown = display_path(path)
        if shown in syntax:
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            lost[shown] = declared_names(text) - names
    return lost, unreadable


def load_desired_state(
    env: Environment, only: list[Path] | None = None, use_cache: bool = True
) -> DesiredState:
    """The desired state of `env`: its manifests, overrides applied, every problem collected.

    With `only`, those files are loaded too and only their problems are
    reported: the rest of the manifests are still read so that references
    into them resolve (this is what a pre-commit hook on changed files needs).
    Files parsed before are taken from the parse cache unless `use_cache` is
    false (or $CRMCTL_NO_CACHE is set); see crmctl/config/parsecache.py.
    """
    cache = open_parse_cache(env.project_dir, use_cache)
    files, problems = collect_files(env.manifest_paths, env.project_dir)
    if only:  # named on the command line: the user's own choice, wherever it is
        extra, extra_problems = collect_files(only)
        files.extend(f for f in extra if f not in files)
        problems.extend(extra_problems)
    state = DesiredState(files=files)
    dialect = dialect_of(str(env.provider.get("type", "")))
    seen: dict[str, Resource] = {}
    folded: dict[str, Resource] = {}  # by lower-case address: API names ignore case
    valid: set[str] = set()
    for path in files:
        shown = display_path(path)
        docs, file_problems = read_yaml_file(path, shown, cache=cache)
        problems.extend(file_problems)
        if not docs and not file_problems:
            problems.append(
                Diagnostic(
                    "file is empty: it holds no manifests", SourceLocation(shown), code="empty-file"
                )
            )
        for doc in docs:
            if doc.data is None:
                continue  # an empty document between two `---` is harmless
            resource, ok, doc_problems = _document(doc, dialect)
            problems.extend(doc_problems)
            if resource is None:
                continue
            first = seen.get(resource.address)
            if first is not None:
                problems.append(
                    Diagnostic(
                        f"declared twice: also at {first.location()}",
                        resource.location(),
                        address=resource.address,
                        hint="a resource's kind and metadata.name must be unique; rename or remove one",
                        code="duplicate",
                    )
                )
                continue
            twin = folded.get(resource.address.lower())
            if twin is not None:
                problems.append(
                    Diagnostic(
                        f"differs only in case from {twin.address} at {twin.location()}",
                        resource.location(),
                        address=resource.address,
                        hint="API names are case-insensitive in every CRM: the two would be one "
                        "resource; rename or remove one",
                        code="duplicate",
                    )
                )
                continue
            seen[resource.address] = resource
            folded[resource.address.lower()] = resource
            if ok:
                valid.add(resource.address)
    problems.extend(_apply_overrides(env, seen, valid))
    provider = str(env.provider.get("type", ""))
    table = limits_for(provider)
    for address in sorted(valid):
        resource = seen[address]
        problems.extend(limit_diagnostics(resource, table.get(resource.kind, {}), provider))
    index = ConfigIndex(seen.values(), dialect)
    for kind in KINDS:
        handler = HANDLERS[kind]
        of_kind = [r for r in seen.values() if r.kind == kind and r.address in valid]
        for resource in of_kind:
            problems.extend(handler.check(resource, index))
        problems.extend(handler.check_all(of_kind, index))
    if only is not None:
        wanted = {display_path(p) for p in collect_files(only)[0]}
        problems = [
            d for d in problems if d.code == "io" or d.location is None or d.location.file in wanted
        ]
    problems.sort(key=Diagnostic.sort_key)
    problems = group_knock_on(problems, *_lost_resources(problems, files, seen))
    state.resources = seen
    state.diagnostics = problems
    return state
