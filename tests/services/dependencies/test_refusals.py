"""Requirements that cannot be met are refused with a clear code, at the run
and on the script; declarations that are not allowed are refused on save."""

from __future__ import annotations

import re
import urllib.request

import pytest

from tests.support.client import GraphQLClient
from tests.support.dependencies import CREATE, GET, create, pep723, run
from tests.support.package_index import SDIST_ONLY, suite_index

# The suite's service, on SQLite and PostgreSQL (local storage).
pytestmark = pytest.mark.parametrize("service", ["local", "postgres"], indirect=True)

MISSING = "scriptbox-no-such-package-7f3c9e"


def published_files(project: str) -> list[str]:
    """The files the service's index lists for a project (its PEP 503 page)."""
    with urllib.request.urlopen(f"{suite_index().url}/{project}/", timeout=30) as response:
        return re.findall(r"<a[^>]*>([^<]+)</a>", response.read().decode())


async def test_a_package_without_a_wheel_is_refused(alice: GraphQLClient) -> None:
    # docopt, as on PyPI, has only a source distribution.
    project, _version = SDIST_ONLY
    files = published_files(project)
    assert files and not [f for f in files if f.endswith(".whl")], files

    created = await create(alice, "nowheel.py", pep723(project, body="import docopt\n"))
    execution = await run(alice, created["id"])
    assert execution["status"] == "FAILED"
    assert execution["error"]["code"] == "DEPENDENCY_NO_WHEEL", execution
    assert "wheel" in execution["error"]["message"]
    assert execution["startedAt"] and execution["finishedAt"]

    shown = (await alice.data(GET, {"id": created["id"]}))["script"]["dependencies"]
    assert shown["status"] == "FAILED"
    assert shown["error"]["code"] == "DEPENDENCY_NO_WHEEL"
    assert shown["pins"] == []


async def test_a_requirement_that_does_not_exist_is_refused(alice: GraphQLClient) -> None:
    created = await create(alice, "missing.py", "print('hi')\n", requirements=f"{MISSING}>=1\n")
    execution = await run(alice, created["id"])
    assert execution["status"] == "FAILED"
    assert execution["error"]["code"] == "DEPENDENCY_NOT_FOUND", execution
    assert MISSING in execution["error"]["message"]
    assert execution["stdout"] == ""

    version = await create(alice, "noversion.py", pep723("six==0.0.1", body="import six\n"))
    execution = await run(alice, version["id"])
    assert execution["error"]["code"] == "DEPENDENCY_NOT_FOUND", execution
    assert "six==0.0.1" in execution["error"]["message"]


@pytest.mark.parametrize(
    ("content", "requirements", "code"),
    [
        ("print(1)\n", "-r other.txt\n", "BAD_USER_INPUT"),
        ("print(1)\n", "--index-url https://example.invalid/simple\nsix\n", "BAD_USER_INPUT"),
        ("print(1)\n", "six @ https://example.invalid/six.whl\n", "BAD_USER_INPUT"),
        ("print(1)\n", "six @ file:///etc/passwd\n", "BAD_USER_INPUT"),
        ("print(1)\n", "six >> 1\n", "BAD_USER_INPUT"),
        ("# /// script\n# dependencies = [\n# ///\n", None, "INVALID_SCRIPT"),
        ("# /// script\n# requires-python = '>=3.12'\n# ///\n", None, "INVALID_SCRIPT"),
    ],
)
async def test_declarations_that_are_not_allowed(
    alice: GraphQLClient, content: str, requirements: str | None, code: str
) -> None:
    error = await alice.error(
        CREATE, {"input": {"name": "bad.py", "content": content, "requirements": requirements}}
    )
    assert error["extensions"]["code"] == code, error


async def test_shell_scripts_take_no_requirements(alice: GraphQLClient) -> None:
    error = await alice.error(
        CREATE, {"input": {"name": "x.sh", "content": "echo 1\n", "requirements": "six\n"}}
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
