"""Checking the formulas inside manifests and placing their errors in the YAML file."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from crmctl.dialect import DEFAULT_DIALECT, is_custom_relationship
from crmctl.errors import Diagnostic, SourceLocation
from crmctl.formula import FormulaError, check, compile_formula, field_references, parse
from crmctl.kinds.base import ConfigIndex, field_dependency
from crmctl.model import Resource

__all__ = ["formula_diagnostics", "formula_dependencies", "formula_related_dependencies"]


@lru_cache(maxsize=4096)
def _parsed(text: str):  # parsing is pure; identical formulas are common in large orgs
    return parse(text)


@lru_cache(maxsize=4096)
def _compile_problems(text: str) -> list[FormulaError]:
    """What stops the formula from being run by a CRM's evaluator (a tree too deep to walk)."""
    try:
        compile_formula(_parsed(text))
    except FormulaError as err:
        return [err]
    return []


def _locate(resource: Resource, path: tuple[str, ...], err: FormulaError) -> SourceLocation | None:
    """The file line of a formula error: the YAML value's line plus the line inside the formula."""
    if resource.source is None:
        return None
    loc, style = resource.source.value_location(("spec", *path))
    if style in ("|", ">"):  # block scalars start on the line after the indicator
        return SourceLocation(loc.file, loc.line + err.line, 0)
    column = loc.column + err.column - (0 if style is None else -1) - 1 if err.line == 1 else 0
    return SourceLocation(loc.file, loc.line + err.line - 1, column)


def formula_diagnostics(
    resource: Resource, path: tuple[str, ...], obj: str, index: ConfigIndex
) -> list[Diagnostic]:
    """Syntax, function, arity and field-reference problems of the formula at `spec.<path>`."""
    text: Any = resource.spec
    for part in path:
        text = text.get(part) if isinstance(text, dict) else None
    if not isinstance(text, str):
        return []
    where = ".".join(("spec", *path))
    try:
        node = _parsed(text)
    except FormulaError as err:
        return [
            Diagnostic(
                f"{where}: {err}",
                _locate(resource, path, err),
                address=resource.address,
                code="formula",
            )
        ]
    if not index.has_object(obj):
        return []  # the unknown object is reported once, by the kind's own check
    problems = check(node, lambda parts: index.field_type_path(obj, parts))
    if not problems:
        problems = _compile_problems(text)
    return [
        Diagnostic(
            f"{where}: {err}",
            _locate(resource, path, err),
            address=resource.address,
            code="formula",
        )
        for err in problems
    ]


def formula_dependencies(text: object, obj: str, dialect: str = DEFAULT_DIALECT) -> set[str]:
    """Custom fields of `obj` that a formula names, or whose relationship it follows
    (`Account__r.Name` needs `Account__c`), for apply ordering."""
    if not isinstance(text, str):
        return set()
    try:
        node = _parsed(text)
    except FormulaError:
        return set()
    deps = set()
    for ref in field_references(node):
        first = ref.parts[0]
        if len(ref.parts) == 1:
            dep = field_dependency(obj, first, dialect)
        elif is_custom_relationship(first, dialect):  # Account__r.Name needs the lookup Account__c
            dep = field_dependency(obj, first[:-3] + "__c", dialect)
        else:
            dep = None
        if dep:
            deps.add(dep)
    return deps


def formula_related_dependencies(text: object, obj: str, index: ConfigIndex) -> set[str]:
    """Custom fields of other objects a formula reads through relationships
    (`Account__r.Region__c` needs Account's `Region__c`), resolved with `index`."""
    if not isinstance(text, str):
        return set()
    try:
        node = _parsed(text)
    except FormulaError:
        return set()
    deps = set()
    for ref in field_references(node):
        current = obj
        for rel in ref.parts[:-1]:
            if ":" in rel:
                current = rel.partition(":")[2]
                continue
            target = index.relationships.get((current.lower(), rel.lower()))
            if target is None:
                current = ""
                break
            current = target
        if current:
            dep = field_dependency(current, ref.parts[-1], index.dialect)
            if dep:
                deps.add(dep)
    return deps
