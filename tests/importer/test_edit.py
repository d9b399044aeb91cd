"""One document of a manifest file is rewritten or removed; the others stay byte for byte."""

from __future__ import annotations

from crmctl.importer.edit import append_document, find_document, remove_document, replace_document

FILE = """\
# Roles of the sales team.
apiVersion: crmctl/v1
kind: Role
metadata: {name: A, owner: sales}
spec: {label: A}
---
# B reports to A.
apiVersion: crmctl/v1
kind: Role
metadata: {name: B, owner: sales}
spec:
  label: B  # a comment inside B
  parent: A
# closing comment
---
apiVersion: crmctl/v1
kind: Role
metadata: {name: C, owner: sales}
spec: {label: C}
"""

NEW_B = "apiVersion: crmctl/v1\nkind: Role\nmetadata:\n  name: B\nspec:\n  label: Bee\n"


def test_find_document_gives_the_first_line_of_its_content() -> None:
    assert [find_document(FILE, "Role", n) for n in "ABC"] == [2, 8, 16]
    assert find_document(FILE, "Role", "D") is None
    assert find_document(FILE, "PermissionSet", "A") is None


def test_replace_keeps_the_comments_around_the_document() -> None:
    assert replace_document(FILE, 8, NEW_B) == FILE.replace(
        "apiVersion: crmctl/v1\nkind: Role\nmetadata: {name: B, owner: sales}\nspec:\n"
        "  label: B  # a comment inside B\n  parent: A\n",
        NEW_B,
    )


def test_remove_a_middle_a_first_and_a_last_document() -> None:
    middle = remove_document(FILE, 8)
    assert "name: B" not in middle and "closing comment" not in middle
    assert middle.count("---\n") == 1
    assert find_document(middle, "Role", "C") is not None
    first = remove_document(FILE, 2)
    assert first.startswith("# Roles of the sales team.\n# B reports to A.\napiVersion")
    last = remove_document(FILE, 16)
    assert last.endswith("  parent: A\n# closing comment\n")


def test_append_adds_a_separator() -> None:
    assert append_document("kind: Role\n", "kind: User\n") == "kind: Role\n---\nkind: User\n"
    assert append_document("kind: Role", "kind: User\n") == "kind: Role\n---\nkind: User\n"
    assert append_document("", "kind: User\n") == "kind: User\n"
