"""Read YAML documents and remember where every key came from.

Manifests are reviewed by people, so every error must name the file and the
line of the offending key. PyYAML's composer gives us nodes with marks; we
build the Python values ourselves from those nodes in one pass and record a
line for every path on the way.

Two deliberate departures from YAML 1.1, because they bite CRM admins:
`yes`/`no`/`on`/`off` stay strings (picklist values "Yes" and "No" are
common) and unquoted dates stay strings (the schemas decide what a date is).
"""

from __future__ import annotations

import marshal
import math
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from sys import intern
from typing import Any, NoReturn

import yaml

from crmctl.config.files import FileRefused, read_limited
from crmctl.config.text import control_character, may_hold_control_character
from crmctl.errors import Diagnostic, SourceLocation
from crmctl.model import Path_

__all__ = [
    "YamlDocument",
    "SourceMap",
    "read_yaml_file",
    "parse_yaml_text",
    "MAX_FILE_BYTES",
    "MAX_NUMBER_CHARS",
]

#: Larger manifest files are refused: they are almost certainly not hand-written
#: configuration, and parsing them would make `validate` slow for everyone.
MAX_FILE_BYTES = 5 * 1024 * 1024


_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):
    """SafeLoader with YAML 1.2-style booleans and no implicit timestamps."""


_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_MAX_DEPTH = 64
#: A line that starts a new YAML document: where parsing resumes after a syntax error.
_DOCUMENT_START = re.compile(r"^---(?:[ \t]|$)")
#: What every alias starts with: libyaml and PyYAML read an alias name of these characters
#: only, right after the `*`. A text without it has no alias (`/* ... */` or `a * b` are not).
_ALIAS = re.compile(r"\*[0-9A-Za-z_-]")
#: Aliases share one node, so a small file can expand exponentially ("billion
#: laughs"); no hand-written manifest repeats anywhere near this many values.
_MAX_ALIAS_VALUES = 100_000
#: Numbers are refused before conversion past this many characters: Python
#: refuses integers of more than 4,300 digits, and no CRM field holds even 40.
MAX_NUMBER_CHARS = 40


#: A position packed in one int (line * _LINE + column): a tuple of two ints costs three
#: objects, and a large org has a few million positions.
_LINE = 1 << 23  # columns stay below this (files are limited to 5 MB)


def _pack(line: int, column: int) -> int:
    return line * _LINE + column


#: The key positions most recently unpacked (see `SourceMap.keys`): (packed bytes, positions).
#: Messages about one document come together, so one entry saves nearly every unpacking.
_unpacked: tuple[bytes, dict[Path_, int]] | None = None


