"""Reading YAML with a line for every key: values, locations and the problems reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from crmctl.config.yamlsource import MAX_FILE_BYTES, parse_yaml_text, read_yaml_file
from crmctl.errors import SourceLocation

CONTROL_HINT = "remove it: control characters are not allowed in any text"


def problems(text: str) -> list[tuple[str, int, str | None]]:
    """(message, line, hint) of every problem `text` has."""
    _, found = parse_yaml_text(text, "f.yaml")
    return [(d.message, d.location.line, d.hint) for d in found]


def test_values_and_the_line_of_every_key() -> None:
    docs, found = parse_yaml_text(
        "# comment\nkind: Role\nmetadata:\n  name: CEO\nspec:\n  values:\n    - a\n    - {value: b}\n",
        "f.yaml",
    )
    assert found == []
    [doc] = docs
    assert doc.data == {
        "kind": "Role",
        "metadata": {"name": "CEO"},
        "spec": {"values": ["a", {"value": "b"}]},
    }
    assert doc.location == SourceLocation("f.yaml", 2)
    assert doc.source.location(("metadata", "name")) == SourceLocation("f.yaml", 4, 3)
    assert doc.source.location(("spec", "values", 1, "value")) == SourceLocation("f.yaml", 8, 8)
    # A path that does not exist is placed at its nearest ancestor.
    assert doc.source.location(("spec", "values", 1, "label")) == SourceLocation("f.yaml", 8, 7)
    assert doc.source.location(("nothing",)) == SourceLocation("f.yaml", 2)


def test_each_document_knows_its_first_line() -> None:
    docs, found = parse_yaml_text("a: 1\n---\n# two\nb: 2\n---\n\nc: 3\n", "f.yaml")
    assert found == []
    assert [(d.index, d.data, d.location.line) for d in docs] == [
        (0, {"a": 1}, 1),
        (1, {"b": 2}, 4),
        (2, {"c": 3}, 7),
    ]


def test_yes_no_and_dates_stay_strings() -> None:
    docs, _ = parse_yaml_text(
        "values: [Yes, No, on, off, y, n]\nflags: [true, false, True, FALSE]\nwhen: 2024-01-31\n",
        "f.yaml",
    )
    assert docs[0].data == {
        "values": ["Yes", "No", "on", "off", "y", "n"],
        "flags": [True, False, True, False],
        "when": "2024-01-31",
    }


def test_numbers_and_null() -> None:
    docs, _ = parse_yaml_text("a: 12\nb: 0x1F\nc: 1_000\nd: 2.5\ne: null\nf: ~\ng:\n", "f.yaml")
    assert docs[0].data == {"a": 12, "b": 31, "c": 1000, "d": 2.5, "e": None, "f": None, "g": None}


def test_block_scalar_value_location_and_style() -> None:
    docs, _ = parse_yaml_text(
        'spec:\n  condition: |\n    AND(\n      A)\n  plain: x\n  quoted: "y"\n',
        "f.yaml",
        values=True,
    )
    source = docs[0].source
    assert source.value_location(("spec", "condition")) == (SourceLocation("f.yaml", 2, 14), "|")
    assert source.value_location(("spec", "plain")) == (SourceLocation("f.yaml", 5, 10), None)
    assert source.value_location(("spec", "quoted")) == (SourceLocation("f.yaml", 6, 11), '"')


def test_value_positions_are_read_again_from_the_file_when_needed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Maps keep no value positions (memory); asking for one reads the file again."""
    monkeypatch.chdir(tmp_path)
    text = 'a: 1\n---\nspec:\n  condition: |\n    AND(\n      A)\n  quoted: "y"\n'
    Path("f.yaml").write_text(text)
    docs, _ = parse_yaml_text(text, "f.yaml")
    source = docs[1].source
    assert source.values is None
    assert source.value_location(("spec", "condition")) == (SourceLocation("f.yaml", 4, 14), "|")
    assert source.value_location(("spec", "quoted")) == (SourceLocation("f.yaml", 7, 11), '"')
    Path("f.yaml").unlink()
    gone = parse_yaml_text(text, "f.yaml")[0][1].source
    assert gone.value_location(("spec", "quoted")) == (SourceLocation("f.yaml", 7, 3), None)


def test_anchor_alias_and_merge_key() -> None:
    docs, found = parse_yaml_text(
        "base: &base {type: Text, label: A}\nvalues: &v [x, y]\n"
        "field:\n  <<: *base\n  label: B\n  values: *v\n",
        "f.yaml",
    )
    assert found == []
    assert docs[0].data["field"] == {"type": "Text", "label": "B", "values": ["x", "y"]}


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\u202e", "U+202E (RIGHT-TO-LEFT OVERRIDE)"),
        ("\u200b", "U+200B (ZERO WIDTH SPACE)"),
        ("\u2066", "U+2066 (LEFT-TO-RIGHT ISOLATE)"),
    ],
)
def test_a_control_character_written_as_itself_is_found_in_every_document(
    raw: str, shown: str
) -> None:
    # No escape anywhere: the whole-file search alone must send the parser to check strings,
    # in a later document too, and in a key as well as in a value.
    text = f"a: plain\n---\nlabel: Bo{raw}ard\n---\nB{raw}x: 1\n"
    assert problems(text) == [
        (f"label contains the control character {shown}", 3, CONTROL_HINT),
        (f"a key of the document contains the control character {shown}", 5, CONTROL_HINT),
    ]


def test_duplicate_key_names_both_lines() -> None:
    assert problems("spec:\n  label: A\n  type: Text\n  label: B\n") == [
        (
            "duplicate key 'label' (first defined on line 2)",
            4,
            "YAML keeps only the last value of a repeated key; remove one of them",
        )
    ]


