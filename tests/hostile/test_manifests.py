"""Hostile manifests: each is refused by `crmctl apply` with exit 1, naming the file, changing nothing."""

from __future__ import annotations

import json

import pytest

FILE = "manifests/hostile.yaml"
HEAD = "apiVersion: crmctl/v1\n"


def role(name: str = "Board", label: str = "Board", extra: str = "") -> str:
    return (
        f"{HEAD}kind: Role\nmetadata: {{name: {name}, owner: hr}}\nspec:\n  label: {label}\n{extra}"
    )


def permission_set(name: str = "Audit", label: str = "Audit", extra: str = "") -> str:
    return f"{HEAD}kind: PermissionSet\nmetadata: {{name: {name}, owner: security}}\nspec:\n  label: {label}\n{extra}"


def custom_object(name: str = "Ledger__c", label: str = "Ledger", extra: str = "") -> str:
    return f"{HEAD}kind: CustomObject\nmetadata: {{name: {name}, owner: finance}}\nspec:\n  label: {label}\n{extra}"


def field(name: str = "Invoice__c.Note__c", spec: str = "{type: Text, label: Note}") -> str:
    return f"{HEAD}kind: CustomField\nmetadata: {{name: {name}, owner: finance}}\nspec: {spec}\n"


def rule(
    name: str = "Invoice__c.Check", condition: str = "Amount__c > 10", message: str = "No."
) -> str:
    return (
        f"{HEAD}kind: ValidationRule\nmetadata: {{name: {name}, owner: finance}}\nspec:\n"
        f"  condition: {condition}\n  errorMessage: {message}\n"
    )


def duplicate_rule(name: str = "Invoice__c.Same_Due") -> str:
    return (
        f"{HEAD}kind: DuplicateRule\nmetadata: {{name: {name}, owner: finance}}\n"
        "spec:\n  match: [{field: Due__c}]\n"
    )


def user(
    name: str = "ines.moreau@northwind.example", email: str | None = None, extra: str = ""
) -> str:
    return (
        f"{HEAD}kind: User\nmetadata: {{name: {json.dumps(name)}, owner: hr}}\nspec:\n"
        f"  email: {json.dumps(email or name)}\n  lastName: Moreau\n{extra}"
    )


def retention(retain: str = "P7Y", name: str = "Invoice_Cleanup", extra: str = "") -> str:
    return (
        f"{HEAD}kind: RetentionPolicy\nmetadata: {{name: {name}, owner: finance}}\nspec:\n"
        f"  object: Invoice__c\n  dateField: Due__c\n  retain: {retain}\n  action: delete\n"
        f"  legalBasis: Tax law\n{extra}"
    )


