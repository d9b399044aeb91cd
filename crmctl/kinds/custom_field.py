"""CustomField: a field of a standard or custom object (`Object.Field__c`).

Besides stored fields, a CustomField can be computed by the CRM: a `Formula`
(its `formula`, `returnType` and `treatBlanksAs`), a `Summary` (a roll-up of
the child records of a master-detail relationship) or an `AutoNumber`. A
picklist takes its values from its own `values` or from a GlobalValueSet
(`valueSetName`).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from crmctl.dialect import DEFAULT_DIALECT
from crmctl.errors import Diagnostic
from crmctl.kinds.base import ConfigIndex, KindHandler, field_dependency, object_dependency
from crmctl.kinds.custom_object import microsoft_name_problems
from crmctl.kinds.formulas import (
    formula_dependencies,
    formula_diagnostics,
    formula_related_dependencies,
)
from crmctl.model import Resource, address_of

__all__ = ["CustomFieldKind", "picklist_values", "adopt_option_values"]

_DEFAULT_LENGTH = {"Text": 255, "LongTextArea": 32768, "Html": 32768}
_NUMERIC = ("Number", "Currency", "Percent")


def picklist_values(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Picklist values in their full form: {value, label, default, active[, optionValue]}.

    `optionValue` (Dataverse only: the option's integer value) is kept where given."""
    out = []
    for item in spec.get("values") or []:
        given = {"value": item} if isinstance(item, str) else item
        entry = {
            "value": given.get("value"),
            "label": given.get("label", given.get("value")),
            "default": given.get("default", False),
            "active": given.get("active", True),
        }
        if given.get("optionValue") is not None:
            entry["optionValue"] = given["optionValue"]
        out.append(entry)
    return out


