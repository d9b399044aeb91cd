"""What a case names must exist in the configuration under test: users, objects, fields, rules."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from crmctl.crmtest.cases import TestCase
from crmctl.crmtest.sandbox import ADMIN
from crmctl.errors import Diagnostic
from crmctl.sandbox.records import OrgModel

__all__ = ["check_case", "retention_date_fields"]


def _hint(word: str, options: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def retention_date_fields(model: OrgModel, obj_name: str) -> list[str]:
    """The date fields the retention policies of an object measure age on."""
    fields = []
    for spec in model.retention_policies.values():
        if spec["object"].lower() == obj_name.lower() and spec["dateField"] not in fields:
            fields.append(spec["dateField"])
    return fields


class _Checker:
    def __init__(self, case: TestCase, model: OrgModel) -> None:
        self.case, self.model = case, model
        self.problems: list[Diagnostic] = []

    def problem(self, message: str, path: tuple, hint: str | None = None) -> None:
        self.problems.append(Diagnostic(message, self.case.at(*path), hint=hint, code="test-case"))

    def object(self, name: str, path: tuple) -> Any:
        obj = self.model.object(name)
        if obj is None:
            names = [o.name for o in self.model.objects.values()]
            self.problem(f"no object named '{name}' holds records", path, _hint(name, names))
        return obj

    def values(self, obj: Any, values: dict[str, Any], path: tuple, refs: list[str]) -> None:
        for key, value in values.items():
            if obj.field(key) is None:
                names = [f.name for f in obj.fields.values()]
                self.problem(f"{obj.name} has no field '{key}'", (*path, key), _hint(key, names))
            if isinstance(value, dict):
                ref = value.get("ref")
                if set(value) != {"ref"} or not isinstance(ref, str):
                    self.problem(
                        f"{key}: a mapping value must be {{ref: NAME}} of a given record",
                        (*path, key),
                    )
                elif ref not in refs:
                    self.problem(
                        f"{key}: no given record named '{ref}'"
                        + (" before this one" if ref in self.case.given else ""),
                        (*path, key),
                        _hint(ref, refs),
                    )

    def user(self, user: str | None, path: tuple) -> None:
        if user is not None and user != ADMIN and user.lower() not in self.model.users:
            names = [u["name"] for u in self.model.users.values()]
            self.problem(f"no User named '{user}'", path, _hint(user, names))

    def given(self) -> None:
        earlier: list[str] = []
        for name, record in self.case.given.items():
            self.user(record.get("user"), ("given", name, "user"))
            obj = self.object(record["object"], ("given", name, "object"))
            if obj is not None:
                self.values(obj, record.get("values") or {}, ("given", name, "values"), earlier)
            earlier.append(name)

    def write(self) -> Any:
        body, kind = self.case.body, self.case.kind
        if "create" in body:
            obj = self.object(body["create"], (kind, "create"))
        else:
            target = self.case.given.get(body["update"])
            if target is None:
                names = list(self.case.given)
                self.problem(
                    f"update: no given record named '{body['update']}'",
                    (kind, "update"),
                    _hint(body["update"], names)
                    or ("declare it under given" if not names else None),
                )
                return None
            obj = self.model.object(target["object"])
        if obj is not None:
            self.values(obj, body.get("values") or {}, (kind, "values"), list(self.case.given))
        return obj

    def duplicate_rule(self, obj: Any) -> None:
        rule = self.case.body.get("rule")
        if rule is None or obj is None:
            return
        names = [n for n, _ in self.model.duplicate_rules.get(obj.key, [])]
        if rule not in names:
            self.problem(
                f"{obj.name} has no duplicate rule named '{rule}'",
                ("duplicate", "rule"),
                _hint(rule, names) or (f"its rules: {', '.join(names)}" if names else None),
            )

    def access(self) -> None:
        body = self.case.body
        if self.case.user is None:
            self.problem("an access case needs a user", ("access",))
        if "object" in body:
            self.object(body["object"], ("access", "object"))
            return
        obj_name, _, field_name = body["field"].partition(".")
        obj = self.object(obj_name, ("access", "field"))
        if obj is None:
            return
        fdef = obj.field(field_name)
        if fdef is None or not fdef.custom:
            names = [f.name for f in obj.fields.values() if f.custom]
            what = (
                "custom field"
                if fdef is None
                else "custom field (standard fields follow the object)"
            )
            hint = _hint(field_name, names)
            self.problem(f"{obj.name} has no {what} '{field_name}'", ("access", "field"), hint)
            return
        wrong = [
            p for p in [*body.get("can", []), *body.get("cannot", [])] if p not in ("read", "edit")
        ]
        if wrong:
            self.problem(
                f"a field has only read and edit permissions, not {', '.join(wrong)}",
                ("access",),
            )

    def retention(self) -> None:
        body = self.case.body
        obj = self.object(body["object"], ("retention", "object"))
        if obj is None:
            return
        dates = retention_date_fields(self.model, obj.name)
        if not dates:
            self.problem(f"no RetentionPolicy covers {obj.name}", ("retention", "object"))
        values = body.get("values") or {}
        self.values(obj, values, ("retention", "values"), list(self.case.given))
        for name in dates:
            if any(k.lower() == name.lower() for k in values):
                self.problem(
                    f"leave {name} out: age sets it (the date retention measures from)",
                    ("retention", "values", next(k for k in values if k.lower() == name.lower())),
                )


def check_case(case: TestCase, model: OrgModel) -> list[Diagnostic]:
    """Every name in `case` the configuration does not have, at its line."""
    checker = _Checker(case, model)
    checker.user(case.user, ("user",))
    checker.given()
    if case.kind in ("record", "duplicate"):
        obj = checker.write()
        if case.kind == "duplicate":
            checker.duplicate_rule(obj)
    elif case.kind == "access":
        checker.access()
    else:
        checker.retention()
    return checker.problems
