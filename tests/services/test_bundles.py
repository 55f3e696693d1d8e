"""Scripts that import their neighbours, through GraphQL against the real
sandbox: what a run bundles (transitively, each script pinned to the version
it ran with), what it refuses before the container starts, and what saving
a script says about its imports."""

from __future__ import annotations

from tests.support.bundles import (
    GET_BUNDLE,
    IMPORTS,
    assert_failed_before_container,
    run_bundle,
    sha_of,
)
from tests.support.client import GraphQLClient, registered
from tests.support.runs import RUN
from tests.support.sharing import share
from tests.support.tree import UPDATE_SCRIPT, folder, script

SAVE_WITH_IMPORTS = """
mutation($input: CreateScriptInput!) {
  createScript(input: $input) { id path imports { path resolved } }
}
"""


async def test_a_script_imports_its_neighbour_read_only(alice: GraphQLClient) -> None:
    tools = await folder(alice, "tools")
    helper = await script(
        alice, "helpers.py", "def double(x):\n    return 2 * x\n", folder_id=tools["id"]
    )
    main = await script(
        alice,
        "main.py",
        "import os\nimport helpers\n\n"
        "def main(data):\n"
        "    return {'value': helpers.double(data['x']), 'file': helpers.__file__,\n"
        "            'writable': os.access(helpers.__file__, os.W_OK),\n"
        "            'lib': os.environ['SCRIPTBOX_LIB']}\n",
        folder_id=tools["id"],
    )
    execution = await run_bundle(alice, main["id"], {"x": 21})
    assert execution["status"] == "SUCCEEDED", execution
    result = execution["result"]
    assert result["value"] == 42
    assert result["file"] == f"{result['lib']}/tools/helpers.py"
    assert result["writable"] is False
    assert execution["bundle"] == [
        {"path": "tools/helpers.py", "version": 1, "sha256": await sha_of(alice, helper["id"], 1)}
    ]


async def test_a_program_from_imports_from_a_subfolder(alice: GraphQLClient) -> None:
    """`from lib.geo import depth` finds lib/geo.py, also where the run's own
    directory holds something called `lib`: Python never searches /job."""
    lib = await folder(alice, "lib")
    await script(alice, "geo.py", "def depth(m):\n    return m * 1000\n", folder_id=lib["id"])
    main = await script(
        alice,
        "survey.py",
        "import json, sys\nfrom lib.geo import depth\nprint(depth(json.load(sys.stdin)['km']))\n",
    )
    execution = await run_bundle(alice, main["id"], {"km": 3})
    assert execution["status"] == "SUCCEEDED", execution
    assert execution["stdout"] == "3000\n"
    assert [entry["path"] for entry in execution["bundle"]] == ["lib/geo.py"]


async def test_transitive_imports_are_pinned_to_the_versions_that_ran(
    alice: GraphQLClient,
) -> None:
    lib = await folder(alice, "lib")
    units = await script(alice, "units.py", "FACTOR = 3\n", folder_id=lib["id"])
    await script(
        alice,
        "calc.py",
        "from lib import units\n\ndef scale(x):\n    return x * units.FACTOR\n",
        folder_id=lib["id"],
    )
    main = await script(
        alice, "job.py", "from lib.calc import scale\n\ndef main(data):\n    return scale(2)\n"
    )
    first = await run_bundle(alice, main["id"])
    assert first["status"] == "SUCCEEDED", first
    assert first["result"] == 6
    v1 = await sha_of(alice, units["id"], 1)
    assert {(e["path"], e["version"], e["sha256"]) for e in first["bundle"]} >= {
        ("lib/units.py", 1, v1)
    }
    assert sorted(e["path"] for e in first["bundle"]) == ["lib/calc.py", "lib/units.py"]

    await alice.data(UPDATE_SCRIPT, {"id": units["id"], "input": {"content": "FACTOR = 5\n"}})
    again = (await alice.data(GET_BUNDLE, {"id": first["id"]}))["execution"]
    assert again["bundle"] == first["bundle"]

    second = await run_bundle(alice, main["id"])
    assert second["result"] == 10
    pinned = {e["path"]: (e["version"], e["sha256"]) for e in second["bundle"]}
    assert pinned["lib/units.py"] == (2, await sha_of(alice, units["id"], 2))


