"""Duplicate detection rules: `duplicaterules` + `duplicateruleconditions` <-> DuplicateRule.

A crmctl DuplicateRule `table.Rule_Name` is the rule named `Rule_Name` whose
base and matching table are `table`; each `match` entry is a condition on the
same column of both (operator ExactMatch: Dataverse has no fuzzy match).
`active` is "published": Dataverse detects duplicates only with published
rules, publishing runs as a background job (polled through asyncoperations),
and changing a table's definition unpublishes its rules, so the provider
publishes them again after it changed the table. At most five rules are
published per table.
"""

from __future__ import annotations

from typing import Any

from crmctl.errors import ProviderError
from crmctl.plan.action import Action
from crmctl.plan.model import Change
from crmctl.providers.dataverse.webapi import BatchPart, WebApi, odata_error

__all__ = ["read_rules", "rule_spec", "write_rule", "publish", "MAX_PUBLISHED", "rule_refusals"]

MAX_PUBLISHED = 5
_PUBLISHED = 2  # duplicaterule statuscode: 0 Unpublished, 1 Publishing, 2 Published
_NS = "Microsoft.Dynamics.CRM."


def read_rules(api: WebApi) -> dict[str, dict[str, Any]]:
    """Every duplicate rule by crmctl name, with its conditions (two paged queries)."""
    rules = api.get_all(
        "duplicaterules",
        {
            "$select": "duplicateruleid,name,baseentityname,matchingentityname,description,"
            "statuscode,statecode"
        },
    )
    conditions = api.get_all(
        "duplicateruleconditions",
        {
            "$select": "duplicateruleconditionid,baseattributename,operatorcode,_regardingobjectid_value"
        },
    )
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for condition in conditions:
        by_rule.setdefault(str(condition.get("_regardingobjectid_value")), []).append(condition)
    out = {}
    for rule in rules:
        if rule.get("baseentityname") != rule.get("matchingentityname"):
            continue  # a rule across two tables has no crmctl counterpart
        name = f"{rule.get('baseentityname')}.{rule.get('name')}"
        out[name] = {**rule, "conditions": by_rule.get(str(rule["duplicateruleid"]), [])}
    return out


def rule_spec(rule: dict[str, Any]) -> dict[str, Any] | None:
    """A rule as a DuplicateRule spec; None when a condition is not an exact match."""
    match = []
    for condition in rule["conditions"]:
        if condition.get("operatorcode") not in (0, None):
            return None
        match.append({"field": condition.get("baseattributename")})
    if not match:
        return None
    spec: dict[str, Any] = {"active": rule.get("statuscode") == _PUBLISHED, "match": match}
    if rule.get("description"):
        spec["description"] = rule["description"]
    return spec


def rule_refusals(spec: dict[str, Any]) -> str | None:
    """Why Dataverse cannot hold this DuplicateRule, or None."""
    fuzzy = [m.get("field") for m in spec.get("match") or [] if m.get("method") == "fuzzy"]
    if fuzzy:
        return (
            f"Dataverse duplicate detection has no fuzzy match ({', '.join(map(str, fuzzy))}); "
            "use method: exact"
        )
    return None


def write_rule(api: WebApi, change: Change, live: dict[str, Any] | None) -> None:
    """Create, change or delete one rule; publish it when it is to be active."""
    table, _, name = change.name.partition(".")
    if live is not None and live.get("statuscode") == _PUBLISHED:
        api.send("POST", f"duplicaterules({live['duplicateruleid']})/{_NS}UnpublishDuplicateRule")
    if change.action is Action.DELETE:
        if live is not None:
            api.send("DELETE", f"duplicaterules({live['duplicateruleid']})")
        return
    spec = change.after or {}
    refusal = rule_refusals(spec)
    if refusal:
        raise ProviderError(refusal)
    conditions = [
        {
            "baseattributename": m["field"],
            "matchingattributename": m["field"],
            "operatorcode": 0,
            "ignoreblankvalues": False,
        }
        for m in spec.get("match") or []
    ]
    rule = {
        "name": name,
        "baseentityname": table,
        "matchingentityname": table,
        "description": spec.get("description"),
        "iscasesensitive": False,
        "excludeinactiverecords": False,
    }
    if live is None:
        # One change set: the rule and its conditions are saved together or not at all.
        parts = [BatchPart("POST", "duplicaterules", rule)]  # Content-ID 1: "$1" below
        parts += [
            BatchPart(
                "POST", "duplicateruleconditions", {**c, "regardingobjectid@odata.bind": "$1"}
            )
            for c in conditions
        ]
        answers = api.batch(parts, atomic=True)
        _check(answers)
        entity = answers[0].headers.get("odata-entityid", "")
        rule_id = entity.rpartition("(")[2].rstrip(")")
    else:
        rule_id = str(live["duplicateruleid"])
        parts = [BatchPart("PATCH", f"duplicaterules({rule_id})", rule)]
        parts += [
            BatchPart("DELETE", f"duplicateruleconditions({c['duplicateruleconditionid']})")
            for c in live.get("conditions") or []
        ]
        parts += [
            BatchPart(
                "POST",
                "duplicateruleconditions",
                {**c, "regardingobjectid@odata.bind": f"/duplicaterules({rule_id})"},
            )
            for c in conditions
        ]
        _check(api.batch(parts, atomic=True))
    if spec.get("active", True) and rule_id:
        publish(api, rule_id, change.name)


def publish(api: WebApi, rule_id: str, name: str) -> None:
    """PublishDuplicateRule, then poll its background job until it ends."""
    answer = api.send("POST", f"duplicaterules({rule_id})/{_NS}PublishDuplicateRule")
    job = (answer or {}).get("JobId") if isinstance(answer, dict) else None
    if job:
        api.wait_async(str(job), f"publishing duplicate rule {name}")


def _check(answers: list[Any]) -> None:
    for answer in answers:
        if not answer.ok:
            raise ProviderError(f"{answer.status} {odata_error(answer.body)}")
