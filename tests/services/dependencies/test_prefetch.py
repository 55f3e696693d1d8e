"""Saving a script resolves and installs what it declares in the background,
without a run: the save records the set (PENDING) and the worker picks it
up from the database. Saving again retries a set that failed. The packages
come from an index on disk (tests/support/package_index.py)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from services.dependencies import DependencyManager
from tests.support.client import GraphQLClient
from tests.support.dependencies import UPDATE, create, dependencies_reach
from tests.support.package_index import index, wheel

# The suite's service, on SQLite and PostgreSQL (local storage).
pytestmark = pytest.mark.parametrize("service", ["local", "postgres"], indirect=True)

HISTORY = "query($id: ID!) { executions(scriptId: $id) { id } }"


async def test_saving_installs_without_a_run(
    alice: GraphQLClient, deps: DependencyManager, tmp_path: Path
) -> None:
    url = index(tmp_path / "index", [wheel(tmp_path, "sbx-saved", "1.0")])
    saved = deps.config
    deps.config = replace(saved, index_url=url)
    try:
        builds = deps.builds
        created = await create(alice, "saved-only.py", "print('hi')\n", requirements="sbx-saved\n")
        assert created["dependencies"]["requirements"] == ["sbx-saved"]
        shown = await dependencies_reach(alice, created["id"], "READY")
        assert [(p["name"], p["version"]) for p in shown["pins"]] == [("sbx-saved", "1.0")]
        assert shown["environmentHash"]
        assert deps.builds == builds + 1
        assert (await alice.data(HISTORY, {"id": created["id"]}))["executions"] == []
    finally:
        deps.config = saved


async def test_saving_again_retries_a_failed_set(
    alice: GraphQLClient, deps: DependencyManager, tmp_path: Path
) -> None:
    files = tmp_path / "files"
    files.mkdir()
    older = wheel(files, "sbx-later", "1.0")
    url = index(tmp_path / "index", [older])
    saved = deps.config
    deps.config = replace(saved, index_url=url)
    try:
        created = await create(alice, "later.py", "print('hi')\n", requirements="sbx-later>=2\n")
        failed = await dependencies_reach(alice, created["id"], "FAILED")
        assert failed["error"]["code"] == "DEPENDENCY_NOT_FOUND", failed

        # The release appears on the index; saving the script asks again at
        # once, though the failure would otherwise stand for a while.
        index(tmp_path / "index", [older, wheel(files, "sbx-later", "2.0")])
        edit = {"description": "now that 2.0 is out"}
        saved_again = (await alice.data(UPDATE, {"id": created["id"], "input": edit}))[
            "updateScript"
        ]
        assert saved_again["dependencies"]["status"] != "FAILED"
        ready = await dependencies_reach(alice, created["id"], "READY")
        assert [(p["name"], p["version"]) for p in ready["pins"]] == [("sbx-later", "2.0")]
        assert ready["error"] is None
    finally:
        deps.config = saved