# --- control characters, written as YAML escapes (the reader refuses raw ones) ----------
CONTROLS = {
    "NUL": ("\\0", "U+0000 (NUL)"),
    "BEL": ("\\a", "U+0007 (BEL)"),
    "BS": ("\\b", "U+0008 (BS)"),
    "ESC": ("\\e", "U+001B (ESC)"),
    "VT": ("\\v", "U+000B (VT)"),
    "FF": ("\\f", "U+000C (FF)"),
    "SOH": ("\\x01", "U+0001"),
    "US": ("\\x1f", "U+001F"),
    "DEL": ("\\x7f", "U+007F (DEL)"),
    "NEL": ("\\N", "U+0085 (NEL)"),
    "CSI": ("\\x9b", "U+009B"),
    "RLO": ("\\u202e", "U+202E (RIGHT-TO-LEFT OVERRIDE)"),
    "LRI": ("\\u2066", "U+2066 (LEFT-TO-RIGHT ISOLATE)"),
    "LS": ("\\L", "U+2028 (LINE SEPARATOR)"),
}
PLACES = {
    "role label": lambda t: role(label=f'"Bo{t}ard"'),
    "permission set label": lambda t: permission_set(label=f'"Au{t}dit"'),
    "field label": lambda t: field(spec=f'{{type: Text, label: "No{t}te"}}'),
    "object description": lambda t: custom_object(extra=f'  description: "A{t}b"\n'),
    "error message": lambda t: rule(message=f'"No{t}pe."'),
    "formula": lambda t: rule(condition=f'"Amount__c > 1{t}"'),
    "user last name": lambda t: user(extra="").replace(
        "lastName: Moreau", f'lastName: "Mo{t}reau"'
    ),
    "owner": lambda t: role().replace("owner: hr", f'owner: "h{t}r"'),
    "mapping key": lambda t: permission_set(extra=f'  objects: {{"Invoice__c{t}": [read]}}\n'),
}
#: Where each place's text is, as the message names it.
WHERE = {
    "role label": "spec.label",
    "permission set label": "spec.label",
    "field label": "spec.label",
    "object description": "spec.description",
    "error message": "spec.errorMessage",
    "formula": "spec.condition",
    "user last name": "spec.lastName",
    "owner": "metadata.owner",
    "mapping key": "a key of spec.objects",
}
CONTROL_CASES = [
    pytest.param(
        make(code),
        f"{WHERE[place]} contains the control character {shown}",
        id=f"{char}-in-{place}",
    )
    for char, (code, shown) in CONTROLS.items()
    for place, make in PLACES.items()
]


@pytest.mark.parametrize(("text", "message"), CONTROL_CASES)
def test_control_characters(hostile_project, refuse, text, message):
    (hostile_project / FILE).write_text(text)
    outcome = refuse("apply", "--auto-approve", names=FILE)
    assert message in outcome.err
    assert "hint: remove it: control characters are not allowed in any text" in outcome.err


RAW = {
    "raw ESC": b"\x1b",
    "raw BEL": b"\x07",
    "raw NUL": b"\x00",
    "raw C1": b"\xc2\x9b",
    "raw BOM mid-file": b"\xef\xbb\xbf",
}


@pytest.mark.parametrize("raw", RAW.values(), ids=RAW.keys())
def test_raw_control_characters(hostile_project, refuse, raw):
    (hostile_project / FILE).write_bytes(
        role().encode().replace(b"label: Board", b"label: Bo" + raw + b"ard")
    )
    refuse("apply", "--auto-approve", names=FILE)


# --- one-line texts ---------------------------------------------------------------------
ONE_LINE = {
    "tab in role label": (
        role(label='"Bo\\tard"'),
        "spec.label contains a tab; it must be one line",
    ),
    "newline in label": (permission_set(label='"Au\\ndit"'), "spec.label contains a line break"),
    "CR in field label": (
        field(spec='{type: Text, label: "No\\rte"}'),
        "spec.label contains a carriage return",
    ),
    "newline in picklist value": (
        field(spec='{type: Picklist, label: Stage, values: ["Open\\nClosed"]}'),
        "spec.values[0] contains a line break",
    ),
    "tab in picklist label": (
        field(spec='{type: Picklist, label: Stage, values: [{value: Open, label: "O\\tpen"}]}'),
        "spec.values[0].label contains a tab",
    ),
    "newline in first name": (
        user(extra='  firstName: "In\\nes"\n'),
        "spec.firstName contains a line break",
    ),
    "newline in plural label": (
        custom_object(extra='  pluralLabel: "Led\\ngers"\n'),
        "spec.pluralLabel contains a line break",
    ),
}


@pytest.mark.parametrize(("text", "message"), ONE_LINE.values(), ids=ONE_LINE.keys())
def test_one_line_texts(hostile_project, refuse, text, message):
    (hostile_project / FILE).write_text(text)
    assert message in refuse("apply", "--auto-approve", names=FILE).err


