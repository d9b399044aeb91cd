"""The formula language of CRM validation rules (Salesforce syntax).

Parse once, then check statically (`crmctl validate`) or evaluate against
records (the sandbox CRM)::

    node = parse('AND(ISPICKVAL(Status__c, "Closed"), ISBLANK(Reason__c))')
    problems = check(node, lookup)        # list[FormulaError], never raised
    rule = compile_formula(node)          # reuse for every record
    rule(EvalContext(record={"Status__c": "Closed"}))   # -> True

Exception tree::

    FormulaError           a syntax or check problem at a line and column
     └── FormulaEvalError  a formula that failed while being evaluated
"""

from __future__ import annotations

from .ast import FieldRef, FormulaError, FormulaEvalError, Node, field_references
from .checker import check
from .evaluator import EvalContext, compile_formula, evaluate
from .parser import parse

__all__ = [
    "FormulaError",
    "FormulaEvalError",
    "Node",
    "FieldRef",
    "parse",
    "field_references",
    "check",
    "EvalContext",
    "compile_formula",
    "evaluate",
]
