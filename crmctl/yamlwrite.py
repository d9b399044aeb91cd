"""Writing YAML that people review: block mappings in insertion order, short lists inline.

Used wherever crmctl writes YAML for people (imported manifests, generated
CI workflows). Multi-line text is written as a `|` block, and list items
are indented under their key.
"""

from __future__ import annotations

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
    return yaml.dump(
        data,
        Dumper=_Dumper if inline_lists else _BlockDumper,
        sort_keys=False,
        allow_unicode=True,
        width=10_000,
        indent=2,
    )
