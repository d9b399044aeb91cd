from __future__ import annotations

from decimal import Decimal

import pytest

import crmctl.formula
from crmctl.formula import FieldRef, FormulaError, field_references, parse
from crmctl.formula.ast import BinaryOp, Call, GlobalRef, Literal, Node, UnaryOp
from crmctl.formula.lexer import tokenize


def sexpr(node: Node) -> str:
    """A compact rendering of a tree, so tests can state the expected shape."""
    if isinstance(node, Literal):
        if node.value is None:
            return "NULL"
        if isinstance(node.value, bool):
            return "TRUE" if node.value else "FALSE"
        if isinstance(node.value, str):
            return repr(node.value)
        return str(node.value)
    if isinstance(node, (FieldRef, GlobalRef)):
        return node.name
    if isinstance(node, UnaryOp):
        return f"({node.op} {sexpr(node.operand)})"
    if isinstance(node, BinaryOp):
        return f"({node.op} {sexpr(node.left)} {sexpr(node.right)})"
    assert isinstance(node, Call)
    return "(" + " ".join([node.name, *(sexpr(a) for a in node.args)]) + ")"


def test_public_api() -> None:
    assert crmctl.formula.__all__ == [
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
    assert all(hasattr(crmctl.formula, name) for name in crmctl.formula.__all__)
    assert issubclass(crmctl.formula.FormulaEvalError, crmctl.formula.FormulaError)


def test_tokens_carry_kind_text_and_position() -> None:
    tokens = tokenize("AND(Name__c <> 'x',\r\n  $User.Id >= 1.5) /* done */")
    assert [(t.kind, t.text, t.line, t.column) for t in tokens] == [
        ("name", "AND", 1, 1),
        ("(", "(", 1, 4),
        ("name", "Name__c", 1, 5),
        ("<>", "<>", 1, 13),
        ("string", "'x'", 1, 16),
        (",", ",", 1, 19),
        ("global", "$User.Id", 2, 3),
        (">=", ">=", 2, 12),
        ("number", "1.5", 2, 15),
        (")", ")", 2, 18),
        ("end", "", 2, 30),
    ]
    assert tokens[8].value == Decimal("1.5")
    assert tokens[6].value == ("$User", "Id")


@pytest.mark.parametrize(
    ("source", "value"),
    [
        (r'"say \"hi\""', 'say "hi"'),
        (r"'it\'s'", "it's"),
        (r'"back\\slash"', "back\\slash"),
        (r'"two\nlines"', "two\nlines"),
        (r'"tab\there"', "tab\there"),
        ("'double \" inside single'", 'double " inside single'),
        ('"single \' inside double"', "single ' inside double"),
        ('""', ""),
        ('"Inngått avtale"', "Inngått avtale"),
        ('"spans\nlines"', "spans\nlines"),
    ],
)
def test_string_literals(source: str, value: str) -> None:
    node = parse(source)
    assert isinstance(node, Literal)
    assert node.value == value


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("42", Decimal(42)),
        ("3.25", Decimal("3.25")),
        (".5", Decimal("0.5")),
        ("TRUE", True),
        ("true", True),
        ("False", False),
        ("null", None),
        ("NULL", None),
    ],
)
def test_number_boolean_and_null_literals(source: str, value: object) -> None:
    node = parse(source)
    assert node == Literal(value, 1, 1)
    assert type(node.value) is type(value)


@pytest.mark.parametrize(
    ("source", "shape"),
    [
        ("1 + 2 * 3", "(+ 1 (* 2 3))"),
        ("(1 + 2) * 3", "(* (+ 1 2) 3)"),
        ("1 - 2 - 3", "(- (- 1 2) 3)"),
        ("8 / 4 / 2", "(/ (/ 8 4) 2)"),
        ("2 ^ 3 ^ 2", "(^ (^ 2 3) 2)"),
        ("-2 ^ 2", "(^ (- 2) 2)"),
        ("2 * 3 ^ 2", "(* 2 (^ 3 2))"),
        ("a || b && c", "(|| a (&& b c))"),
        ("a && b || c && d", "(|| (&& a b) (&& c d))"),
        ("a = b && c <> d", "(&& (= a b) (!= c d))"),
        ("a == b", "(= a b)"),
        ("a != b", "(!= a b)"),
        ("a < b || a <= b || a > b || a >= b", "(|| (|| (|| (< a b) (<= a b)) (> a b)) (>= a b))"),
        ("'x' & 1 + 2", "(& 'x' (+ 1 2))"),
        ("a & b = c", "(= (& a b) c)"),
        ("!a && b", "(&& (! a) b)"),
        ("!!a", "(! (! a))"),
        ("+a - -b", "(- (+ a) (- b))"),
        ("NOT(a) && !ISBLANK(b)", "(&& (NOT a) (! (ISBLANK b)))"),
        ("IF(a, 1, 2) + 3", "(+ (IF a 1 2) 3)"),
        ("OR (a, b)", "(OR a b)"),
        ("TEXT ( Source__c )", "(TEXT Source__c)"),
        ("isBlank(x)", "(isBlank x)"),
        ("ISNEW()", "(ISNEW)"),
        ("a\t&&\r\nb\r&&\nc", "(&& (&& a b) c)"),
        ("/* why */ a /* and\nwhy not */ + 1", "(+ a 1)"),
    ],
)
def test_precedence_and_shape(source: str, shape: str) -> None:
    assert sexpr(parse(source)) == shape


