"""A script that imports its neighbour, against the served process in both
shapes: saved with a warning while its import is missing, refused when run
so, then run with the helper bundled and pinned (in the scale-out shape the
separate `scriptbox worker` builds the bundle)."""

from __future__ import annotations

from tests.support.client import GraphQLClient
from tests.support.tree import UPDATE_SCRIPT, folder, script

SAVE = """
mutation($input: CreateScriptInput!) { createScript(input: $input) {
  id imports { path resolved } } }
"""
RUN = """
mutation($id: ID!) { runScript(input: {scriptId: $id, input: {km: 2}, wait: true}) {
  id status result error { code message } bundle { path version } } }
"""
IMPORTS = "query($id: ID!) { script(id: $id) { imports { path resolved } } }"


async def test_a_script_imports_its_neighbour(alice: GraphQLClient) -> None:
    lib = await folder(alice, "lib")
    content = "from lib.geo import depth\n\ndef main(data):\n    return depth(data['km'])\n"
    saved = (await alice.data(SAVE, {"input": {"name": "survey.py", "content": content}}))[
        "createScript"
    ]
    assert saved["imports"] == [{"path": "lib/geo.py", "resolved": False}]
    refused = (await alice.data(RUN, {"id": saved["id"]}))["runScript"]
    assert refused["error"]["code"] == "MISSING_IMPORT"
    assert "lib.geo" in refused["error"]["message"]

    geo = await script(alice, "geo.py", "def depth(km):\n    return km * 1000\n", lib["id"])
    imports = (await alice.data(IMPORTS, {"id": saved["id"]}))["script"]["imports"]
    assert imports == [{"path": "lib/geo.py", "resolved": True}]
    ran = (await alice.data(RUN, {"id": saved["id"]}))["runScript"]
    assert (ran["status"], ran["result"]) == ("SUCCEEDED", 2000), ran
    assert ran["bundle"] == [{"path": "lib/geo.py", "version": 1}]

    await alice.data(
        UPDATE_SCRIPT, {"id": geo["id"], "input": {"content": "def depth(km):\n    return -km\n"}}
    )
    again = (await alice.data(RUN, {"id": saved["id"]}))["runScript"]
    assert (again["result"], again["bundle"]) == (-2, [{"path": "lib/geo.py", "version": 2}])
