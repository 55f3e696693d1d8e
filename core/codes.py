"""Why an execution did not succeed: one vocabulary from the sandbox's outcome
through the worker and the services to what GraphQL (`Execution.error.code`)
and REST (`error.code`) show. Clients match on these strings; they never
change.

Not the client error codes of core/errors.py: those answer a request
(`RATE_LIMITED` to a `runScript` over the limit), these are recorded on an
execution. Two words are shared on purpose: a schedule's tick refused as
`runScript` would have been is recorded with the code that call would have
answered."""

from __future__ import annotations

from enum import StrEnum


class ExecutionErrorCode(StrEnum):
    # The script's own fault, as the runner judged it (and the host re-checked).
    SCRIPT_ERROR = "SCRIPT_ERROR"
    NON_ZERO_EXIT = "NON_ZERO_EXIT"
    OUT_OF_MEMORY = "OUT_OF_MEMORY"
    INVALID_RESULT = "INVALID_RESULT"
    RESULT_TOO_LARGE = "RESULT_TOO_LARGE"
    TIMEOUT = "TIMEOUT"
    CANCELLED = "CANCELLED"
    # The sandbox could not do its part.
    SANDBOX_ERROR = "SANDBOX_ERROR"
    SANDBOX_UNAVAILABLE = "SANDBOX_UNAVAILABLE"
    INVALID_JOB = "INVALID_JOB"
    # What the run needed was missing when the worker prepared it.
    NOT_FOUND = "NOT_FOUND"
    MISSING_SECRET = "MISSING_SECRET"
    INPUT_FILE_ERROR = "INPUT_FILE_ERROR"
    # The scripts it imports: one names no script, one reaches out of the
    # tree ('..', an absolute path), or together they are over the caps.
    MISSING_IMPORT = "MISSING_IMPORT"
    IMPORT_REFUSED = "IMPORT_REFUSED"
    BUNDLE_TOO_LARGE = "BUNDLE_TOO_LARGE"
    # Python dependencies could not be resolved or installed.
    DEPENDENCY_INVALID = "DEPENDENCY_INVALID"
    DEPENDENCY_NOT_FOUND = "DEPENDENCY_NOT_FOUND"
    DEPENDENCY_CONFLICT = "DEPENDENCY_CONFLICT"
    DEPENDENCY_NO_WHEEL = "DEPENDENCY_NO_WHEEL"
    DEPENDENCY_TOO_LARGE = "DEPENDENCY_TOO_LARGE"
    DEPENDENCY_TIMEOUT = "DEPENDENCY_TIMEOUT"
    DEPENDENCY_INDEX_UNAVAILABLE = "DEPENDENCY_INDEX_UNAVAILABLE"
    DEPENDENCY_RESOLUTION_FAILED = "DEPENDENCY_RESOLUTION_FAILED"
    DEPENDENCY_INSTALL_FAILED = "DEPENDENCY_INSTALL_FAILED"
    # The service's side.
    WORKER_LOST = "WORKER_LOST"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    # A schedule's tick refused before it could queue.
    RATE_LIMITED = "RATE_LIMITED"
    BAD_USER_INPUT = "BAD_USER_INPUT"