@pytest.mark.parametrize(
    ("source", "node_type", "parts"),
    [
        ("Name", FieldRef, ("Name",)),
        ("Region__c", FieldRef, ("Region__c",)),
        ("Account__r.Name", FieldRef, ("Account__r", "Name")),
        ("Account.Owner.Email", FieldRef, ("Account", "Owner", "Email")),
        ("RecordType.DeveloperName", FieldRef, ("RecordType", "DeveloperName")),
        ("$User.Id", GlobalRef, ("$User", "Id")),
        ("$Profile.Name", GlobalRef, ("$Profile", "Name")),
        ("$Permission.Arbeidsgiver", GlobalRef, ("$Permission", "Arbeidsgiver")),
        ("$Setup.Obj__c.Field__c", GlobalRef, ("$Setup", "Obj__c", "Field__c")),
        ("$Label.Error_Text", GlobalRef, ("$Label", "Error_Text")),
        (
            "$CustomMetadata.Type__mdt.Rec.Field__c",
            GlobalRef,
            ("$CustomMetadata", "Type__mdt", "Rec", "Field__c"),
        ),
    ],
)
def test_references(source: str, node_type: type, parts: tuple[str, ...]) -> None:
    assert parse(source) == node_type(parts, 1, 1)


def test_call_keeps_name_as_written_and_position() -> None:
    node = parse("x + \n  isPickVal(Status__c, 'Open')")
    assert isinstance(node, BinaryOp)
    assert node.right == Call(
        "isPickVal",
        (FieldRef(("Status__c",), 2, 13), Literal("Open", 2, 24)),
        2,
        3,
    )


def test_field_references_in_source_order_without_globals() -> None:
    node = parse(
        "AND(\n  ISCHANGED(Status__c),\n  TEXT(PRIORVALUE(Stage__c)) = 'x',\n"
        "  $User.Id = Owner.Id, Status__c <> NULL)"
    )
    refs = field_references(node)
    assert [(r.parts, r.line, r.column) for r in refs] == [
        (("Status__c",), 2, 13),
        (("Stage__c",), 3, 19),
        (("Owner", "Id"), 4, 14),
        (("Status__c",), 4, 24),
    ]


def test_field_references_of_a_long_chain_does_not_recurse() -> None:
    node = parse(" && ".join(f"F{i}__c" for i in range(3000)))
    refs = field_references(node)
    assert len(refs) == 3000
    assert refs[0].parts == ("F0__c",)
    assert refs[-1].parts == ("F2999__c",)


@pytest.mark.parametrize(
    ("source", "message", "line", "column"),
    [
        ("", "empty formula", 1, 1),
        ("  \n\t ", "empty formula", 1, 1),
        ("/* only a comment */", "empty formula", 1, 1),
        ('"abc', "unterminated string", 1, 1),
        ("AND(a, 'x)", "unterminated string", 1, 8),
        ("'ends with backslash\\", "unterminated string", 1, 1),
        ("a /* open", "unterminated comment", 1, 3),
        ("AND(a, b", "missing ')' to close '(' opened at column 4", 1, 9),
        ("(1 + 2", "missing ')' to close '(' opened at column 1", 1, 7),
        ("AND(OR(a, b)", "missing ')' to close '(' opened at column 4", 1, 13),
        ("IF(a,\n  b,\n  c", "missing ')' to close '(' opened at line 1, column 3", 3, 4),
        ("AND(a))", "unexpected ')'", 1, 7),
        (")", "unexpected ')'", 1, 1),
        ("AND(a,)", "unexpected ')'", 1, 7),
        ("AND(,a)", "unexpected ','", 1, 5),
        ("a b", "unexpected 'b'", 1, 3),
        ("Name = 'x' 'y'", "unexpected text 'y'", 1, 12),
        ("1 + 2 3", "unexpected '3'", 1, 7),
        ("1 +", "unexpected end of formula", 1, 4),
        ("a * * b", "unexpected '*'", 1, 5),
        ("(a b)", "unexpected 'b'", 1, 4),
        ("Account.Name(1)", "unexpected '('", 1, 13),
        ("a | b", "unexpected character '|'", 1, 3),
        ("a # b", "unexpected character '#'", 1, 3),
        ("$ = 1", "unexpected character '$'", 1, 1),
        ('REGEX(Phone, "\\d+")', "invalid escape sequence '\\d' in string", 1, 15),
        ("AND(\n  a,\n  b c\n)", "unexpected 'c'", 3, 5),
        ("AND(\r\n  a,\r\n  'open", "unterminated string", 3, 3),
    ],
)
def test_syntax_errors(source: str, message: str, line: int, column: int) -> None:
    with pytest.raises(FormulaError) as caught:
        parse(source)
    assert (caught.value.message, caught.value.line, caught.value.column) == (
        message,
        line,
        column,
    )


def test_formula_error_renders_its_position() -> None:
    with pytest.raises(FormulaError) as caught:
        parse("AND(\n  a,\n  b c)")
    assert str(caught.value) == "unexpected 'c' (formula line 3, column 5)"


def test_nesting_limit_is_a_formula_error_not_a_crash() -> None:
    with pytest.raises(FormulaError) as caught:
        parse("(" * 150 + "1" + ")" * 150)
    assert caught.value.message == "formula is nested too deeply"
    assert sexpr(parse("(" * 50 + "1" + ")" * 50)) == "1"


def test_polymorphic_references_name_the_object_they_are_read_as() -> None:
    from crmctl.formula import FieldRef, FormulaError, parse

    assert parse("Owner:User.Profile.Name") == FieldRef(("Owner:User", "Profile", "Name"), 1, 1)
    assert parse("Owner:Queue.Id") == FieldRef(("Owner:Queue", "Id"), 1, 1)
    # The object part is never last: `Owner:User` alone is not a field.
    with pytest.raises(FormulaError) as caught:
        parse("Owner:User")
    assert str(caught.value) == "unexpected character ':' (formula line 1, column 6)"
