"""`POST /api/v1/scripts/{path}`: run a script by its path and answer with
its result, for software that cannot speak GraphQL (the seed's shape).

Request:  {"data": {...}}              (Bearer token required)
Success:  {"success": true, "result": {...}, "execution_time": 0.123, "execution_id": "..."}
Failure:  {"success": false, "error": {"code": "...", "message": "..."}, ...}
Errors use the same codes as GraphQL."""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from core.errors import BadUserInput, ClientError, ClientErrorCode, MalformedRequest
from core.roles import TokenScope
from core.statuses import ExecutionStatus
from graphql_api.client_input import load_client_json_async
from models.executions import Execution
from resolvers.context import ApiServices
from services.tree import script_at_path

log = logging.getLogger(__name__)

# The execution ran but did not succeed: the request itself was fine.
STATUS_FOR_OUTCOME = {
    ExecutionStatus.FAILED: 422,
    ExecutionStatus.TIMED_OUT: 504,
    ExecutionStatus.CANCELLED: 409,
}


def _failure(code: str, message: str, http_status: int, **extra: Any) -> JSONResponse:
    """`code` is a client error code, or the code an execution ended with."""
    return JSONResponse(
        {"success": False, "error": {"code": code, "message": message}, **extra},
        status_code=http_status,
    )


async def _data_of(request: Request) -> Any:
    body = await request.body()
    if not body.strip():
        return {}
    try:
        payload = await load_client_json_async(body, what="The body")
    except MalformedRequest as exc:
        # This path's contract since it began: unreadable JSON is BAD_USER_INPUT.
        raise BadUserInput(exc.message) from None
    if not isinstance(payload, dict):
        raise BadUserInput('The body must be a JSON object such as {"data": {...}}.')
    return payload.get("data", {})


def _outcome_response(row: Execution) -> JSONResponse:
    seconds = (row.duration_ms or 0) / 1000
    common = {"execution_id": str(row.id), "execution_time": seconds}
    if row.status is ExecutionStatus.SUCCEEDED:
        result = None if row.result_json is None else json.loads(row.result_json)
        return JSONResponse({"success": True, "result": result, **common})
    if not row.status.is_terminal:
        return _failure(
            ClientErrorCode.STILL_RUNNING.value,
            "The execution has not finished; follow it by its execution_id.",
            ClientErrorCode.STILL_RUNNING.http_status,
            **common,
        )
    return _failure(
        row.error_code or row.status.name,
        row.error_message or f"The execution ended {row.status.name}.",
        STATUS_FOR_OUTCOME.get(row.status, 500),
        status=row.status.name,
        stdout=row.stdout,
        stderr=row.stderr,
        **common,
    )


async def run_script_by_path(request: Request) -> JSONResponse:
    services: ApiServices = request.app.state.services
    try:
        authorization = request.headers.get("authorization")
        caller = await services.accounts.caller_with_scope(authorization, TokenScope.RUN, "run")
        script = await script_at_path(caller, request.path_params["path"])
        data = await _data_of(request)
        row = await services.executions.submit(caller, script, data, None)
        row = await services.executions.wait(row.id, services.executions.wait_timeout(row))
        return _outcome_response(row)
    except ClientError as exc:
        return _failure(exc.code.value, exc.message, exc.http_status)
    except Exception:
        log.exception("unexpected error in POST %s", request.url.path)
        internal = ClientErrorCode.INTERNAL_SERVER_ERROR
        return _failure(internal.value, "Internal error.", internal.http_status)
