"""The in-memory view of one owner's tree (services/tree_index.py) as a pure
unit: paths, children in name order, depth, subtrees, resolving names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import pytest

from models.tree import Folder, Script
from services.tree_index import FolderIndex, ScriptIndex


@dataclass
class Row:
    """What the index reads of a folder or script row."""

    id: str
    name: str
    parent_id: str | None = None
    folder_id: str | None = None


def folders(*rows: Row) -> FolderIndex:
    return FolderIndex(cast(list[Folder], list(rows)))


# geology/ (cores/ (2026/), maps/), notes/
TREE = folders(
    Row("g", "geology"),
    Row("c", "cores", parent_id="g"),
    Row("y", "2026", parent_id="c"),
    Row("m", "maps", parent_id="g"),
    Row("n", "notes"),
)


def test_paths_are_names_from_the_top() -> None:
    assert TREE.path(None) == ""
    assert TREE.path("g") == "geology"
    assert TREE.path("y") == "geology/cores/2026"
    assert TREE.path("unknown") == ""


def test_children_come_in_name_order() -> None:
    assert [f.name for f in TREE.children(None)] == ["geology", "notes"]
    assert [f.name for f in TREE.children("g")] == ["cores", "maps"]
    assert TREE.children("y") == []


@pytest.mark.parametrize(("folder", "depth"), [(None, 0), ("g", 1), ("c", 2), ("y", 3)])
def test_depth_counts_levels_from_the_top(folder: str | None, depth: int) -> None:
    assert TREE.depth(folder) == depth


def test_subtrees_hold_the_folder_and_everything_below() -> None:
    assert sorted(TREE.subtree_ids("g")) == ["c", "g", "m", "y"]
    assert TREE.subtree_ids("n") == ["n"]
    assert TREE.subtree_height("g") == 3
    assert TREE.subtree_height("m") == 1


def test_names_resolve_to_the_folder_or_none() -> None:
    found = TREE.resolve(["geology", "cores", "2026"])
    assert found is not None and found.id == "y"
    assert TREE.resolve(["geology", "2026"]) is None
    assert TREE.resolve([]) is None


def test_a_parent_cycle_in_the_rows_cannot_loop_forever() -> None:
    # Rows can only form a cycle through a bug elsewhere; the path still ends.
    looped = folders(Row("a", "a", parent_id="b"), Row("b", "b", parent_id="a"))
    assert looped.path("a") == "b/a"


def test_scripts_are_listed_per_folder_in_name_order() -> None:
    scripts = ScriptIndex(
        cast(
            list[Script],
            [Row("2", "z.py", folder_id="g"), Row("1", "a.sh", folder_id="g"), Row("3", "t.py")],
        )
    )
    assert [s.name for s in scripts.in_folder("g")] == ["a.sh", "z.py"]
    assert [s.name for s in scripts.in_folder(None)] == ["t.py"]
    assert scripts.in_folder("elsewhere") == []
