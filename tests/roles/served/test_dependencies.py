"""A script with one small pure-Python dependency (six, a wheel from the
package index the host reaches, as tests/services/dependencies/ does) runs in the served
process in both shapes."""

from __future__ import annotations

from tests.support.client import GraphQLClient
from tests.support.dependencies import create, pep723, run

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
