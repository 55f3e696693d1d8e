"""GraphQL documents and helpers for the tree tests."""

from __future__ import annotations

from typing import Any

from tests.support.client import GraphQLClient

CREATE_FOLDER = """
mutation($name: String!, $parentId: ID) {
  createFolder(name: $name, parentId: $parentId) { id name path parent { id } }
}
"""
CREATE_SCRIPT = """
mutation($input: CreateScriptInput!) {
  createScript(input: $input) { id name path language version description content
    folder { id } versions { version sha256 size } }
}
"""
UPDATE_SCRIPT = """
mutation($id: ID!, $input: UpdateScriptInput!) {
  updateScript(id: $id, input: $input) { id name path version language description content }
}
"""
SCRIPT_BY_PATH = """
query($path: String!) { script(path: $path) { id name path content version } }
"""
SCRIPT_BY_ID = """
query($id: ID!) { script(id: $id) { id name path content version
  versions { version sha256 size createdAt } } }
"""
TREE = """
{ tree {
    scripts { name path }
    folders { name path scripts { name path } folders { name path scripts { name path }
      folders { name path } } }
} }
"""


async def folder(client: GraphQLClient, name: str, parent_id: str | None = None) -> dict[str, Any]:
    data = await client.data(CREATE_FOLDER, {"name": name, "parentId": parent_id})
    result: dict[str, Any] = data["createFolder"]
    return result


async def script(
    client: GraphQLClient, name: str, content: str, folder_id: str | None = None, **extra: Any
) -> dict[str, Any]:
    data = await client.data(
        CREATE_SCRIPT,
        {"input": {"name": name, "content": content, "folderId": folder_id, **extra}},
    )
    result: dict[str, Any] = data["createScript"]
    return result
