"""Scripts with dependencies, run through GraphQL against the real engine,
with packages from the suite's index on 127.0.0.1 (tests/support/
package_index.py: small pure-Python wheels whose modules work as the real
ones do for what these scripts call)."""

from __future__ import annotations

import pytest

from services.dependencies import DependencyManager
from tests.support.client import GraphQLClient
from tests.support.dependencies import GET, UPDATE, create, pep723, run
from tests.support.package_index import suite_index

# The suite's service, on SQLite and PostgreSQL (local storage).
pytestmark = pytest.mark.parametrize("service", ["local", "postgres"], indirect=True)

SIX = pep723(
    "six==1.17.0",
    body="import six\n\n\ndef main(data):\n"
    "    return {'version': six.__version__, 'at': six.__file__}\n",
)


async def test_inline_dependency_is_installed_and_imported(
    alice: GraphQLClient, deps: DependencyManager
) -> None:
    created = await create(alice, "inline.py", SIX)
    assert created["dependencies"]["requirements"] == ["six==1.17.0"]
    assert created["dependencies"]["status"] in ("PENDING", "RESOLVING", "INSTALLING", "READY")

    execution = await run(alice, created["id"])
    assert execution["status"] == "SUCCEEDED", execution
    assert execution["result"]["version"] == "1.17.0"
    assert execution["result"]["at"].startswith("/opt/scriptbox/env/site/six")

    shown = (await alice.data(GET, {"id": created["id"]}))["script"]["dependencies"]
    assert shown["status"] == "READY"
    assert shown["error"] is None
    assert shown["pythonVersion"] == "3.11"
    assert shown["environmentHash"] and shown["resolvedAt"]
    [pin] = shown["pins"]
    assert (pin["name"], pin["version"], pin["file"]) == (
        "six",
        "1.17.0",
        "six-1.17.0-py2.py3-none-any.whl",
    )
    assert pin["sha256"] == suite_index().sha256(pin["file"]) and pin["size"] > 0


async def test_requirements_text_with_transitive_dependencies(alice: GraphQLClient) -> None:
    content = (
        "import json, os, attrs, packaging.version\n"
        "result = {'attrs': attrs.__version__, 'newer': packaging.version.Version('2.0') > "
        "packaging.version.Version('1.9')}\n"
        "json.dump(result, open(os.environ['SCRIPTBOX_RESULT'], 'w'))\n"
    )
    created = await create(
        alice,
        "program.py",
        content,
        requirements="# what the seed's requirements file says\nattrs>=23\n\npackaging>=23,<26\n",
    )
    assert created["requirements"].startswith("# what")
    assert created["dependencies"]["requirements"] == ["attrs>=23", "packaging<26,>=23"]
    execution = await run(alice, created["id"])
    assert execution["status"] == "SUCCEEDED", execution
    assert execution["result"]["newer"] is True

    # Removing the requirements removes the dependencies.
    cleared = (await alice.data(UPDATE, {"id": created["id"], "input": {"requirements": ""}}))[
        "updateScript"
    ]
    assert cleared["requirements"] is None
    assert cleared["dependencies"]["status"] == "NONE"
    execution = await run(alice, created["id"])
    assert execution["status"] == "FAILED"
    assert "ModuleNotFoundError" in execution["stderr"]


async def test_the_cache_is_reused(alice: GraphQLClient, deps: DependencyManager) -> None:
    body = "import idna\n\n\ndef main(data):\n    return idna.encode('bücher.example').decode()\n"
    first_script = await create(alice, "cached-a.py", pep723("idna==3.10", body=body))
    builds = deps.builds
    first = await run(alice, first_script["id"])
    assert first["status"] == "SUCCEEDED", first
    assert first["result"] == "xn--bcher-kva.example"
    assert deps.builds == builds + 1

    # Later runs of the same script use the built environment: no new build.
    for _ in range(2):
        again = await run(alice, first_script["id"])
        assert again["status"] == "SUCCEEDED", again
        assert again["result"] == "xn--bcher-kva.example"
    assert deps.builds == builds + 1

    # Another script declaring the same set (as a requirements text) shares it.
    second_script = await create(alice, "cached-b.py", body, requirements="idna==3.10")
    other = await run(alice, second_script["id"])
    assert other["status"] == "SUCCEEDED", other
    assert deps.builds == builds + 1
    shown = [
        (await alice.data(GET, {"id": s["id"]}))["script"]["dependencies"]["environmentHash"]
        for s in (first_script, second_script)
    ]
    assert shown[0] == shown[1]


async def test_a_script_with_dependencies_also_imports_its_neighbour(
    alice: GraphQLClient,
) -> None:
    """Both on the search path: the scripts it imports (first, as the
    script's own folder on disk) and its environment's packages."""
    await create(alice, "version.py", "def of(module):\n    return module.__version__\n")
    content = pep723(
        "six==1.17.0",
        body="import version\nimport six\n\n\ndef main(data):\n"
        "    return {'six': version.of(six), 'at': six.__file__, 'mine': version.__file__}\n",
    )
    execution = await run(alice, (await create(alice, "both.py", content))["id"])
    assert execution["status"] == "SUCCEEDED", execution
    result = execution["result"]
    assert result["six"] == "1.17.0"
    assert result["at"].startswith("/opt/scriptbox/env/site/six")
    assert result["mine"] == "/job/lib/version.py"