# --- names and labels longer than the CRM allows (the sandbox's limits are Salesforce's) ----
LONG = {
    "role name 81": (
        role(name="R" * 81),
        "is 81 characters long; sandbox allows at most 80 for a Role name",
    ),
    "role name 100000": (
        role(name="R" * 100_000),
        # the address is cut to 120 characters so the line stays readable
        "Role/"
        + "R" * 112
        + "...: metadata.name is 100000 characters long; at most 255 are allowed",
    ),
    "permission set name 81": (
        permission_set(name="P" * 81),
        "sandbox allows at most 80 for a PermissionSet name",
    ),
    "permission set name 100000": (
        permission_set(name="P" * 100_000),
        "metadata.name is 100000 characters long; at most 255 are allowed",
    ),
    "object name 41": (
        custom_object(name="O" * 41 + "__c"),
        "is 41 characters long; sandbox allows at most 40 for a CustomObject name",
    ),
    "field name 41": (
        field(name="Invoice__c." + "F" * 41 + "__c"),
        "sandbox allows at most 40 for a CustomField name",
    ),
    "rule name 41": (
        rule(name="Invoice__c." + "V" * 41),
        "sandbox allows at most 40 for a ValidationRule name",
    ),
    "duplicate rule name 81": (
        duplicate_rule(name="Invoice__c." + "D" * 81),
        "sandbox allows at most 80 for a DuplicateRule name",
    ),
    "retention name 81": (
        retention(name="K" * 81),
        "sandbox allows at most 80 for a RetentionPolicy name",
    ),
    "username 81": (
        user(name="u" * 69 + "@example.com"),
        "sandbox allows at most 80 for a User name",
    ),
    "role label 81": (
        role(label="L" * 81),
        "spec.label is 81 characters long; at most 80 are allowed",
    ),
    "permission set label 81": (
        permission_set(label="L" * 81),
        "spec.label is 81 characters long; at most 80 are allowed",
    ),
    "object label 41": (
        custom_object(label="L" * 41),
        "spec.label is 41 characters long; at most 40 are allowed",
    ),
    "field label 41": (
        field(spec="{type: Text, label: " + "L" * 41 + "}"),
        "spec.label is 41 characters long",
    ),
    "error message 256": (rule(message="E" * 256), "spec.errorMessage is 256 characters long"),
    "rule description 256": (
        rule() + "  description: " + "d" * 256 + "\n",
        "spec.description is 256 characters long; sandbox allows at most 255",
    ),
    "permission set description 256": (
        permission_set(extra="  description: " + "d" * 256 + "\n"),
        "spec.description is 256 characters long; sandbox allows at most 255",
    ),
    "formula 3901": (
        rule(condition='"Amount__c > 1' + " " * 3888 + '"'),
        "spec.condition is 3901 characters long; sandbox allows at most 3900",
    ),
    "formula 10001": (
        rule(condition='"Amount__c > 1' + " " * 9988 + '"'),
        "spec.condition is 10001 characters long; at most 10000 are allowed",
    ),
    "formula chain too deep to run": (
        rule(condition="'" + " + ".join(["Id"] * 1900) + " > 1'"),
        "spec.condition: formula is nested too deeply",
    ),
    "legal basis 1001": (
        retention(extra="").replace("legalBasis: Tax law", "legalBasis: " + "t" * 1001),
        "spec.legalBasis is 1001 characters long; at most 1000 are allowed",
    ),
    "metadata label 1001": (
        role().replace("owner: hr", "owner: hr, labels: {team: " + "x" * 1001 + "}"),
        "metadata.labels.team is 1001 characters long; at most 1000 are allowed",
    ),
    "owner 256": (
        role().replace("owner: hr", "owner: " + "o" * 256),
        "metadata.owner is 256 characters long",
    ),
    "first name 41": (
        user(extra="  firstName: " + "F" * 41 + "\n"),
        "spec.firstName is 41 characters long",
    ),
    "last name 81": (
        user().replace("lastName: Moreau", "lastName: " + "M" * 81),
        "spec.lastName is 81 characters long",
    ),
}


