"""JavaScript scripts that import their neighbours, through GraphQL against
the real sandbox: ES modules and CommonJS by relative specifiers, bundled
transitively with each script pinned, refused before the container starts
when an import is missing or climbs out of the tree."""

from __future__ import annotations

import pytest

from tests.support.bundles import (
    GET_BUNDLE,
    IMPORTS,
    assert_failed_before_container,
    run_bundle,
    sha_of,
)
from tests.support.client import GraphQLClient
from tests.support.tree import UPDATE_SCRIPT, folder, script

pytestmark = pytest.mark.docker


async def test_a_module_imports_a_neighbour_and_a_subfolder_module(
    alice: GraphQLClient,
) -> None:
    tools = await folder(alice, "tools")
    lib = await folder(alice, "lib", parent_id=tools["id"])
    geo = await script(
        alice, "geo.js", "export function depth(km) { return km * 1000; }\n", folder_id=lib["id"]
    )
    helpers = await script(
        alice, "helpers.js", "export const label = (x) => `depth ${x}`;\n", folder_id=tools["id"]
    )
    main = await script(
        alice,
        "survey.js",
        'import fs from "node:fs";\n'
        'import { depth } from "./lib/geo.js";\n'
        "export async function main(data) {\n"
        '  const { label } = await import("./helpers.js");\n'
        "  const here = new URL(import.meta.url).pathname;\n"
        "  let written = true;\n"
        "  try { fs.writeFileSync(here, ''); } catch { written = false; }\n"
        "  return { label: label(depth(data.km)), here, written };\n"
        "}\n",
        folder_id=tools["id"],
    )
    execution = await run_bundle(alice, main["id"], {"km": 3})
    assert execution["status"] == "SUCCEEDED", execution
    result = execution["result"]
    assert result["label"] == "depth 3000"
    assert result["here"].endswith("/tools/survey.js")
    assert result["written"] is False
    assert sorted((e["path"], e["version"], e["sha256"]) for e in execution["bundle"]) == [
        ("tools/helpers.js", 1, await sha_of(alice, helpers["id"], 1)),
        ("tools/lib/geo.js", 1, await sha_of(alice, geo["id"], 1)),
    ]
    imports = (await alice.data(IMPORTS, {"id": main["id"]}))["script"]["imports"]
    assert imports == [
        {"path": "tools/lib/geo.js", "resolved": True},
        {"path": "tools/helpers.js", "resolved": True},
    ]


async def test_commonjs_requires_its_neighbours(alice: GraphQLClient) -> None:
    await script(alice, "units.js", "module.exports.factor = 7;\n")
    main = await script(
        alice,
        "scale.js",
        'const units = require("./units");\n'
        "module.exports.main = (data) => data.x * units.factor;\n",
    )
    execution = await run_bundle(alice, main["id"], {"x": 6})
    assert execution["status"] == "SUCCEEDED", execution
    assert execution["result"] == 42
    assert [e["path"] for e in execution["bundle"]] == ["units.js"]


async def test_transitive_imports_are_pinned_to_the_versions_that_ran(
    alice: GraphQLClient,
) -> None:
    lib = await folder(alice, "lib")
    units = await script(alice, "units.js", "export const FACTOR = 3;\n", folder_id=lib["id"])
    await script(
        alice,
        "calc.js",
        'export { FACTOR } from "./units.js";\n'
        'import { FACTOR } from "./units.js";\n'
        "export const scale = (x) => x * FACTOR;\n",
        folder_id=lib["id"],
    )
    main = await script(
        alice,
        "job.mjs",
        'import { scale } from "./lib/calc.js";\nexport const main = () => scale(2);\n',
    )
    first = await run_bundle(alice, main["id"])
    assert first["status"] == "SUCCEEDED", first
    assert first["result"] == 6
    assert sorted(e["path"] for e in first["bundle"]) == ["lib/calc.js", "lib/units.js"]
    v1 = await sha_of(alice, units["id"], 1)
    assert ("lib/units.js", 1, v1) in {
        (e["path"], e["version"], e["sha256"]) for e in first["bundle"]
    }

    await alice.data(
        UPDATE_SCRIPT, {"id": units["id"], "input": {"content": "export const FACTOR = 5;\n"}}
    )
    again = (await alice.data(GET_BUNDLE, {"id": first["id"]}))["execution"]
    assert again["bundle"] == first["bundle"]
    second = await run_bundle(alice, main["id"])
    assert second["result"] == 10
    pinned = {e["path"]: (e["version"], e["sha256"]) for e in second["bundle"]}
    assert pinned["lib/units.js"] == (2, await sha_of(alice, units["id"], 2))


async def test_a_missing_import_fails_the_run_before_it_starts(alice: GraphQLClient) -> None:
    await script(alice, "present.js", "export const x = 1;\n")
    main = await script(
        alice,
        "broken.js",
        'import { x } from "./present.js";\nimport { y } from "./lib/nothere.js";\n'
        "console.log('never', x, y);\n",
    )
    imports = (await alice.data(IMPORTS, {"id": main["id"]}))["script"]["imports"]
    assert imports == [
        {"path": "present.js", "resolved": True},
        {"path": "lib/nothere.js", "resolved": False},
    ]
    execution = await run_bundle(alice, main["id"])
    assert_failed_before_container(execution, "MISSING_IMPORT", "./lib/nothere.js")


async def test_imports_that_climb_out_of_the_tree_are_refused(alice: GraphQLClient) -> None:
    tools = await folder(alice, "tools")
    await script(alice, "up.js", "export const X = 1;\n")
    # One level up from tools/ is the top, and allowed; two is outside.
    inside = await script(
        alice,
        "inside.js",
        'import { X } from "../up.js";\nconsole.log(X);\n',
        folder_id=tools["id"],
    )
    climbing = await script(
        alice,
        "climb.js",
        'import { X } from "../../up.js";\nconsole.log(X);\n',
        folder_id=tools["id"],
    )
    absolute = await script(
        alice, "abs.js", 'const os = require("/etc/os-release.js");\nconsole.log(os);\n'
    )
    ok = await run_bundle(alice, inside["id"])
    assert ok["status"] == "SUCCEEDED", ok
    assert ok["stdout"] == "1\n"
    for saved in (climbing, absolute):
        imports = (await alice.data(IMPORTS, {"id": saved["id"]}))["script"]["imports"]
        assert [item["resolved"] for item in imports] == [False]
        execution = await run_bundle(alice, saved["id"])
        assert execution["status"] == "FAILED"
        assert execution["error"]["code"] == "IMPORT_REFUSED", execution["error"]
        assert execution["stdout"] == ""


async def test_a_cycle_back_to_the_running_script_loads_it_once(alice: GraphQLClient) -> None:
    await script(
        alice,
        "pong.js",
        'import { hits } from "./rally.js";\nexport const pong = () => hits.push("pong");\n',
    )
    main = await script(
        alice,
        "rally.js",
        'import { pong } from "./pong.js";\nexport const hits = [];\n'
        "export function main() { hits.push('ping'); pong(); return hits; }\n",
    )
    execution = await run_bundle(alice, main["id"])
    assert execution["status"] == "SUCCEEDED", execution
    assert execution["result"] == ["ping", "pong"]
    assert sorted(e["path"] for e in execution["bundle"]) == ["pong.js", "rally.js"]
