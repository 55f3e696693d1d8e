"""A script with one small pure-Python dependency (six, a wheel from the
suite's package index on 127.0.0.1, which cli_environment points the
processes at) runs in the served process in both shapes; and saving one
prepares its dependencies without a run, also when the worker is a process
of its own."""

from __future__ import annotations

from tests.support.client import GraphQLClient
from tests.support.dependencies import create, dependencies_reach, pep723, run

SIX = pep723(
    "six==1.17.0",
    body="import six\n\n\ndef main(data):\n    return six.__version__\n",
)


async def test_a_script_with_a_dependency_runs(alice: GraphQLClient) -> None:
    created = await create(alice, "six_user.py", SIX)
    assert created["dependencies"]["requirements"] == ["six==1.17.0"]
    execution = await run(alice, created["id"])
    assert execution["status"] == "SUCCEEDED", execution
    assert execution["result"] == "1.17.0"


async def test_saving_prepares_the_dependencies_without_a_run(alice: GraphQLClient) -> None:
    created = await create(alice, "six_saved.py", pep723("six==1.16.0", body="import six\n"))
    shown = await dependencies_reach(alice, created["id"], "READY")
    assert [(p["name"], p["version"]) for p in shown["pins"]] == [("six", "1.16.0")]
    history = await alice.data("query($id: ID!) { executions(scriptId: $id) { id } }", created)
    assert history["executions"] == []
