"""What a change does to a resource; the enum's values are what plans print."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Action"]


class Action(StrEnum):
    CREATE = "+"
    UPDATE = "~"
    DELETE = "-"
    REPLACE = "±"  # delete and create again: the CRM cannot make this change in place

    @property
    def word(self) -> str:
        """`create`, `update`, `delete` or `replace` (used in JSON and by approval rules)."""
        return self.name.lower()

    @classmethod
    def from_word(cls, word: str) -> Action:
        return cls[word.upper()]
