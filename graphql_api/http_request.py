"""Reading a GraphQL-over-HTTP request into (query, variables, operationName,
extensions), for GET query parameters, JSON bodies and GraphQL multipart
requests, refusing every request the spec calls not well-formed with a coded
error before anything executes.

Every JSON value a client sends goes through `client_input` (depth, lone
surrogates, NUL), so nothing deep or unstorable gets past this module."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.datastructures import UploadFile
from strawberry.http import GraphQLRequestData, GraphQLRequestProtocol
from strawberry.http.parse_content_type import parse_content_type

from core.errors import MalformedMultipart, MalformedRequest, UnsupportedMediaType
from graphql_api.client_input import check_client_value, load_client_json

JSON_MEDIA_TYPE = "application/json"
MULTIPART_MEDIA_TYPE = "multipart/form-data"


def request_data_of(params: Any, protocol: GraphQLRequestProtocol) -> GraphQLRequestData:
    """The request's parameters, checked for the shape the spec gives them."""
    if isinstance(params, list):
        raise MalformedRequest(
            "Batched requests (a JSON array) are not supported; send one operation "
            'as a JSON object such as {"query": "..."}.'
        )
    if not isinstance(params, dict):
        raise MalformedRequest('The request must be a JSON object such as {"query": "..."}.')
    query = params.get("query")
    if query is None:
        raise MalformedRequest("The request has no 'query' (the GraphQL document as a string).")
    if not isinstance(query, str):
        raise MalformedRequest("The request's 'query' must be a string.")
    operation_name = params.get("operationName")
    if not isinstance(operation_name, str | None):
        raise MalformedRequest("The request's 'operationName' must be a string or null.")
    for name in ("variables", "extensions"):
        if not isinstance(params.get(name), dict | None):
            raise MalformedRequest(f"The request's '{name}' must be a JSON object or null.")
    return GraphQLRequestData(
        query=query,
        variables=params.get("variables"),
        operation_name=operation_name,
        extensions=params.get("extensions"),
        protocol=protocol,
    )


def params_of_query_string(query_params: Mapping[str, str]) -> dict[str, Any]:
    """GET: `variables` and `extensions` are JSON text in the URL."""
    params: dict[str, Any] = dict(query_params)
    check_client_value(params, what="The query parameters")
    for name in ("variables", "extensions"):
        text = params.get(name)
        params[name] = load_client_json(text, what=f"The '{name}' parameter") if text else None
    return params


def check_json_media_type(content_type: str | None) -> str:
    """The media type of a POST body, refusing what this endpoint cannot read."""
    if not content_type:
        raise UnsupportedMediaType(
            "Send a Content-Type: application/json (or multipart/form-data for uploads)."
        )
    media_type, params = parse_content_type(content_type)
    media_type = media_type.lower()
    charset = params.get("charset", "utf-8").lower()
    if media_type not in (JSON_MEDIA_TYPE, MULTIPART_MEDIA_TYPE):
        raise UnsupportedMediaType(
            f"Content-Type '{media_type}' is not supported; send application/json "
            "(or multipart/form-data for uploads)."
        )
    if media_type == JSON_MEDIA_TYPE and charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType(f"Only UTF-8 is supported, not charset '{charset}'.")
    return media_type


def multipart_params(form: Mapping[str, Any]) -> dict[str, Any]:
    """The `operations` of a GraphQL multipart request with its files in place
    of the nulls that `map` names (github.com/jaydenseric/graphql-multipart-request-spec)."""
    operations = _json_field(form, "operations")
    files_map = _json_field(form, "map") if "map" in form else {}
    if not isinstance(files_map, dict) or not all(
        isinstance(paths, list) and all(isinstance(path, str) for path in paths)
        for paths in files_map.values()
    ):
        raise MalformedMultipart(
            "The multipart 'map' must be a JSON object of lists of paths, "
            'such as {"0": ["variables.file"]}.'
        )
    for part, paths in files_map.items():
        upload = form.get(part)
        if not isinstance(upload, UploadFile):
            raise MalformedMultipart(
                f"The multipart 'map' names a file part '{part}' that the request lacks."
            )
        for path in paths:
            _put_file(operations, path, upload)
    return operations  # type: ignore[no-any-return]


def _json_field(form: Mapping[str, Any], name: str) -> Any:
    value = form.get(name)
    if not isinstance(value, str):
        raise MalformedMultipart(f"The multipart request has no '{name}' field (JSON text).")
    try:
        return load_client_json(value, what=f"The multipart '{name}' field")
    except MalformedRequest as exc:
        raise MalformedMultipart(exc.message) from None


def _put_file(operations: Any, path: str, upload: UploadFile) -> None:
    # Each path must lead to a null already in `operations`: a path that
    # leads nowhere is a client bug to report, not a key to invent.
    *steps, last = path.split(".")
    target = operations
    try:
        for step in steps:
            target = target[int(step)] if isinstance(target, list) else target[step]
        key: int | str = int(last) if isinstance(target, list) else last
        if target[key] is not None:
            raise LookupError
        target[key] = upload
    except (LookupError, TypeError, ValueError):
        raise MalformedMultipart(
            f"The multipart 'map' path '{path}' does not lead to a null in 'operations'."
        ) from None