@pytest.mark.parametrize(("text", "message"), LONG.values(), ids=LONG.keys())
def test_names_and_labels_longer_than_the_crm_allows(hostile_project, refuse, text, message):
    (hostile_project / FILE).write_text(text)
    assert message in refuse("apply", "--auto-approve", names=FILE).err


# --- names that differ only in case -----------------------------------------------------
CASE_TWINS = {
    "Role": (
        role(name="ceo"),
        "Role/ceo: differs only in case from Role/CEO at manifests/access.yaml:1",
    ),
    "PermissionSet": (
        permission_set(name="BILLING"),
        "PermissionSet/BILLING: differs only in case from PermissionSet/Billing at manifests/access.yaml:6",
    ),
    "CustomObject": (
        custom_object(name="invoice__c"),
        "differs only in case from CustomObject/Invoice__c at manifests/objects.yaml:1",
    ),
    "CustomField": (
        field(name="Invoice__c.amount__c", spec="{type: Number, label: A}"),
        "differs only in case from CustomField/Invoice__c.Amount__c",
    ),
    "ValidationRule": (
        rule(name="invoice__c.positive_amount"),
        "differs only in case from ValidationRule/Invoice__c.Positive_Amount",
    ),
    "User": (
        user(name="Priya.Shah@northwind.example"),
        "differs only in case from User/priya.shah@northwind.example",
    ),
    "DuplicateRule": (
        duplicate_rule() + "---\n" + duplicate_rule("invoice__c.same_due"),
        "differs only in case from DuplicateRule/Invoice__c.Same_Due at manifests/twin.yaml:1",
    ),
    "RetentionPolicy": (
        retention() + "---\n" + retention(name="INVOICE_CLEANUP"),
        "differs only in case from RetentionPolicy/Invoice_Cleanup at manifests/twin.yaml:1",
    ),
    "sales_rep": (
        permission_set(name="sales_rep") + "---\n" + permission_set(name="Sales_Rep"),
        "PermissionSet/Sales_Rep: differs only in case from PermissionSet/sales_rep",
    ),
}


CASE_TWINS_INSIDE = {
    "object permissions": (
        permission_set(extra="  objects: {Invoice__c: [read], invoice__c: [read, edit]}\n"),
        "spec.objects names 'Invoice__c' twice, the second time as 'invoice__c'",
    ),
    "field permissions": (
        permission_set(extra="  fields: {Invoice__c.Due__c: [read], INVOICE__C.DUE__C: [read]}\n"),
        "spec.fields names 'Invoice__c.Due__c' twice, the second time as 'INVOICE__C.DUE__C'",
    ),
    "user permission sets": (
        user(extra="  permissionSets: [Billing, billing]\n"),
        "spec.permissionSets[1] repeats 'Billing' in another case",
    ),
    "anonymized fields": (
        retention(extra="").replace(
            "action: delete", "action: anonymize\n  anonymizeFields: [Due__c, due__c]"
        ),
        "spec.anonymizeFields[1] repeats 'Due__c' in another case",
    ),
}


@pytest.mark.parametrize(
    ("text", "message"), CASE_TWINS_INSIDE.values(), ids=CASE_TWINS_INSIDE.keys()
)
def test_names_repeated_in_another_case_inside_a_spec(hostile_project, refuse, text, message):
    (hostile_project / FILE).write_text(text)
    outcome = refuse("apply", "--auto-approve", names=FILE)
    assert message in outcome.err
    assert "hint: API names are case-insensitive in every CRM; keep one" in outcome.err


@pytest.mark.parametrize(("text", "message"), CASE_TWINS.values(), ids=CASE_TWINS.keys())
def test_names_that_differ_only_in_case(hostile_project, refuse, text, message):
    twin = "manifests/twin.yaml"  # read after access.yaml and objects.yaml
    (hostile_project / twin).write_text(text)
    outcome = refuse("apply", "--auto-approve", names=twin)
    assert message in outcome.err
    assert "hint: API names are case-insensitive in every CRM" in outcome.err


