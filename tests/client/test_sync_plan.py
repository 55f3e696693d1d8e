"""The push and pull planner on its own: which change each difference
between a folder, the server and the last sync becomes."""

from __future__ import annotations

from pathlib import Path

from client.local import LocalFile, LocalTree, content_hash, language_of
from client.sync_plan import Action, plan_pull, plan_push
from client.tree import RemoteFolder, RemoteScript, RemoteTree

OLD, NEW, OTHER = content_hash(b"old"), content_hash(b"new"), content_hash(b"other")


def local(folders: set[str], files: dict[str, str]) -> LocalTree:
    return LocalTree(
        folders,
        {p: LocalFile(p, Path(p), sha, language_of(p)) for p, sha in files.items()},
    )


def remote(folders: set[str], scripts: dict[str, tuple[str, int]]) -> RemoteTree:
    return RemoteTree(
        {p: RemoteFolder(f"id-{p}", p) for p in folders},
        {p: RemoteScript(f"id-{p}", p, v, sha, "PYTHON") for p, (sha, v) in scripts.items()},
    )


def test_push_creates_updates_and_leaves_the_unchanged() -> None:
    here = local({"a", "a/b"}, {"a/b/new.py": NEW, "same.py": OLD, "changed.sh": NEW})
    there = remote({"a"}, {"same.py": (OLD, 1), "changed.sh": (OLD, 3)})
    plan = plan_push(here, there, base={}, delete=False, force=False)
    assert [(s.action, s.path, s.detail) for s in plan.steps] == [
        (Action.CREATE_FOLDER, "a/b", ""),
        (Action.CREATE, "a/b/new.py", ""),
        (Action.UPDATE, "changed.sh", "v3 -> v4"),
    ]
    assert plan.unchanged == ["same.py"]


def test_push_refuses_to_overwrite_a_change_made_on_the_server_since_the_last_sync() -> None:
    here = local(set(), {"x.py": NEW})
    there = remote(set(), {"x.py": (OTHER, 2)})
    plan = plan_push(here, there, base={"x.py": OLD}, delete=False, force=False)
    assert [(s.action, s.path) for s in plan.steps] == [(Action.CONFLICT, "x.py")]
    # Unchanged on the server since: a plain update. Forced: an update too.
    assert plan_push(here, there, {"x.py": OTHER}, False, False).of(Action.UPDATE)
    assert plan_push(here, there, {"x.py": OLD}, False, True).of(Action.UPDATE)
    # Never synced: the local file wins.
    assert plan_push(here, there, {}, False, False).of(Action.UPDATE)


def test_a_folder_on_one_side_and_a_file_on_the_other_conflict_even_forced() -> None:
    here = local({"x.py"}, {"y.py": NEW})
    there = remote({"y.py"}, {"x.py": (OLD, 1)})
    plan = plan_push(here, there, base={}, delete=True, force=True)
    assert sorted((s.action, s.path) for s in plan.conflicts) == [
        (Action.CONFLICT, "x.py"),
        (Action.CONFLICT, "y.py"),
    ]
    assert not plan.of(Action.DELETE, Action.DELETE_FOLDER)


def test_push_delete_spares_what_changed_on_the_server_and_deletes_folders_deepest_first() -> None:
    here = local(set(), {})
    there = remote({"a", "a/b"}, {"a/b/gone.py": (OLD, 1), "theirs.py": (OTHER, 2)})
    plan = plan_push(
        here, there, base={"a/b/gone.py": OLD, "theirs.py": OLD}, delete=True, force=False
    )
    assert [(s.action, s.path) for s in plan.steps] == [
        (Action.DELETE, "a/b/gone.py"),
        (Action.CONFLICT, "theirs.py"),
        (Action.DELETE_FOLDER, "a/b"),
        (Action.DELETE_FOLDER, "a"),
    ]
    assert not plan_push(here, there, {}, delete=False, force=False).steps


def test_files_that_are_not_scripts_are_skipped() -> None:
    plan = plan_push(local(set(), {"notes.md": NEW}), remote(set(), {}), {}, False, False)
    assert [(s.action, s.path) for s in plan.steps] == [(Action.SKIP, "notes.md")]


def test_pull_overwrites_only_what_is_as_the_last_sync_left_it() -> None:
    there = remote({"a"}, {"a/x.py": (NEW, 2), "edited.py": (NEW, 2), "new.py": (NEW, 1)})
    here = local(set(), {"a/x.py": OLD, "edited.py": OTHER})
    plan = plan_pull(there, here, base={"a/x.py": OLD, "edited.py": OLD}, force=False)
    assert [(s.action, s.path) for s in plan.steps] == [
        (Action.CREATE_FOLDER, "a"),
        (Action.UPDATE, "a/x.py"),
        (Action.CONFLICT, "edited.py"),
        (Action.CREATE, "new.py"),
    ]
    assert plan_pull(there, here, base={}, force=True).of(Action.UPDATE)
