"""The JSON Schemas under `schemas/`: where they are, and validators for them.

The schema files are the single source of truth for what a valid manifest,
environment file or plan file is; Python code never restates them.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

__all__ = [
    "KINDS",
    "schema_dir",
    "kind_schema",
    "validator_for",
    "bundled_schema",
    "schema_defaults",
    "common_definition",
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


@cache
def validator_for(name: str) -> Draft202012Validator:
    """A validator for a kind (`CustomField`) or a file type (`environment`, `plan`)."""
    schema = kind_schema(name) if name in KINDS else _load(f"{name}.json")
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
def _quick_validator(name: str) -> Any:
    try:
        import jsonschema_rs
    except ImportError:  # the compiled validator is an optimisation, never a requirement
        return None
    return jsonschema_rs.validator_for(bundled_schema(name))


def quick_is_valid(name: str, data: Any) -> bool | None:
    """Whether `data` is valid, answered by the compiled validator (None when it is unavailable).

    About a hundred times faster than jsonschema for the common case of a
    valid document; invalid ones still go through `validator_for(name)`,
    whose errors become the messages users read.
    """
    validator = _quick_validator(name)
    return None if validator is None else bool(validator.is_valid(data))
