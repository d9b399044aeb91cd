"""Turn jsonschema errors into diagnostics a CRM admin can act on.

jsonschema speaks in JSON paths and schema keywords; users need the YAML line
of the offending key and a sentence. Schemas may carry an `x-message` next to
a keyword to say in the user's words what is expected.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from crmctl.config.yamlsource import SourceMap
from crmctl.errors import Diagnostic
from crmctl.schemas import DEFAULT_DIALECT, quick_is_valid, validator_for

if TYPE_CHECKING:  # imported when a document is invalid, not on every run (it is slow to load)
    from jsonschema import ValidationError

__all__ = ["schema_diagnostics", "describe_path", "type_name"]

_TYPE_NAMES = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}


def describe_path(path: Iterable[Any]) -> str:
    """`spec.values[2].label` for ("spec", "values", 2, "label")."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the document"


def type_name(value: Any) -> str:
    """How a user would name the type of a YAML value: `a list`, `a string`…"""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _suggest(word: str, options: Iterable[str]) -> str | None:
    options = [str(o) for o in options]
    same = [o for o in options if o.lower() == str(word).lower()]  # modifyAllData: a case slip
    close = same or difflib.get_close_matches(str(word), options, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def _value(error: ValidationError) -> Any:
    """The keyword's value in the schema (jsonschema types it as possibly unset)."""
    return error.validator_value


def _options(error: ValidationError) -> list[Any]:
    """The values an enum (or an anyOf of enums and consts) accepts."""
    if error.validator == "enum":
        return list(_value(error))
    if error.validator == "const":
        return [_value(error)]
    return [v for sub in error.context or () for v in _options(sub)]


def _message(error: ValidationError) -> tuple[str, str | None, tuple]:
    """(message, hint, extra path) for one leaf error."""
    path = tuple(error.absolute_path)
    where = describe_path(path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    custom = schema.get("x-message")
    kw: Any = error.validator
    inst: Any = error.instance
    if kw == "propertyNames":
        return f"{_short(inst)}: {custom}" if custom else error.message, None, ()
    if "propertyNames" in error.absolute_schema_path:
        # jsonschema reports the offending key itself as the instance.
        return f"{where}: key {_short(inst)} {custom or 'is not allowed'}", None, (inst,)
    if custom and kw in ("pattern", "not", "oneOf", "anyOf", "const", "enum", "type"):
        options = _options(error) if isinstance(inst, str) else []
        hint = _suggest(inst, options) if options else None
        if kw in ("not", "oneOf", "anyOf") and not options:
            return f"{where}: {custom}", None, ()
        return f"{where}: {custom} (got {_short(inst)})", hint, ()
    if kw == "additionalProperties":
        allowed = set(schema.get("properties", {}))
        extras = sorted(k for k in inst if k not in allowed) if isinstance(inst, dict) else []
        key = extras[0] if extras else "?"
        hint = _suggest(key, allowed) or (
            f"allowed keys: {', '.join(sorted(allowed))}" if allowed else None
        )
        return f"{where}: unknown key '{key}'", hint, (key,)
    if kw == "required":
        missing = _value(error)
        absent = [k for k in missing if isinstance(inst, dict) and k not in inst]
        key = absent[0] if absent else missing[0]
        return f"{where}: missing required key '{key}'", None, ()
    if kw == "type":
        expected = _value(error)
        expected = expected if isinstance(expected, list) else [expected]
        names = " or ".join(str(_TYPE_NAMES.get(t, t)) for t in expected)
        hint = None
        if "string" in expected and isinstance(inst, bool | int | float):
            hint = f"quote the value: '{str(inst).lower() if isinstance(inst, bool) else inst}'"
        return f"{where} must be {names}, not {type_name(inst)}", hint, ()
    if kw == "enum":
        options = _value(error)
        return (
            f"{where} must be one of {', '.join(map(str, options))} (got {_short(inst)})",
            _suggest(inst, options) if isinstance(inst, str) else None,
            (),
        )
    if kw == "const":
        return f"{where} must be {_short(_value(error))} (got {_short(inst)})", None, ()
    if kw == "maxLength":
        return (
            f"{where} is {len(inst)} characters long; at most {_value(error)} are allowed",
            None,
            (),
        )
    if kw == "minLength":
        return (
            f"{where} must not be empty" if _value(error) == 1 else f"{where} is too short",
            None,
            (),
        )
    if kw == "minimum":
        return f"{where} must be at least {_value(error)} (got {inst})", None, ()
    if kw == "exclusiveMinimum":
        return f"{where} must be more than {_value(error)} (got {inst})", None, ()
    if kw == "maximum":
        return f"{where} must be at most {_value(error)} (got {inst})", None, ()
    if kw == "exclusiveMaximum":
        return f"{where} must be less than {_value(error)} (got {inst})", None, ()
    if kw == "minItems":
        return f"{where} needs at least {_value(error)} item(s)", None, ()
    if kw == "maxItems":
        return f"{where} has more than {_value(error)} items", None, ()
    if kw == "uniqueItems":
        seen, dup = set(), None
        for item in inst:
            marker = repr(item)
            if marker in seen:
                dup = item
                break
            seen.add(marker)
        return f"{where} lists {_short(dup)} more than once", None, ()
    if kw == "pattern":
        return f"{where} {_short(inst)} does not match {_value(error)}", None, ()
    if kw is False or error.validator == "false":
        return f"{where} is not allowed here", None, ()
    return f"{where}: {error.message}", None, ()


def _leaf(error: ValidationError) -> ValidationError:
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.context and "x-message" not in schema:
        from jsonschema.exceptions import best_match

        return _leaf(best_match(error.context))
    return error


def _leaves(error: ValidationError) -> list[ValidationError]:
    """One error per unknown or missing key, each naming its key.

    jsonschema reports all unknown keys in one error, and one error per
    missing key without saying which key each is about.
    """
    from jsonschema import ValidationError

    if error.validator == "required" and isinstance(error.instance, dict):
        absent = [k for k in _value(error) if k not in error.instance]
        return [
            ValidationError(
                f"{key!r} is a required property",
                validator="required",
                validator_value=[key],
                path=error.absolute_path,
                instance=error.instance,
                schema=error.schema,
            )
            for key in absent
        ] or [error]
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return [error]
    allowed = set(error.schema.get("properties", {})) if isinstance(error.schema, dict) else set()
    extras = sorted(k for k in error.instance if k not in allowed)
    return [
        ValidationError(
            error.message,
            validator="additionalProperties",
            path=error.absolute_path,
            instance={key: None},
            schema=error.schema,
        )
        for key in extras
    ] or [error]


def schema_diagnostics(
    schema_name: str,
    data: Any,
    source: SourceMap,
    address: str | None = None,
    dialect: str = DEFAULT_DIALECT,
) -> list[Diagnostic]:
    """Every schema violation of `data`, located at its YAML line.

    Manifests are checked in the name dialect of their environment's provider."""
    if quick_is_valid(schema_name, data, dialect):
        return []
    diagnostics = []
    seen = set()
    for error in validator_for(schema_name, dialect).iter_errors(data):
        for leaf in _leaves(_leaf(error)):
            message, hint, extra = _message(leaf)
            location = source.location((*leaf.absolute_path, *extra))
            if (message, location) in seen:
                continue  # e.g. every missing key's error, split per key, names them all
            seen.add((message, location))
            diagnostics.append(
                Diagnostic(message, location, address=address, hint=hint, code="schema")
            )
    diagnostics.sort(key=Diagnostic.sort_key)
    return diagnostics