class SourceMap:
    """Where each path of one YAML document is: path -> position (line, column), 1-based.

    For a mapping key the position is the key's. The position and YAML style
    of scalar values (formulas need them, and only to place an error) are not
    kept: `value_location` reads the file again for them, so a large org does
    not hold a position for every value. Positions are stored packed (see
    `_pack`); use `location` and `value_location`.

    Once a document is built its key positions are packed into one bytes object
    (`pack`, marshal's format): a large org has millions of keys, and a dict of
    path tuples costs about five times as much. They are unpacked when a message
    needs a line (`keys`), which is rare.
    """

    __slots__ = ("file", "start_line", "_keys", "packed", "values", "styles")

    def __init__(
        self,
        file: str,
        start_line: int,
        keys: dict[Path_, int] | None = None,
        packed: bytes | None = None,
    ) -> None:
        self.file = file
        self.start_line = start_line
        self._keys: dict[Path_, int] | None = (
            keys if keys is not None else ({} if packed is None else None)
        )
        #: The key positions as `marshal.dumps` wrote them, once packed (`_keys` is then None).
        self.packed = packed
        #: Scalar values' positions and non-plain styles: None until `value_location` needs them.
        self.values: dict[Path_, int] | None = None
        self.styles: dict[Path_, str] | None = None

    def __repr__(self) -> str:
        return f"SourceMap({self.file!r}, {self.start_line})"

    def __eq__(self, other: object) -> bool:
        """Equal positions (as when it was a dataclass), packed or not."""
        if not isinstance(other, SourceMap):
            return NotImplemented
        if (self.file, self.start_line, self.values, self.styles) != (
            other.file,
            other.start_line,
            other.values,
            other.styles,
        ):
            return False
        if self.packed is not None and self.packed == other.packed:
            return True
        mine = dict(self.keys)  # `keys` of the other may unpack over the shared entry
        return mine == other.keys

    __hash__ = None  # type: ignore[assignment]

    @property
    def keys(self) -> dict[Path_, int]:
        """Path -> packed position of every mapping key and sequence item (do not modify)."""
        if self._keys is not None:
            return self._keys
        global _unpacked
        packed = self.packed or b""
        entry = _unpacked  # read once: another thread may replace it meanwhile
        if entry is None or entry[0] is not packed:
            entry = (packed, marshal.loads(packed) if packed else {})
            _unpacked = entry
        return entry[1]

    def pack(self) -> None:
        """Keep the key positions packed from now on (see the class docstring)."""
        if self._keys is not None:
            self.packed = marshal.dumps(self._keys)
            self._keys = None

    def location(self, path: Path_ = ()) -> SourceLocation:
        """The location of `path`, or of its nearest ancestor that has one."""
        path = tuple(path)
        if not path:
            return SourceLocation(self.file, self.start_line)
        keys = self.keys
        while path:
            packed = keys.get(path)
            if packed is not None:
                return SourceLocation(self.file, packed // _LINE, packed % _LINE)
            path = path[:-1]
        return SourceLocation(self.file, self.start_line)

    def key_line(self, path: Path_) -> int:
        """The line of the key at `path` (0 when none is recorded)."""
        return self.keys.get(tuple(path), 0) // _LINE

    def value_location(self, path: Path_) -> tuple[SourceLocation, str | None]:
        """Location of a scalar value and its YAML style ('|', '>', '"', "'" or None)."""
        path = tuple(path)
        if self.values is None:
            self._read_values()
        packed = self.values.get(path) if self.values is not None else None
        if packed is not None:
            return (
                SourceLocation(self.file, packed // _LINE, packed % _LINE),
                (self.styles or {}).get(path),
            )
        return self.location(path), None

    def _read_values(self) -> None:
        """Parse the file again, recording values, and take this document's (if it is still there)."""
        self.values, self.styles = {}, {}
        try:
            text = Path(self.file).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            return
        docs, _ = parse_yaml_text(text, self.file, values=True)
        for doc in docs:
            if doc.source.start_line == self.start_line:
                self.values, self.styles = doc.source.values, doc.source.styles
                return


@dataclass
class YamlDocument:
    """One YAML document of a file: its value, its index in the file and its source map."""

    data: Any
    index: int
    source: SourceMap

    @property
    def location(self) -> SourceLocation:
        return SourceLocation(self.source.file, self.source.start_line)


class _BuildError(Exception):
    def __init__(self, message: str, line: int, column: int, hint: str | None = None) -> None:
        super().__init__(message)
        self.message, self.line, self.column, self.hint = message, line, column, hint


#: Strings up to this long are interned: a large org repeats the same few values (types,
#: classifications, owners, permission words) hundreds of thousands of times.
_INTERN_CHARS = 32


def _scalar(node: yaml.ScalarNode, loader: Any) -> Any:
    tag, value = node.tag, node.value
    if tag == _STR:
        return intern(value) if len(value) <= _INTERN_CHARS else value
    if tag == _NULL:
        return None
    if tag == _BOOL:
        return value.lower() == "true"
    if tag == _INT:
        if len(value) > MAX_NUMBER_CHARS:
            _too_long_number(node)
        try:
            return (
                int(value.replace("_", ""), 0)
                if value[:2].lower() in ("0x", "0o", "0b")
                else int(value.replace("_", ""))
            )
        except ValueError:
            return loader.construct_yaml_int(node)
    if tag == _FLOAT:
        if len(value) > MAX_NUMBER_CHARS:
            _too_long_number(node)
        number = loader.construct_yaml_float(node)
        if not math.isfinite(number):
            mark = node.start_mark
            raise _BuildError(
                f"{value} is not a finite number",
                mark.line + 1,
                mark.column + 1,
                "write a number a CRM can store, or quote the value to make it text",
            )
        return number
    _unsupported_tag(node)


def _too_long_number(node: Any) -> NoReturn:
    mark = node.start_mark
    raise _BuildError(
        f"number with {len(node.value)} characters; numbers are limited to {MAX_NUMBER_CHARS}",
        mark.line + 1,
        mark.column + 1,
        "no CRM field holds such a number; quote the value if it is meant as text",
    )


def _unsupported_tag(node: Any) -> NoReturn:
    mark = node.start_mark
    raise _BuildError(
        f"unsupported YAML tag {node.tag}",
        mark.line + 1,
        mark.column + 1,
        "crmctl manifests use plain YAML: strings, numbers, booleans, lists and mappings",
    )


def _dotted(path: Path_) -> str:
    """`spec.values[2]` for ("spec", "values", 2); a key with control characters is shown escaped."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            shown = part if part.isprintable() else repr(part)
            text += f".{shown}" if text else shown
    return text


class _Expansion:
    """The nodes of one document seen so far, and how many values aliases re-built."""

    def __init__(self, check: bool = True, aliases: bool = True) -> None:
        #: Whether a string of the document can hold a control character (else none is checked).
        self.check = check
        #: Whether the document can use an alias (see `_ALIAS`).
        self.aliases = aliases
        self.seen: set[int] = set()
        self.aliased = 0
        self.site = SourceLocation("")
        self.problems: list[_BuildError] = []  # found while building, reported with the document

    def check_text(self, node: yaml.ScalarNode, path: Path_, key: bool = False) -> None:
        """Record a control character in a string (YAML escapes such as "\\e" let them in).

        `path` is where the string is (a key of that mapping with `key`); it is spelled
        out only for a problem, since almost every string has none.
        """
        found = control_character(node.value)
        if found is not None:
            what = _dotted(path) or "the document"
            if key:
                what = f"a key of {what}"
            mark = node.start_mark
            self.problems.append(
                _BuildError(
                    f"{what} contains the control character {found}",
                    mark.line + 1,
                    mark.column + 1,
                    "remove it: control characters are not allowed in any text",
                )
            )

    def visit(self, node: Any, aliased: bool, smap: SourceMap, path: Path_) -> bool:
        """Whether `node` is being built again through an alias; refuse runaway expansion."""
        if not aliased and id(node) in self.seen:
            aliased = True
            # Where the alias is used: an alias list item has only its anchor's position.
            self.site = smap.location(path[:-1] if path and isinstance(path[-1], int) else path)
        self.seen.add(id(node))
        if aliased:
            self.aliased += 1
            if self.aliased > _MAX_ALIAS_VALUES:
                raise _BuildError(
                    f"YAML aliases expand this document to more than {_MAX_ALIAS_VALUES} values",
                    self.site.line,
                    self.site.column,
                    "write the values out instead of nesting aliases of aliases",
                )
        return aliased


def _build(
    node: Any,
    path: Path_,
    smap: SourceMap,
    loader: Any,
    expansion: _Expansion,
    depth: int = 0,
    aliased: bool = False,
) -> Any:
    if depth > _MAX_DEPTH:
        mark = node.start_mark
        raise _BuildError("document is nested too deeply", mark.line + 1, mark.column + 1)
    if expansion.aliases:
        aliased = expansion.visit(node, aliased, smap, path)
    if isinstance(node, yaml.ScalarNode):
        mark = node.start_mark
        if smap.values is not None:
            smap.values[path] = _pack(mark.line + 1, mark.column + 1)
            if node.style and smap.styles is not None:
                smap.styles[path] = node.style
        if expansion.check and node.tag == _STR and not aliased:
            expansion.check_text(node, path)
        return _scalar(node, loader)
    if isinstance(node, yaml.SequenceNode | yaml.MappingNode) and node.tag not in (_SEQ, _MAP):
        _unsupported_tag(node)
    if isinstance(node, yaml.SequenceNode):
        out = []
        for i, item in enumerate(node.value):
            child = (*path, i)
            smap.keys.setdefault(child, _pack(item.start_mark.line + 1, item.start_mark.column + 1))
            out.append(_build(item, child, smap, loader, expansion, depth + 1, aliased))
        return out
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                sources = (
                    value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                )
                for src in sources:
                    built = _build(src, path, smap, loader, expansion, depth + 1, aliased)
                    if isinstance(built, dict):
                        merged = {**built, **merged}
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                mark = key_node.start_mark
                raise _BuildError(
                    "mapping keys must be plain strings", mark.line + 1, mark.column + 1
                )
            # Interned: the same few keys recur in every resource of a large org.
            key = intern(str(_scalar(key_node, loader)) if key_node.tag != _STR else key_node.value)
            if expansion.check and not aliased:
                expansion.check_text(key_node, path, key=True)
            mark = key_node.start_mark
            child = (*path, key)
            if key in result:
                first = smap.key_line(child)
                raise _BuildError(
                    f"duplicate key '{key}' (first defined on line {first})",
                    mark.line + 1,
                    mark.column + 1,
                    "YAML keeps only the last value of a repeated key; remove one of them",
                )
            smap.keys[child] = _pack(mark.line + 1, mark.column + 1)
            result[key] = _build(value_node, child, smap, loader, expansion, depth + 1, aliased)
        for key, value in merged.items():
            result.setdefault(key, value)
        return result
    mark = node.start_mark
    raise _BuildError("unsupported YAML node", mark.line + 1, mark.column + 1)


def _syntax_diagnostic(file: str, text: str, exc: yaml.MarkedYAMLError) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else 0
    column = mark.column + 1 if mark else 0
    problem = exc.problem or "invalid YAML"
    hint = None
    bad_line = text.splitlines()[line - 1] if 0 < line <= len(text.splitlines()) else ""
    if "\t" in bad_line[: max(column, 1)] or "tab" in problem.lower():
        problem = "a tab character cannot indent YAML"
        hint = "indent with spaces"
    elif exc.context:
        problem = f"{problem} ({exc.context}"
        if exc.context_mark and exc.context_mark is not mark:
            problem += f" on line {exc.context_mark.line + 1}"
        problem += ")"
    return Diagnostic(
        f"invalid YAML: {problem}",
        SourceLocation(file, line, column),
        hint=hint,
        code="yaml-syntax",
    )


def parse_yaml_text(
    text: str, file: str, values: bool = False
) -> tuple[list[YamlDocument], list[Diagnostic]]:
    """Parse every document of `text`; return the documents and any problems.

    With `values`, the source maps also hold the position and style of every scalar value.

    A syntax error loses the document it is in (YAML cannot be resumed
    mid-document), but the documents before it are kept and parsing resumes
    at the next `---` line after it, so one broken line hides no other
    document. A document that parses but cannot be built (a duplicate key)
    is skipped on its own.
    """
    lines = text.split("\n")
    docs: list[YamlDocument] = []
    problems: list[Diagnostic] = []
    start = 0
    while True:
        # Blank lines in place of what was read keep every line number where it was.
        shown = text if start == 0 else "\n" * start + "\n".join(lines[start:])
        found, found_problems, failed_line = _parse_pass(shown, file, len(docs), values)
        docs += found
        problems += found_problems
        if not failed_line:
            return docs, problems
        after = max(failed_line - 1, start + 1)
        resume = next(
            (i for i in range(after, len(lines)) if _DOCUMENT_START.match(lines[i])), None
        )
        if resume is None:
            return docs, problems
        start = resume


def _parse_pass(
    text: str, file: str, index: int, values: bool = False
) -> tuple[list[YamlDocument], list[Diagnostic], int]:
    """Parse documents until the end or a syntax error: (documents, problems, line of the
    syntax error to resume after, or 0)."""
    docs: list[YamlDocument] = []
    problems: list[Diagnostic] = []
    loader = _Loader(text)
    # Two questions answered once for the whole text, in C, so that most files skip
    # the per-node work: can any string hold a control character, can any node be aliased?
    check, aliases = may_hold_control_character(text), _ALIAS.search(text) is not None
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                break
            smap = SourceMap(file, node.start_mark.line + 1)
            if values:
                smap.values, smap.styles = {}, {}
            expansion = _Expansion(check, aliases)
            try:
                data = _build(node, (), smap, loader, expansion)
            except _BuildError as exc:
                problems.append(
                    Diagnostic(
                        exc.message,
                        SourceLocation(file, exc.line, exc.column),
                        hint=exc.hint,
                        code="yaml-syntax",
                    )
                )
                index += 1
                continue
            if not values:
                smap.pack()
            docs.append(YamlDocument(data, index, smap))
            index += 1
            problems.extend(
                Diagnostic(
                    p.message, SourceLocation(file, p.line, p.column), hint=p.hint, code="text"
                )
                for p in expansion.problems
            )
    except yaml.MarkedYAMLError as exc:
        diagnostic = _syntax_diagnostic(file, text, exc)
        line = diagnostic.location.line if diagnostic.location else 0
        return docs, [*problems, diagnostic], line
    except yaml.reader.ReaderError as exc:  # a control character; its position may be in bytes
        code = exc.character if isinstance(exc.character, int) else ord(exc.character[:1] or " ")
        line = text[: max(text.find(chr(code)), 0)].count("\n") + 1
        return (
            docs,
            [
                Diagnostic(
                    f"invalid YAML: unacceptable character #x{code:04x}: {exc.reason}",
                    SourceLocation(file, line),
                    hint="delete it: YAML allows no control characters, not even in quotes",
                    code="yaml-syntax",
                )
            ],
            0,
        )
    except yaml.YAMLError as exc:
        return (
            docs,
            [
                *problems,
                Diagnostic(f"invalid YAML: {exc}", SourceLocation(file), code="yaml-syntax"),
            ],
            0,
        )
    except RecursionError:  # PyYAML composes nodes recursively, before _build can count
        return (
            docs,
            [
                *problems,
                Diagnostic(
                    "invalid YAML: document is nested too deeply",
                    SourceLocation(file),
                    code="yaml-syntax",
                ),
            ],
            0,
        )
    finally:
        loader.dispose()
    return docs, problems, 0


def read_yaml_file(
    path: Path, display: str | None = None, root: Path | None = None, cache: Any = None
) -> tuple[list[YamlDocument], list[Diagnostic]]:
    """Read and parse one YAML file, turning every I/O or encoding problem into a diagnostic.

    With `root`, the file must lie inside that folder once symbolic links are followed.
    With `cache` (a `ParseCache`), a file whose bytes were parsed before is not parsed again.
    """
    file = display or str(path)
    try:
        info = path.stat()
        if stat.S_ISREG(info.st_mode) and info.st_size > MAX_FILE_BYTES:
            return [], [
                Diagnostic(
                    f"file is {info.st_size / 1024 / 1024:.1f} MB; manifest files are limited to "
                    f"{MAX_FILE_BYTES // 1024 // 1024} MB",
                    SourceLocation(file),
                    hint="split the resources over several files",
                    code="file-too-large",
                )
            ]
        raw = read_limited(path, MAX_FILE_BYTES, root)
    except FileRefused as exc:
        return [], [
            Diagnostic(f"refusing to read this file: {exc.reason}", SourceLocation(file), code="io")
        ]
    except OSError as exc:
        return [], [
            Diagnostic(f"cannot read file: {exc.strerror or exc}", SourceLocation(file), code="io")
        ]
    if b"\x00" in raw:
        return [], [
            Diagnostic(
                "not a text file (it contains NUL bytes)", SourceLocation(file), code="not-text"
            )
        ]
    bom = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
    try:
        text = raw[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = exc.start + bom
        line = raw[:offset].count(b"\n") + 1
        return [], [
            Diagnostic(
                f"not valid UTF-8 text (byte 0x{raw[offset]:02x} at offset {offset})",
                SourceLocation(file, line),
                hint="save the file as UTF-8",
                code="not-text",
            )
        ]
    if cache is None:
        return parse_yaml_text(text, file)
    cached = cache.get(raw, file)
    if cached is not None:
        return cached
    docs, problems = parse_yaml_text(text, file)
    cache.put(raw, file, docs, problems)
    return docs, problems
