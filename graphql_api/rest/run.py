"""`POST /api/v1/scripts/{path}`: run a script by its path and answer with
its result, for software that cannot speak GraphQL (the seed's shape).

Request:  {"data": {...}, "files": ["test/a.txt"], "target": "gpu",
           "retry": {"max_attempts": 3, "backoff_seconds": 2, "on": ["failed"]}}
          (Bearer token required; `files`, `target` and `retry` optional)
Success:  {"success": true, "result": {...}, "execution_time": 0.123,
           "execution_id": "...", "attempt": 1,
           "artifacts": [{"name", "key", "size", "url"}]}
Failure:  {"success": false, "error": {"code": "...", "message": "..."}, ...}
Errors use the same codes as GraphQL.

`files` are keys of the caller's files, copied into /job/in/ as runScript's
`files` are; a string `data.file_key` (the seed's convention) is copied too.
`artifacts` are what the script wrote to /job/out/, each downloadable from
its `url` with the same token. `target` is a worker tag, as in runScript:
only a worker carrying it runs the script. `retry` is runScript's policy in
this face's snake_case: the answer is the last attempt's (its
`execution_id` and `attempt`)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse

from core.errors import (
    BadUserInput,
    ClientError,
    ClientErrorCode,
    MalformedRequest,
    Unauthenticated,
)
from core.retries import RetryOutcome, RetryPolicy
from core.roles import TokenScope
from core.statuses import ExecutionStatus
from graphql_api.client_input import load_client_json_async
from graphql_api.rest.spec import Operation, RestRoute, answer, json_body, ref
from models.executions import Execution
from models.files import Artifact
from resolvers.context import ApiServices
from services.access import Caller
from services.audit import AuditRecord, actor_fields, refused_token_prefix
from services.tree import script_at_path

log = logging.getLogger(__name__)

# The seed's convention for handing a script one uploaded file.
FILE_KEY = "file_key"

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


@dataclass(frozen=True)
class RunRequest:
    data: Any
    files: list[str]
    target: str | None = None
    retry: RetryPolicy | None = None


async def _request_of(request: Request) -> RunRequest:
    body = await request.body()
    if not body.strip():
        return RunRequest({}, [])
    try:
        payload = await load_client_json_async(body, what="The body")
    except MalformedRequest as exc:
        # This path's contract since it began: unreadable JSON is BAD_USER_INPUT.
        raise BadUserInput(exc.message) from None
    if not isinstance(payload, dict):
        raise BadUserInput('The body must be a JSON object such as {"data": {...}}.')
    data = payload.get("data", {})
    files = payload.get("files") or []
    if not isinstance(files, list) or not all(isinstance(key, str) for key in files):
        raise BadUserInput("`files` must be a list of file keys.")
    file_key = data.get(FILE_KEY) if isinstance(data, dict) else None
    if file_key is not None and not isinstance(file_key, str):
        raise BadUserInput(f"`data.{FILE_KEY}` must be a file key (a string).")
    if file_key is not None and file_key not in files:
        files = [*files, file_key]
    target = payload.get("target")
    if target is not None and not isinstance(target, str):
        raise BadUserInput("`target` must be a worker tag (a string).")
    return RunRequest(data, files, target, _retry_of(payload.get("retry")))


RETRY_FIELDS = {"max_attempts", "backoff_seconds", "on"}


def _retry_of(value: Any) -> RetryPolicy | None:
    """runScript's retry policy, from this face's snake_case names."""
    if value is None:
        return None
    if not isinstance(value, dict) or not set(value) <= RETRY_FIELDS:
        raise BadUserInput(
            "`retry` must be an object of max_attempts, backoff_seconds and on, "
            'such as {"max_attempts": 3}.'
        )
    attempts, backoff, on = value.get("max_attempts"), value.get("backoff_seconds"), value.get("on")
    if not isinstance(attempts, int) or isinstance(attempts, bool):
        raise BadUserInput("`retry.max_attempts` must be an integer.")
    if backoff is not None and (not isinstance(backoff, int | float) or isinstance(backoff, bool)):
        raise BadUserInput("`retry.backoff_seconds` must be a number of seconds.")
    outcomes = {outcome.value: outcome for outcome in RetryOutcome}
    if on is not None and (
        not isinstance(on, list) or not all(isinstance(o, str) and o in outcomes for o in on)
    ):
        raise BadUserInput(f"`retry.on` must list outcomes of {sorted(outcomes)}.")
    try:
        return RetryPolicy.checked(
            attempts, backoff, None if on is None else [outcomes[o] for o in on]
        )
    except BadUserInput as exc:
        # The same bounds as runScript's, named as this face names them.
        message = exc.message.replace("maxAttempts", "max_attempts")
        raise BadUserInput(message.replace("backoffSeconds", "backoff_seconds")) from None


def _artifact_json(artifact: Artifact) -> dict[str, Any]:
    key = f"{artifact.execution_id}/{artifact.name}"
    return {
        "name": artifact.name,
        "key": key,
        "size": artifact.size,
        "content_type": artifact.content_type,
        "url": f"/artifacts/{quote(str(artifact.execution_id))}/{quote(artifact.name)}",
    }


def _outcome_response(
    row: Execution, artifacts: list[Artifact], output: tuple[str, str]
) -> JSONResponse:
    seconds = (row.duration_ms or 0) / 1000
    common = {
        "execution_id": str(row.id),
        "attempt": row.attempt,
        "execution_time": seconds,
        "artifacts": [_artifact_json(a) for a in artifacts],
    }
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
        stdout=output[0],
        stderr=output[1],
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
        run = await _request_of(request)
        row = await services.executions.submit(
            caller, script, run.data, None, files=run.files, target=run.target, retry=run.retry
        )
        # Recorded once the run is accepted: how it ends is the run's outcome,
        # as with the runScript mutation.
        await audit.record(ACCEPTED)
        row = await services.executions.wait_attempts(row)
        return _outcome_response(
            row,
            await services.executions.artifacts_of(row),
            await services.executions.output_of(row),
        )
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


ROUTES = [
    RestRoute(
        "/api/v1/scripts/{path:path}",
        {
            "post": Operation(
                run_script_by_path,
                "Run a script by its path and wait for its result",
                "Runs",
                {
                    "200": answer("The run succeeded.", ref("RunSucceeded")),
                    "202": answer("Still running (STILL_RUNNING).", ref("RunFailed")),
                    "409": answer("The run was cancelled.", ref("RunFailed")),
                    "422": answer("The run failed (its error code).", ref("RunFailed")),
                    "504": answer("The run timed out.", ref("RunFailed")),
                    "4XX": answer("The request was refused (a client code).", ref("RunFailed")),
                },
                request_body=json_body(ref("RunRequest")),
            )
        },
    )
]
