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

from core.errors import (
    BadUserInput,
    ClientError,
    ClientErrorCode,
    MalformedRequest,
    Unauthenticated,
)
from core.roles import TokenScope
from core.statuses import ExecutionStatus
from graphql_api.client_input import load_client_json_async
from models.executions import Execution
from resolvers.context import ApiServices
from services.access import Caller
from services.audit import AuditRecord, actor_fields, refused_token_prefix
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
    audit = _Audited(services, request)
    try:
        authorization = request.headers.get("authorization")
        try:
            caller = await services.accounts.caller_with_scope(authorization, TokenScope.RUN, "run")
        except Unauthenticated as exc:
            await services.audit.token_refused(exc, authorization, audit.client_address)
            audit.refusal = exc
            raise
        audit.caller = caller
        script = await script_at_path(caller, request.path_params["path"])
        audit.script_id, audit.owner_id = str(script.id), str(script.owner_id)
        data = await _data_of(request)
        row = await services.executions.submit(caller, script, data, None)
        # Recorded once the run is accepted: how it ends is the run's outcome,
        # as with the runScript mutation.
        await audit.record(ACCEPTED)
        row = await services.executions.wait(row.id, services.executions.wait_timeout(row))
        return _outcome_response(row)
    except ClientError as exc:
        await audit.record(exc.code.value)
        return _failure(exc.code.value, exc.message, exc.http_status)
    except Exception:
        log.exception("unexpected error in POST %s", request.url.path)
        internal = ClientErrorCode.INTERNAL_SERVER_ERROR
        await audit.record(internal.value)
        return _failure(internal.value, "Internal error.", internal.http_status)


ACCEPTED = "ok"
REST_RUN = "rest.runScript"


class _Audited:
    """The audit entry of one REST run, filled in as the request goes and
    written once (by `record`)."""

    def __init__(self, services: ApiServices, request: Request) -> None:
        self.services = services
        client = request.client
        self.client_address = client.host if client is not None else None
        self.caller: Caller | None = None
        self.refusal: Unauthenticated | None = None
        self.script_id: str | None = None
        self.owner_id: str | None = None
        self._written = False

    async def record(self, outcome: str) -> None:
        if self._written:
            return
        self._written = True
        actor = actor_fields(self.caller)
        if self.caller is None and self.refusal is not None:
            actor["token_prefix"] = refused_token_prefix(self.refusal)
        await self.services.audit.record(
            AuditRecord(
                action=REST_RUN,
                outcome=outcome,
                object_type="Script" if self.script_id else None,
                object_id=self.script_id,
                object_owner_id=self.owner_id,
                client_address=self.client_address,
                **actor,
            )
        )
