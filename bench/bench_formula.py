"""How fast a compiled validation rule evaluates: records per second.

The sandbox's goal is 200 record writes a second with 5 rules each, so one rule
must evaluate at least 1,000 times a second; this prints the rate and that ratio.

    .venv/bin/python bench/bench_formula.py
"""

from __future__ import annotations

import time

from crmctl.formula import EvalContext, compile_formula, parse

RULE = (
    "RecordType.DeveloperName = 'EmployerAgreement' && "
    "OR(ISNEW(), ISCHANGED(TAG_Status__c), ISCHANGED(TAG_Category__c)) && "
    "ISPICKVAL(TAG_Status__c, 'Godkjent') && ISPICKVAL(TAG_Category__c, '')"
)
TARGET_PER_SECOND = 1_000


def main() -> None:
    rule = compile_formula(parse(RULE))
    record = {"RecordType": {"DeveloperName": "EmployerAgreement"}, "TAG_Status__c": "Godkjent"}
    runs = 20_000
    started = time.perf_counter()
    for _ in range(runs):
        rule(EvalContext(record=record, is_new=True))
    rate = runs / (time.perf_counter() - started)
    print(f"{'measure':<32} {'result':>14} {'target':>10} {'ratio':>7}")
    print(
        f"{'rule evaluations per second':<32} {rate:>14,.0f} "
        f"{TARGET_PER_SECOND:>10,} {rate / TARGET_PER_SECOND:>6.1f}x"
    )


if __name__ == "__main__":
    main()