# --- usernames and emails with look-alike letters ---------------------------------------
CONFUSABLES = {
    "cyrillic i in username": (
        "pr\u0456ya.shah@northwind.example",
        None,
        "the username contains the non-ASCII character U+0456",
    ),
    "cyrillic a in username": (
        "priy\u0430.shah@northwind.example",
        None,
        "U+0430 (CYRILLIC SMALL LETTER A) at position 5",
    ),
    "greek omicron in domain": (
        "ines@n\u03bfrthwind.example",
        None,
        "U+03BF (GREEK SMALL LETTER OMICRON)",
    ),
    "fullwidth letter": ("\uff49nes@northwind.example", None, "U+FF49"),
    "zero-width space": (
        "in\u200bes@northwind.example",
        None,
        "U+200B (ZERO WIDTH SPACE) at position 3",
    ),
    "accented username": ("in\u00e8s@northwind.example", None, "U+00E8"),
    "cyrillic email": (
        "ines@northwind.example",
        "in\u0435s@northwind.example",
        "spec.email contains the non-ASCII character U+0435",
    ),
    "idn email domain": (
        "ines@northwind.example",
        "ines@n\u00f6rthwind.example",
        "spec.email contains the non-ASCII character U+00F6",
    ),
}


@pytest.mark.parametrize(("name", "email", "message"), CONFUSABLES.values(), ids=CONFUSABLES.keys())
def test_non_ascii_usernames_and_emails(hostile_project, refuse, name, email, message):
    (hostile_project / FILE).write_text(user(name=name, email=email))
    assert message in refuse("apply", "--auto-approve", names=FILE).err


# --- REGEX() patterns -------------------------------------------------------------------
REGEXES = {
    "unclosed class": ("'['", "missing ]: ["),
    "unclosed group": ("'('", "missing ): ("),
    "nothing to repeat": ("'*a'", "no argument for repetition operator: *"),
    "backreference": ("'(a)\\\\\\\\1'", "backreferences (\\1) are not supported"),
    "lookahead": ("'(?=a)a'", "lookahead '(?=...)' is not supported"),
    "negative lookahead": ("'(?!a)b'", "negative lookahead '(?!...)' is not supported"),
    "lookbehind": ("'(?<=a)b'", "lookbehind '(?<=...)' is not supported"),
    "atomic group": ("'(?>a)'", "atomic groups '(?>...)' is not supported"),
    "possessive": ("'a*+'", "bad repetition operator: *+"),
    "repeat over 1000": ("'a{1001}'", "invalid repetition size: {1001}"),
    "java class": ("'\\\\\\\\p{javaLowerCase}'", "invalid character class range"),
    "upper Z anchor": ("'a\\\\\\\\Z'", "invalid escape sequence: \\Z"),
    "bad range": ("'[z-a]'", "invalid character class range: z-a"),
    "too long": ("'" + "a" * 2001 + "'", "the pattern is 2001 characters long"),
}


@pytest.mark.parametrize(("pattern", "message"), REGEXES.values(), ids=REGEXES.keys())
def test_regex_patterns_are_compiled_at_validate(hostile_project, refuse, pattern, message):
    (hostile_project / FILE).write_text(rule(condition=f'"REGEX(Name, {pattern})"'))
    outcome = refuse("apply", "--auto-approve", names=f"{FILE}:5")
    assert "REGEX pattern is not usable: " + message in outcome.err