async def test_a_missing_import_fails_the_run_before_it_starts(alice: GraphQLClient) -> None:
    lib = await folder(alice, "lib")
    await script(alice, "geo.py", "def depth(m):\n    return m\n", folder_id=lib["id"])
    saved = (
        await alice.data(
            SAVE_WITH_IMPORTS,
            {
                "input": {
                    "name": "broken.py",
                    "content": "import json\nfrom lib.nothere import x\nfrom lib.geo import depth\n"
                    "print('never')\n",
                }
            },
        )
    )["createScript"]
    # Saved all the same, with a warning; `json` is the interpreter's.
    assert saved["imports"] == [
        {"path": "lib/nothere.py", "resolved": False},
        {"path": "lib/geo.py", "resolved": True},
    ]
    execution = await run_bundle(alice, saved["id"])
    assert_failed_before_container(execution, "MISSING_IMPORT", "lib.nothere")


async def test_an_import_cycle_works_as_python_allows(alice: GraphQLClient) -> None:
    await script(
        alice,
        "ping.py",
        "import pong\n\ndef ping(n):\n    return ['ping'] + (pong.pong(n - 1) if n else [])\n",
    )
    await script(
        alice,
        "pong.py",
        "import ping\n\ndef pong(n):\n    return ['pong'] + (ping.ping(n - 1) if n else [])\n",
    )
    # It also imports itself by name: shipped once, as Python loads it.
    main = await script(
        alice, "rally.py", "import ping\nimport rally\n\ndef main(data):\n    return ping.ping(3)\n"
    )
    execution = await run_bundle(alice, main["id"])
    assert execution["status"] == "SUCCEEDED", execution
    assert execution["result"] == ["ping", "pong", "ping", "pong"]
    assert sorted(e["path"] for e in execution["bundle"]) == ["ping.py", "pong.py", "rally.py"]


async def test_imports_that_climb_out_of_the_tree_are_refused(alice: GraphQLClient) -> None:
    tools = await folder(alice, "tools")
    await script(alice, "up.py", "X = 1\n")
    climbing = await script(
        alice, "climb.py", "from ..up import X\nprint(X)\n", folder_id=tools["id"]
    )
    shell = await script(alice, "escape.sh", '. "$SCRIPTBOX_LIB/../../etc/profile"\necho hi\n')
    absolute = await script(alice, "abs.sh", '. "$SCRIPTBOX_LIB//etc/profile"\necho hi\n')
    for saved in (climbing, shell, absolute):
        imports = (await alice.data(IMPORTS, {"id": saved["id"]}))["script"]["imports"]
        assert [item["resolved"] for item in imports] == [False]
        execution = await run_bundle(alice, saved["id"])
        assert execution["status"] == "FAILED"
        assert execution["error"]["code"] == "IMPORT_REFUSED", execution["error"]
        assert execution["stdout"] == ""


async def test_a_shell_script_sources_its_neighbours(alice: GraphQLClient) -> None:
    lib = await folder(alice, "lib")
    await script(alice, "common.sh", 'greet() {\n  echo "hello $1"\n}\n', folder_id=lib["id"])
    main = await script(alice, "hello.sh", '. "$SCRIPTBOX_LIB/lib/common.sh"\ngreet world\n')
    execution = await run_bundle(alice, main["id"])
    assert execution["status"] == "SUCCEEDED", execution
    assert execution["stdout"] == "hello world\n"
    assert [e["path"] for e in execution["bundle"]] == ["lib/common.sh"]
    missing = await script(alice, "lost.sh", 'source "$SCRIPTBOX_LIB/lib/gone.sh"\necho no\n')
    failed = await run_bundle(alice, missing["id"])
    assert failed["error"]["code"] == "MISSING_IMPORT"
    assert "$SCRIPTBOX_LIB/lib/gone.sh" in failed["error"]["message"]