def adopt_option_values(desired: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    """`desired` whose options without an `optionValue` take the live option's (same value)."""
    wanted = desired.get("values")
    if not isinstance(wanted, list) or not any(
        isinstance(v, dict) and "optionValue" not in v for v in wanted
    ):
        return desired
    chosen = {
        v.get("value"): v["optionValue"]
        for v in live.get("values") or []
        if isinstance(v, dict) and v.get("optionValue") is not None
    }
    if not chosen:
        return desired
    values = []
    for v in wanted:
        if isinstance(v, dict) and "optionValue" not in v and v.get("value") in chosen:
            v = {**v, "optionValue": chosen[v.get("value")]}
        values.append(v)
    return {**desired, "values": values}


class CustomFieldKind(KindHandler):
    kind = "CustomField"

    def object_of(self, name: str) -> str | None:
        return name.partition(".")[0]

    def normalise(self, spec: dict[str, Any]) -> dict[str, Any]:
        # Dataverse's required level has one spelling per meaning: applicationRequired is
        # `required: true`, none is not required (the schema refuses contradictions).
        level = spec.get("requiredLevel")
        if level in ("none", "applicationRequired"):
            del spec["requiredLevel"]
            if level == "applicationRequired":
                spec["required"] = True
        ftype = spec.get("type")
        if ftype in _DEFAULT_LENGTH:
            spec.setdefault("length", _DEFAULT_LENGTH[ftype])
        if ftype in _NUMERIC:
            spec.setdefault("precision", 18)
            spec.setdefault("scale", 0)
        if "values" in spec:
            spec["values"] = picklist_values(spec)  # order matters: it is the order users see
        if ftype == "Checkbox" and spec.get("defaultValue") is False:
            del spec["defaultValue"]  # a checkbox is unchecked unless its default says otherwise
        if ftype == "Html":
            spec.setdefault("visibleLines", 25)
        if ftype == "Summary" and spec.get("filters"):
            spec["filters"] = [dict(f) for f in spec["filters"]]
        if isinstance(spec.get("formula"), str):  # whitespace around a formula means nothing
            spec["formula"] = spec["formula"].strip()
        return spec

    def adopt_unsaid(self, desired: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
        # An option whose value the manifest leaves out has the one the CRM gave it.
        return adopt_option_values(desired, live)

    def unsaid(self, spec: dict[str, Any]) -> dict[str, Any]:
        values = spec.get("values")
        if not isinstance(values, list) or not any(
            isinstance(v, dict) and "optionValue" in v for v in values
        ):
            return spec
        kept = [
            {k: x for k, x in v.items() if k != "optionValue"} if isinstance(v, dict) else v
            for v in values
        ]
        return {**spec, "values": kept}

    def normalise_named(self, spec: dict[str, Any], name: str) -> dict[str, Any]:
        # CRMs name a relationship after its field unless told otherwise, and read the
        # default back as "none given": spelling the default out is the same field.
        default = name.partition(".")[2].removesuffix("__c")
        if spec.get("relationshipName") == default:
            del spec["relationshipName"]
        return spec

    def dependencies(self, resource: Resource, dialect: str = DEFAULT_DIALECT) -> set[str]:
        obj = resource.name.partition(".")[0]
        spec = resource.spec
        deps: set[str | None] = {object_dependency(obj, dialect)}
        target = spec.get("referenceTo")
        if isinstance(target, str):
            deps.add(object_dependency(target, dialect))
        value_set = spec.get("valueSetName")
        if isinstance(value_set, str):
            deps.add(address_of("GlobalValueSet", value_set))
        if spec.get("type") == "Formula":
            deps |= set(formula_dependencies(spec.get("formula"), obj, dialect))
        if spec.get("type") == "Summary":
            for key in ("summaryForeignKey", "summarizedField"):
                child, _, child_field = str(spec.get(key) or "").partition(".")
                if child_field:
                    deps.add(object_dependency(child, dialect))
                    deps.add(field_dependency(child, child_field, dialect))
            for item in spec.get("filters") or []:
                child, _, child_field = str(item.get("field") or "").partition(".")
                if child_field:
                    deps.add(field_dependency(child, child_field, dialect))
        deps.discard(None)
        deps.discard(resource.address)
        return deps  # type: ignore[return-value]

    def ordering_dependencies(self, resource: Resource, index: ConfigIndex) -> set[str]:
        deps = self.dependencies(resource, index.dialect)
        if resource.spec.get("type") == "Formula":
            obj = resource.name.partition(".")[0]
            deps |= formula_related_dependencies(resource.spec.get("formula"), obj, index)
            deps.discard(resource.address)
        return deps

    def check(self, resource: Resource, index: ConfigIndex) -> Iterator[Diagnostic]:
        obj = resource.name.partition(".")[0]
        spec = resource.spec
        yield from microsoft_name_problems(resource, resource.name.partition(".")[2], index)
        if not index.has_object(obj):
            yield self.error(
                resource,
                f"object '{obj}' is neither declared as a CustomObject nor a standard object",
                hint="declare the CustomObject, or check the spelling of the object name",
            )
        target = spec.get("referenceTo")
        if isinstance(target, str) and not index.has_object(target):
            yield self.error(
                resource, f"referenceTo names unknown object '{target}'", "referenceTo"
            )
        seen: dict[str, int] = {}
        defaults = 0
        for i, entry in enumerate(picklist_values(spec)):
            value = str(entry["value"])
            if value.lower() in seen:
                yield self.error(
                    resource,
                    f"picklist value '{value}' is listed twice (values[{seen[value.lower()]}] and values[{i}])",
                    "values",
                    i,
                )
            seen.setdefault(value.lower(), i)
            defaults += bool(entry["default"])
        if spec.get("type") == "Picklist" and defaults > 1:
            yield self.error(
                resource,
                f"a Picklist can have one default value; {defaults} are marked default",
                "values",
            )
        scale, precision = spec.get("scale"), spec.get("precision")
        if isinstance(scale, int) and isinstance(precision, int) and scale > precision:
            yield self.error(
                resource, f"scale ({scale}) cannot be larger than precision ({precision})", "scale"
            )
        problem = _numeric_default_problem(spec)
        if problem:
            yield self.error(resource, problem, "defaultValue")
        value_set = spec.get("valueSetName")
        if isinstance(value_set, str) and value_set.lower() not in index.value_sets:
            yield self.error(
                resource,
                f"valueSetName names unknown GlobalValueSet '{value_set}'",
                "valueSetName",
                hint="declare the GlobalValueSet, or check the spelling of its name",
            )
        if spec.get("type") == "Formula" and index.has_object(obj):
            yield from formula_diagnostics(resource, ("formula",), obj, index)
        if spec.get("type") == "Summary":
            yield from _summary_problems(self, resource, obj, index)


def _summary_problems(
    kind: CustomFieldKind, resource: Resource, obj: str, index: ConfigIndex
) -> Iterator[Diagnostic]:
    """A roll-up counts the children of a master-detail relationship to this object."""
    spec = resource.spec
    key = str(spec.get("summaryForeignKey") or "")
    child, _, link = key.partition(".")
    found = index.field(child, link) if link else None
    link_spec = index.field_resources.get(key.lower())
    if found is None or link_spec is None:
        yield kind.error(
            resource,
            f"summaryForeignKey names '{key}', which is not a declared master-detail field",
            "summaryForeignKey",
        )
        return
    target = link_spec.spec.get("referenceTo")
    if link_spec.spec.get("type") != "MasterDetail" or str(target).lower() != obj.lower():
        yield kind.error(
            resource,
            f"summaryForeignKey {key} must be a MasterDetail field pointing at {obj} "
            f"(it is a {link_spec.spec.get('type')} to {target})",
            "summaryForeignKey",
        )
    for path, qualified in [("summarizedField", spec.get("summarizedField"))] + [
        ("filters", item.get("field")) for item in spec.get("filters") or []
    ]:
        if not isinstance(qualified, str):
            continue
        other, _, name = qualified.partition(".")
        if other.lower() != child.lower():
            yield kind.error(
                resource, f"{path}: {qualified} is not a field of the child object {child}", path
            )
        elif index.field(other, name) is None:
            yield kind.error(resource, f"{path}: {qualified} is not a field of {child}", path)


def _numeric_default_problem(spec: dict[str, Any]) -> str | None:
    """Why a number field's default cannot be stored (not finite, too many digits), or None."""
    if spec.get("type") not in _NUMERIC:
        return None
    value = spec.get("defaultValue")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    text = str(value).strip()
    if len(text) > 40:
        return "defaultValue is not a number a field can hold"
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None  # a formula: the CRM evaluates it
    if not number.is_finite():
        return f"defaultValue {text} is not a finite number"
    precision, scale = spec.get("precision", 18), spec.get("scale", 0)
    if isinstance(precision, int) and isinstance(scale, int):
        whole = abs(number).adjusted() + 1 if number else 0
        if whole > precision - scale:
            return (
                f"defaultValue {text} has {whole} digits before the decimal point; "
                f"precision {precision} with scale {scale} allows {max(precision - scale, 0)}"
            )
    return None
