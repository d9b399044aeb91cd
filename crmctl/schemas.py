"""The JSON Schemas under `schemas/`: where they are, and validators for them.

The schema files are the single source of truth for what a valid manifest,
environment file or plan file is; Python code never restates them.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmctl.dialect import DEFAULT_DIALECT, dialect_of, provider_title

if TYPE_CHECKING:  # jsonschema is imported only when a document fails the compiled check
    from jsonschema import Draft202012Validator
    from referencing import Registry

__all__ = [
    "KINDS",
    "schema_dir",
    "kind_schema",
    "validator_for",
    "bundled_schema",
    "schema_defaults",
    "common_definition",
    "dialect_of",
    "dialect_schema",
    "DEFAULT_DIALECT",
]

#: The manifest kinds, in the order they are applied (dependencies first).
KINDS: tuple[str, ...] = (
    "CustomObject",
    "GlobalValueSet",
    "CustomField",
    "StandardField",
    "RecordType",
    "ValidationRule",
    "DuplicateRule",
    "RetentionPolicy",
    "Role",
    "PermissionSet",
    "User",
)

_COMMON_ID = "urn:crmctl:v1:common"


def schema_dir() -> Path:
    """The `schemas/` folder (`crmctl/_schemas` links to it, so installed wheels carry it)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_schemas", here.parent / "schemas"):
        if (candidate / "common.json").is_file():
            return candidate
    raise FileNotFoundError("crmctl's schemas/ folder is missing from this installation")


@cache
def _load(relative: str) -> dict[str, Any]:
    return json.loads((schema_dir() / relative).read_text(encoding="utf-8"))


@cache
def _registry() -> Registry:
    from referencing import Registry, Resource

    common = _load("common.json")
    return Registry().with_resource(_COMMON_ID, Resource.from_contents(common))


def kind_schema(kind: str) -> dict[str, Any]:
    """The schema of one manifest kind, as written in `schemas/kinds/<Kind>.json`."""
    if kind not in KINDS:
        raise KeyError(kind)
    return _load(f"kinds/{kind}.json")


def common_definition(name: str) -> dict[str, Any]:
    """One shared definition of `schemas/common.json` (`$defs/<name>`)."""
    return _load("common.json")["$defs"][name]


def _vendor_only(key: str, owner: str, dialect: str) -> dict[str, Any]:
    """What a key that only `owner`'s provider knows becomes in another dialect: a refusal."""
    return {
        "not": {},
        "x-message": f"'{key}' is a {provider_title(owner)}-only setting, "
        f"accepted only in an environment whose provider is {owner}",
    }


def _resolve(node: Any, dialect: str) -> Any:
    """A schema node for one dialect.

    Two annotations in the kind schemas carry the vendor differences, so each
    kind keeps one schema: `x-dialects: {dataverse: {...}}` replaces the node
    in that dialect (names), and a property marked `x-dialect: dataverse` is a
    vendor-only key, refused with a clear message in every other dialect.
    """
    if isinstance(node, list):
        return [_resolve(item, dialect) for item in node]
    if not isinstance(node, dict):
        return node
    overlays = node.get("x-dialects")
    if isinstance(overlays, dict) and dialect in overlays:
        node = overlays[dialect]
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("x-dialects", "x-dialect"):
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {
                prop: (
                    _vendor_only(prop, sub["x-dialect"], dialect)
                    if isinstance(sub, dict) and sub.get("x-dialect") not in (None, dialect)
                    else _resolve(sub, dialect)
                )
                for prop, sub in value.items()
            }
        else:
            out[key] = _resolve(value, dialect)
    return out


@cache
def dialect_schema(kind: str, dialect: str = DEFAULT_DIALECT) -> dict[str, Any]:
    """The schema of a kind as an environment of that name dialect checks it."""
    resolved: dict[str, Any] = _resolve(kind_schema(kind), dialect)
    return resolved


@cache
def validator_for(name: str, dialect: str = DEFAULT_DIALECT) -> Draft202012Validator:
    """A validator for a kind (`CustomField`) or a file type (`environment`, `plan`).

    Kinds are checked in a name dialect (`dialect_of(provider type)`)."""
    from jsonschema import Draft202012Validator

    schema = dialect_schema(name, dialect) if name in KINDS else _load(f"{name}.json")
    return Draft202012Validator(schema, registry=_registry())


def bundled_schema(name: str) -> dict[str, Any]:
    """A self-contained copy of a schema (shared definitions inlined), for editors."""
    schema = copy.deepcopy(kind_schema(name) if name in KINDS else _load(f"{name}.json"))
    common = _load("common.json")
    defs = schema.setdefault("$defs", {})
    prefix = f"{_COMMON_ID}#/$defs/"

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key == "$ref" and isinstance(value, str) and value.startswith(prefix):
                    target = value[len(prefix) :]
                    defs.setdefault(target, None)
                    value = f"#/$defs/{target}"
                out[key] = rewrite(value)
            return out
        if isinstance(node, list):
            return [rewrite(v) for v in node]
        return node

    schema = rewrite(schema)
    defs = schema.setdefault("$defs", {})
    for name_ in list(defs):
        if defs[name_] is None:
            defs[name_] = rewrite(common["$defs"][name_])
    # Shared definitions may refer to each other; inline until closed.
    for name_ in list(defs):
        if defs[name_] is None:
            defs[name_] = rewrite(common["$defs"][name_])
    return schema


def schema_defaults(schema: dict[str, Any]) -> dict[str, Any]:
    """The `default` of each property of an object schema (one level deep)."""
    return {
        key: copy.deepcopy(prop["default"])
        for key, prop in schema.get("properties", {}).items()
        if isinstance(prop, dict) and "default" in prop
    }


@cache
def _quick_validator(name: str, dialect: str = DEFAULT_DIALECT) -> Any:
    try:
        import jsonschema_rs
    except ImportError:  # the compiled validator is an optimisation, never a requirement
        return None
    schema = bundled_schema(name)
    if name in KINDS:
        schema = _resolve(schema, dialect)
    return jsonschema_rs.validator_for(schema)


def quick_is_valid(name: str, data: Any, dialect: str = DEFAULT_DIALECT) -> bool | None:
    """Whether `data` is valid, answered by the compiled validator (None when it is unavailable).

    About a hundred times faster than jsonschema for the common case of a
    valid document; invalid ones still go through `validator_for(name)`,
    whose errors become the messages users read.
    """
    validator = _quick_validator(name, dialect)
    return None if validator is None else bool(validator.is_valid(data))