async def test_a_shared_script_imports_only_what_its_runner_may_read(
    alice: GraphQLClient, bob: GraphQLClient
) -> None:
    """The bundle comes from the owner's tree, and a helper outside the
    folder shared with the runner is, to them, not there at all."""
    shared = await folder(alice, "shared")
    await script(alice, "inside.py", "WHERE = 'inside'\n", folder_id=shared["id"])
    await script(alice, "private.py", "WHERE = 'private'\n")
    near = await script(
        alice,
        "near.py",
        "import inside\n\ndef main(data):\n    return inside.WHERE\n",
        folder_id=shared["id"],
    )
    far = await script(
        alice,
        "far.py",
        "import private\n\ndef main(data):\n    return private.WHERE\n",
        folder_id=shared["id"],
    )
    await share(alice, shared["id"], "RUNNER", user=bob)

    ran = await run_bundle(bob, near["id"])
    assert ran["status"] == "SUCCEEDED", ran
    assert ran["result"] == "inside"
    assert [e["path"] for e in ran["bundle"]] == ["shared/inside.py"]

    # Not shipped: to bob's run `private` is no script of the tree, so the
    # interpreter looks for it, and finds nothing.
    refused = await run_bundle(bob, far["id"])
    assert refused["status"] == "FAILED"
    assert refused["bundle"] == []
    assert "No module named 'private'" in refused["stderr"]
    # As bob sees it, the import is not there; as alice sees it, it is.
    seen_by_bob = (await bob.data(IMPORTS, {"id": far["id"]}))["script"]["imports"]
    assert seen_by_bob == []
    seen_by_alice = (await alice.data(IMPORTS, {"id": far["id"]}))["script"]["imports"]
    assert seen_by_alice == [{"path": "private.py", "resolved": True}]
    # alice's own run takes it: the tree is hers.
    own = await run_bundle(alice, far["id"])
    assert own["result"] == "private"


async def test_an_unchanged_run_without_imports_bundles_nothing(alice: GraphQLClient) -> None:
    execution = (
        await alice.data(
            RUN,
            {
                "input": {
                    "scriptId": (await script(alice, "plain.py", "import json\nprint(1)\n"))["id"],
                    "wait": True,
                }
            },
        )
    )["runScript"]
    assert execution["status"] == "SUCCEEDED"
    bundle = (await alice.data(GET_BUNDLE, {"id": execution["id"]}))["execution"]["bundle"]
    assert bundle == []


async def test_a_runs_bundle_lists_only_what_its_viewer_may_see(
    anon: GraphQLClient, alice: GraphQLClient, bob: GraphQLClient
) -> None:
    """An editor of the shared folder sees every run of its scripts, but not
    the helpers the runner could read and they cannot."""
    carol = await registered(anon, "carol")
    shared = await folder(alice, "shared")
    helpers = await folder(alice, "helpers")
    await script(alice, "tool.py", "NAME = 'tool'\n", folder_id=helpers["id"])
    main = await script(
        alice,
        "uses_tool.py",
        "from helpers import tool\n\ndef main(data):\n    return tool.NAME\n",
        folder_id=shared["id"],
    )
    await share(alice, shared["id"], "RUNNER", user=bob)
    await share(alice, helpers["id"], "VIEWER", user=bob)
    await share(alice, shared["id"], "EDITOR", user=carol)

    ran = await run_bundle(bob, main["id"])
    assert ran["result"] == "tool", ran
    assert [e["path"] for e in ran["bundle"]] == ["helpers/tool.py"]
    for viewer, paths in ((alice, ["helpers/tool.py"]), (carol, [])):
        seen = (await viewer.data(GET_BUNDLE, {"id": ran["id"]}))["execution"]["bundle"]
        assert [e["path"] for e in seen] == paths
