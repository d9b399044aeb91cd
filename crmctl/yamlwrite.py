"""Writing YAML that people review: block mappings in insertion order, short lists inline.

Used wherever crmctl writes YAML for people (imported manifests, generated
CI workflows). Multi-line text is written as a `|` block, and list items
are indented under their key.

PyYAML's emitter is pure Python and slow (an org's profiles are hundreds of
thousands of lines), so the layout is written here directly, byte for byte
as PyYAML writes it: each distinct scalar is still rendered by PyYAML once
(quoting, escaping and plain-or-not are its decisions), in the context it
appears in, and remembered. A document holding anything the direct writer
does not know how to lay out (multi-line text, lists of lists, very long
keys or values) is written by PyYAML whole. tests/importer/test_yamlwrite.py
compares the two.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

__all__ = ["to_yaml"]

#: A list of scalars is written inline (`[read, edit]`) when it fits in this many characters.
_INLINE_LIST = 72


class _Dumper(yaml.SafeDumper):
    inline_lists = True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)  # indent list items under their key

    def ignore_aliases(self, data: Any) -> bool:
        return True  # a value used twice is written twice: no &anchors for readers to chase


class _BlockDumper(_Dumper):
    inline_lists = False


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value and all(c == "\n" or c.isprintable() for c in value):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


def _list(dumper: yaml.SafeDumper, value: list) -> yaml.SequenceNode:
    scalars = all(isinstance(v, str | int | float | bool) and "\n" not in str(v) for v in value)
    flow = (
        getattr(dumper, "inline_lists", True)
        and scalars
        and sum(len(str(v)) + 2 for v in value) <= _INLINE_LIST
    )
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


def _dict(dumper: yaml.SafeDumper, value: dict) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map", value.items(), flow_style=False)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(list, _list)
_Dumper.add_representer(dict, _dict)


def to_yaml(data: Any, inline_lists: bool = True) -> str:
    """`data` as one YAML document (no `---`), never wrapped.

    With `inline_lists`, short lists of scalars are written inline
    (`[read, edit]`); without, every list is a block (one item per line).
    """
    if isinstance(data, dict) and data:
        out: list[str] = []
        try:
            _mapping(data, 0, out, inline_lists)
            return "".join(out)
        except _Fallback:
            pass
    return _pyyaml(data, inline_lists)


def _pyyaml(data: Any, inline_lists: bool) -> str:
    return yaml.dump(
        data,
        Dumper=_Dumper if inline_lists else _BlockDumper,
        sort_keys=False,
        allow_unicode=True,
        width=10_000,
        indent=2,
    )


class _Fallback(Exception):
    """The direct writer leaves this document to PyYAML."""


#: (context, type, value) -> the scalar as PyYAML writes it there (None: not on one line).
_RENDERED: dict[tuple[str, type, Any], str | None] = {}
_MAX_RENDERED = 200_000
#: What YAML counts as a line break (its writer indents after each).
_BREAKS = re.compile("[\n\r\x85\u2028\u2029]")
#: Longer scalars are left to PyYAML (it could fold them near its line width).
_MAX_SCALAR = 2_000


def _render(value: Any, context: str) -> str:
    """`value` as PyYAML writes it as a mapping `key`, a mapping `value`, a block list `item`
    or a `flow` list item; raises _Fallback when that is not a single line."""
    key = (context, type(value), value)
    text = _RENDERED.get(key, "")
    if text == "":
        text = _render_once(value, context)
        if len(_RENDERED) >= _MAX_RENDERED:
            _RENDERED.clear()
        _RENDERED[key] = text
    if text is None:
        raise _Fallback
    return text


def _render_once(value: Any, context: str) -> str | None:
    if isinstance(value, str) and (len(value) > _MAX_SCALAR or _BREAKS.search(value)):
        return None
    if context == "key":
        text, prefix, suffix = _pyyaml({value: 1}, True), "", ": 1\n"
    elif context == "value":
        text, prefix, suffix = _pyyaml({"k": value}, True), "k: ", "\n"
    elif context == "flow":
        text, prefix, suffix = _pyyaml({"k": [value]}, True), "k: [", "]\n"
    else:
        text, prefix, suffix = _pyyaml({"k": [value]}, False), "k:\n  - ", "\n"
    if not (text.startswith(prefix) and text.endswith(suffix)):
        return None
    body = text[len(prefix) : len(text) - len(suffix)]
    if not body or _BREAKS.search(body) or (context == "key" and len(body) >= 128):
        return None
    return body


def _flow(value: list, inline_lists: bool) -> bool:
    """Whether `_list` writes this list inline (the same rule, in one pass)."""
    if not inline_lists:
        return False
    total = 0
    for v in value:
        if not isinstance(v, str | int | float | bool):
            return False
        text = v if isinstance(v, str) else str(v)
        if "\n" in text:
            return False
        total += len(text) + 2
    return total <= _INLINE_LIST


def _mapping(data: dict, indent: int, out: list[str], inline_lists: bool) -> None:
    pad = " " * indent
    for key, value in data.items():
        if not isinstance(key, str):
            raise _Fallback
        out.append(f"{pad}{_render(key, 'key')}:")
        _value(value, indent, out, inline_lists)


def _value(value: Any, indent: int, out: list[str], inline_lists: bool) -> None:
    """What follows `key:` in a block mapping at `indent`."""
    if isinstance(value, dict):
        if not value:
            out.append(" {}\n")
            return
        out.append("\n")
        _mapping(value, indent + 2, out, inline_lists)
    elif isinstance(value, list):
        if not value:
            out.append(" []\n")
        elif _flow(value, inline_lists):
            out.append(" [" + ", ".join(_render(v, "flow") for v in value) + "]\n")
        else:
            out.append("\n")
            _sequence(value, indent + 2, out, inline_lists)
    else:
        out.append(f" {_render(value, 'value')}\n")


def _sequence(items: list, indent: int, out: list[str], inline_lists: bool) -> None:
    pad = " " * indent
    for item in items:
        if isinstance(item, dict) and item:
            start = len(out)
            _mapping(item, indent + 2, out, inline_lists)
            out[start] = f"{pad}- {out[start][indent + 2 :]}"  # the first key follows the dash
        elif isinstance(item, dict | list):
            raise _Fallback  # empty containers and lists of lists: PyYAML's layout
        else:
            out.append(f"{pad}- {_render(item, 'item')}\n")
