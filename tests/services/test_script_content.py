"""Script content: validation, uploads, limits, and nothing half-written."""

from __future__ import annotations

import pytest

from roles.parts import storage_config
from storage import create_object_store
from tests.support.client import GraphQLClient
from tests.support.servers import Service
from tests.support.tree import CREATE_SCRIPT, SCRIPT_BY_ID, SCRIPT_BY_PATH, UPDATE_SCRIPT, script


async def stored_script_objects(service: Service) -> set[str]:
    store = create_object_store(storage_config(service.settings))
    try:
        return {info.key for info in await store.list("scripts/")}
    finally:
        await store.close()


async def test_python_must_compile(alice: GraphQLClient, service: Service) -> None:
    before = await stored_script_objects(service)
    error = await alice.error(
        CREATE_SCRIPT,
        {"input": {"name": "bad.py", "content": "x = 1\ndef broken(:\n    pass\n"}},
    )
    assert error["extensions"]["code"] == "INVALID_SCRIPT"
    assert error["extensions"]["line"] == 2
    assert "line 2" in error["message"]
    assert await stored_script_objects(service) == before


async def test_python_nested_too_deeply_to_compile_is_invalid(
    alice: GraphQLClient, service: Service
) -> None:
    # Compiles to an AST too deep for CPython's compiler (RecursionError).
    before = await stored_script_objects(service)
    content = "x = " + "+".join(["1"] * 100_000) + "\n"
    error = await alice.error(CREATE_SCRIPT, {"input": {"name": "deep.py", "content": content}})
    assert error["extensions"]["code"] == "INVALID_SCRIPT"
    assert "nested too deeply" in error["message"]
    assert await stored_script_objects(service) == before


async def test_shell_must_parse(alice: GraphQLClient) -> None:
    error = await alice.error(
        CREATE_SCRIPT, {"input": {"name": "bad.sh", "content": "echo ok\nif then\n"}}
    )
    assert error["extensions"]["code"] == "INVALID_SCRIPT"
    assert error["extensions"]["line"] == 2


async def test_shell_check_does_not_run_the_script(alice: GraphQLClient, tmp_path) -> None:  # type: ignore[no-untyped-def]
    marker = tmp_path / "ran"
    await script(alice, "safe.sh", f"touch {marker}\n")
    assert not marker.exists()


async def test_invalid_update_keeps_the_current_version(
    alice: GraphQLClient, service: Service
) -> None:
    created = await script(alice, "keep.py", "x = 1\n")
    before = await stored_script_objects(service)
    error = await alice.error(UPDATE_SCRIPT, {"id": created["id"], "input": {"content": "def ("}})
    assert error["extensions"]["code"] == "INVALID_SCRIPT"
    current = (await alice.data(SCRIPT_BY_ID, {"id": created["id"]}))["script"]
    assert (current["version"], current["content"]) == (1, "x = 1\n")
    assert await stored_script_objects(service) == before


async def test_content_size_is_capped(alice: GraphQLClient, service: Service) -> None:
    cap = service.settings.max_script_bytes
    error = await alice.error(
        CREATE_SCRIPT, {"input": {"name": "big.py", "content": "#" * (cap + 1)}}
    )
    assert error["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_request_body_size_is_capped(alice: GraphQLClient, service: Service) -> None:
    too_big = "#" * (service.settings.max_json_body_bytes + 10)
    response = await alice.post(CREATE_SCRIPT, {"input": {"name": "huge.py", "content": too_big}})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_content_and_file_are_exclusive(alice: GraphQLClient) -> None:
    both = await alice.upload(
        CREATE_SCRIPT,
        {"input": {"name": "both.py", "content": "x = 1\n", "file": None}},
        {"variables.input.file": ("both.py", b"x = 2\n", "text/x-python")},
    )
    assert both.status_code == 200, both.text
    error = both.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"] == "Give `content` or `file`, not both."
    assert (await alice.data(SCRIPT_BY_PATH, {"path": "both.py"}))["script"] is None

    neither = await alice.error(CREATE_SCRIPT, {"input": {"name": "none.py"}})
    assert neither["extensions"]["code"] == "BAD_USER_INPUT"
    assert neither["message"] == "Give the script's `content` or upload it as `file`."


UPLOAD_SCRIPT = """
mutation($input: CreateScriptInput!) {
  createScript(input: $input) { id name content version language }
}
"""


async def test_content_as_a_multipart_upload(alice: GraphQLClient) -> None:
    body = b"def main(data):\n    return {'ok': True}\n"
    response = await alice.upload(
        UPLOAD_SCRIPT,
        {"input": {"name": "uploaded.py", "file": None}},
        {"variables.input.file": ("uploaded.py", body, "text/x-python")},
    )
    assert response.status_code == 200, response.text
    created = response.json()["data"]["createScript"]
    assert created["content"] == body.decode()
    assert created["language"] == "PYTHON"

    update = await alice.upload(
        "mutation($id: ID!, $input: UpdateScriptInput!) { updateScript(id: $id, input: $input) "
        "{ version content } }",
        {"id": created["id"], "input": {"file": None}},
        {"variables.input.file": ("v2.py", b"x = 2\n", "text/x-python")},
    )
    assert update.json()["data"]["updateScript"] == {"version": 2, "content": "x = 2\n"}


async def test_upload_must_be_utf8_text(alice: GraphQLClient) -> None:
    response = await alice.upload(
        UPLOAD_SCRIPT,
        {"input": {"name": "binary.py", "file": None}},
        {"variables.input.file": ("binary.py", b"\xff\xfe\x00binary", "application/octet-stream")},
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_multipart_without_a_preflight_header_is_refused(alice: GraphQLClient) -> None:
    # What a cross-site HTML form could send: multipart, no Authorization.
    response = await alice.upload(
        UPLOAD_SCRIPT,
        {"input": {"name": "csrf.py", "file": None}},
        {"variables.input.file": ("csrf.py", b"x = 1\n", "text/x-python")},
        headers={},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "CSRF_PREVENTED"


async def test_multipart_upload_size_is_capped(alice: GraphQLClient, service: Service) -> None:
    cap = service.settings.max_upload_bytes
    response = await alice.upload(
        UPLOAD_SCRIPT,
        {"input": {"name": "huge.py", "file": None}},
        {"variables.input.file": ("huge.py", b"#" * (cap + 1), "text/x-python")},
    )
    assert response.status_code == 413


@pytest.mark.parametrize("depth", [41])
async def test_query_depth_is_limited(alice: GraphQLClient, depth: int) -> None:
    query = "{ tree { folders { " + "folders { " * depth + "id" + " }" * depth + " } } }"
    error = await alice.error(query)
    assert "exceeds maximum operation depth" in error["message"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_query_tokens_are_limited(alice: GraphQLClient) -> None:
    query = "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(1300)) + " }"
    error = await alice.error(query)
    # The parser stops at the token limit, so the document never parses.
    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    assert "tokens" in error["message"]


async def test_syntax_errors_have_a_code(alice: GraphQLClient) -> None:
    error = await alice.error("{ me { id }")
    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    error = await alice.error("{ me { nope } }")
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    error = await alice.error("query($id: ID!) { folder(id: $id) { id } }", {"id": {"x": 1}})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