# --- numbers ----------------------------------------------------------------------------
NUMBERS = {
    "4301-digit length": (
        field(spec="{type: Text, label: N, length: " + "9" * 4301 + "}"),
        "number with 4301 characters",
    ),
    "100000-digit precision": (
        field(spec="{type: Number, label: N, precision: " + "1" * 100_000 + "}"),
        "number with 100000 characters",
    ),
    "negative huge scale": (
        field(spec="{type: Number, label: N, scale: -" + "1" * 5000 + "}"),
        "number with 5001 characters",
    ),
    "huge hex": (
        field(spec="{type: Text, label: N, length: 0x" + "f" * 5000 + "}"),
        "number with 5002 characters",
    ),
    "huge default": (
        field(spec="{type: Number, label: N, defaultValue: " + "7" * 5000 + "}"),
        "number with 5000 characters",
    ),
    "1e999 default": (
        field(spec="{type: Number, label: N, defaultValue: 1e999}"),
        "defaultValue 1e999 has 1000 digits before the decimal point; precision 18 with scale 0 allows 18",
    ),
    "-1e999 default": (
        field(spec="{type: Number, label: N, defaultValue: -1e999}"),
        "defaultValue -1e999 has 1000 digits before the decimal point",
    ),
    "inf default": (
        field(spec="{type: Number, label: N, defaultValue: .inf}"),
        ".inf is not a finite number",
    ),
    "nan default": (
        field(spec="{type: Number, label: N, defaultValue: .nan}"),
        ".nan is not a finite number",
    ),
    "long float": (
        field(spec="{type: Number, label: N, defaultValue: 1." + "5" * 60 + "}"),
        "number with 62 characters",
    ),
    "length too big": (
        field(spec="{type: LongTextArea, label: N, length: 131073}"),
        "spec.length must be at most 131072",
    ),
    "precision zero": (
        field(spec="{type: Number, label: N, precision: 0}"),
        "spec.precision must be at least 1",
    ),
    "negative length": (
        field(spec="{type: Text, label: N, length: -1}"),
        "spec.length must be at least 1",
    ),
    "float length": (
        field(spec="{type: Text, label: N, length: 2.5}"),
        "spec.length must be a whole number",
    ),
    "huge number key": (
        f"{HEAD}kind: Role\nmetadata: {{name: X, owner: hr}}\nspec: {{label: X, {'9' * 1000}: 1}}\n",
        "number with 1000 characters",
    ),
}


@pytest.mark.parametrize(("text", "message"), NUMBERS.values(), ids=NUMBERS.keys())
def test_numbers_are_bounded(hostile_project, refuse, text, message):
    (hostile_project / FILE).write_text(text)
    assert message in refuse("apply", "--auto-approve", names=FILE).err


# --- retention periods -------------------------------------------------------------------
PERIODS = {
    "P0D": ("P0D", "retain P0D is zero"),
    "P0Y": ("P0Y", "retain P0Y is zero"),
    "P0Y0M0W0D": ("P0Y0M0W0D", "retain P0Y0M0W0D is zero"),
    "P00000D": ("P00000D", "retain P00000D is zero"),
    "P99999999999999Y": ("P99999999999999Y", "retain P99999999999999Y is more than a century"),
    "P101Y": ("P101Y", "retain P101Y is more than a century"),
    "P1201M": ("P1201M", "retain P1201M is more than a century"),
    "P5219W": ("P5219W", "retain P5219W is more than a century"),
    "P36526D": ("P36526D", "retain P36526D is more than a century"),
    "P100Y1D": ("P100Y1D", "retain P100Y1D is more than a century"),
    "5000-digit years": ("P" + "9" * 5000 + "Y", "is more than a century"),
    "negative": ("P-1D", "retain must be an ISO-8601 period"),
    "no unit": ("P7", "retain must be an ISO-8601 period"),
    "time part": ("PT5H", "retain must be an ISO-8601 period"),
    "number": ("7", "retain must be an ISO-8601 period such as P7Y, P18M or P90D (got 7)"),
}


@pytest.mark.parametrize(("retain", "message"), PERIODS.values(), ids=PERIODS.keys())
def test_retention_periods_are_positive_and_under_a_century(
    hostile_project, refuse, retain, message
):
    (hostile_project / FILE).write_text(retention(retain))
    assert message in refuse("apply", "--auto-approve", names=FILE).err