def test_tab_indentation() -> None:
    assert problems("spec:\n\tlabel: A\n") == [
        ("invalid YAML: a tab character cannot indent YAML", 2, "indent with spaces")
    ]


def test_syntax_error_keeps_the_documents_before_it() -> None:
    docs, found = parse_yaml_text("a: 1\n---\nb: [1, 2\n", "f.yaml")
    assert [d.data for d in docs] == [{"a": 1}]
    assert [(d.message, d.location.line) for d in found] == [
        (
            "invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence on line 3)",
            4,
        )
    ]


def test_unsupported_tags_are_refused_on_scalars_lists_and_mappings() -> None:
    hint = "crmctl manifests use plain YAML: strings, numbers, booleans, lists and mappings"
    assert problems("a: !!python/object:os.system x\n") == [
        ("unsupported YAML tag tag:yaml.org,2002:python/object:os.system", 1, hint)
    ]
    assert problems("a: !!python/object/apply:os.system [echo]\n") == [
        ("unsupported YAML tag tag:yaml.org,2002:python/object/apply:os.system", 1, hint)
    ]
    assert problems("a:\n  b: !!python/name:os.system {x: 1}\n") == [
        ("unsupported YAML tag tag:yaml.org,2002:python/name:os.system", 2, hint)
    ]
    assert problems("a: !!set {x, y}\n") == [
        ("unsupported YAML tag tag:yaml.org,2002:set", 1, hint)
    ]


def test_nesting_is_limited() -> None:
    text = "a:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(70)) + "  " * 71 + "v: 1\n"
    assert problems(text) == [("document is nested too deeply", 66, None)]


@pytest.mark.parametrize(
    ("name", "separator"),
    [("a", ", "), ("a", ","), ("_-", ",\n    "), ("Z9", ", ")],
    ids=["spaced", "packed", "odd-name-one-per-line", "letters-and-digits"],
)
def test_aliases_of_aliases_cannot_expand_without_limit(name: str, separator: str) -> None:
    # Each spelling of an alias must be seen (a parser may skip the count for a text with
    # none), with a formula's `/* */` and `*` in the same file.
    lines = [f"note: OR(a /* why */, b * 2)\n{name}0: &{name}0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [
        f"{name}{i}: &{name}{i} [{separator.join([f'*{name}{i - 1}'] * 10)}]" for i in range(1, 9)
    ]
    found = problems("\n".join(lines) + "\n")
    assert [(message, hint) for message, _, hint in found] == [
        (
            "YAML aliases expand this document to more than 100000 values",
            "write the values out instead of nesting aliases of aliases",
        )
    ]
    if separator == ", ":
        assert found[0][1] == 6  # a4, the first list whose aliases go over the limit


def test_a_byte_order_mark_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes("\ufeffa: é\n".encode())
    docs, found = read_yaml_file(path, "bom.yaml")
    assert (found, docs[0].data) == ([], {"a": "é"})


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "logo.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    docs, found = read_yaml_file(path, "logo.yaml")
    assert docs == []
    assert [(d.render(), d.code) for d in found] == [
        ("logo.yaml: not a text file (it contains NUL bytes)", "not-text")
    ]


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("a: 1\nb: café\n".encode("latin-1"))
    _, found = read_yaml_file(path, "latin1.yaml")
    assert [(d.render(), d.hint) for d in found] == [
        (
            "latin1.yaml:2: not valid UTF-8 text (byte 0xe9 at offset 11)",
            "save the file as UTF-8",
        )
    ]


def test_file_just_over_the_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"# " + b"x" * (MAX_FILE_BYTES - 2) + b"\n")
    _, found = read_yaml_file(path, "big.yaml")
    assert [(d.render(), d.hint, d.code) for d in found] == [
        (
            "big.yaml: file is 5.0 MB; manifest files are limited to 5 MB",
            "split the resources over several files",
            "file-too-large",
        )
    ]


def test_file_that_cannot_be_read(tmp_path: Path) -> None:
    _, found = read_yaml_file(tmp_path / "missing.yaml", "missing.yaml")
    assert [(d.render(), d.code) for d in found] == [
        ("missing.yaml: cannot read file: No such file or directory", "io")
    ]


def test_key_positions_are_kept_packed_and_answer_for_each_document() -> None:
    docs, found = parse_yaml_text(
        "kind: Role\nspec:\n  label: A\n---\nkind: Role\nspec:\n  parent: X\n  label: B\n",
        "f.yaml",
    )
    assert found == []
    first, second = docs
    # Once built, a document's key positions are one bytes object, unpacked on demand.
    assert isinstance(first.source.packed, bytes)
    assert isinstance(second.source.packed, bytes)
    # Alternating between documents answers each from its own positions.
    for _ in range(2):
        assert first.source.location(("spec", "label")) == SourceLocation("f.yaml", 3, 3)
        assert second.source.location(("spec", "label")) == SourceLocation("f.yaml", 8, 3)
    assert second.source.key_line(("spec", "parent")) == 7
    assert first.source.key_line(("spec", "parent")) == 0


def test_short_strings_are_shared_between_documents() -> None:
    docs, _ = parse_yaml_text("type: Text\n---\ntype: Text\n", "f.yaml")
    assert docs[0].data["type"] is docs[1].data["type"]


def test_source_maps_compare_by_their_positions() -> None:
    text = "kind: Role\nspec:\n  label: A\n"
    [one], _ = parse_yaml_text(text, "f.yaml")
    [two], _ = parse_yaml_text(text, "f.yaml")
    [other], _ = parse_yaml_text("kind: Role\nspec:\n\n  label: A\n", "f.yaml")
    assert one.source == two.source
    assert one.source != other.source
