"""The compiled tree plan answers exactly what field-by-field execution
answers: the same keys in the same order, the same values, through
aliases, fragments, @include/@skip and __typename."""

from __future__ import annotations

import json
from typing import Any

from tests.support.client import GraphQLClient
from tests.support.tree import folder, script

SCRIPT_FIELDS = (
    "__typename id name path version description language secrets requirements "
    "createdAt updatedAt v: version ...S"
)
FOLDER_FIELDS = "__typename id name path createdAt updatedAt p: path ...F"
FRAGMENTS = """
fragment S on Script { name shown: id @include(if: $yes) hidden: id @skip(if: $yes) }
fragment F on Folder { name }
"""


def tree_query(extra_script_field: str = "") -> str:
    scripts = f"scripts {{ {SCRIPT_FIELDS} {extra_script_field} }}"
    level = ""
    for _ in range(3):
        level = f"folders {{ {FOLDER_FIELDS} {scripts} {level} }}"
    return f"query($yes: Boolean!) {{ tree {{ __typename {scripts} all: {level} }} }}{FRAGMENTS}"


def without(node: Any, key: str) -> Any:
    if isinstance(node, dict):
        return {k: without(v, key) for k, v in node.items() if k != key}
    if isinstance(node, list):
        return [without(item, key) for item in node]
    return node


async def test_the_plan_answers_what_field_by_field_execution_answers(
    alice: GraphQLClient,
) -> None:
    a = await folder(alice, "a")
    b = await folder(alice, "b", a["id"])
    await folder(alice, "c", b["id"])
    await script(alice, "top.sh", "true\n", description="at the top")
    await script(
        alice,
        "deps.py",
        "import json\n",
        b["id"],
        requirements="requests==2.32.3\n",
        secrets=["API_KEY", "OTHER"],
    )
    await script(alice, "z.py", "x = 1\n", a["id"])
    await script(alice, "a.py", "x = 1\n", a["id"])
    variables = {"yes": True}

    planned = await alice.execute(tree_query(), variables)
    # `lastExecution` needs a resolver: this selection is executed field by field.
    resolved = await alice.execute(tree_query("lastExecution { id }"), variables)

    assert "errors" not in planned and "errors" not in resolved, (planned, resolved)
    # Compared as JSON text: key order counts too.
    assert json.dumps(planned) == json.dumps(without(resolved, "lastExecution"))
    top = planned["data"]["tree"]
    assert [f["name"] for f in top["all"][0]["folders"]] == ["b"]
    assert [s["name"] for s in top["all"][0]["scripts"]] == ["a.py", "z.py"]
    assert top["scripts"][0]["language"] == "SHELL"
    assert top["scripts"][0]["description"] == "at the top"
    assert top["all"][0]["folders"][0]["scripts"][0]["path"] == "a/b/deps.py"
    deps = top["all"][0]["folders"][0]["scripts"][0]
    assert (deps["requirements"], deps["secrets"]) == ("requests==2.32.3\n", ["API_KEY", "OTHER"])
    # The plan answered: only its answers are kept, and only kept answers carry an ETag.
    got = await alice.http.get(
        alice.url,
        params={"query": tree_query(), "variables": json.dumps(variables)},
        headers=alice.headers(),
    )
    assert "etag" in got.headers
    assert got.json() == planned
