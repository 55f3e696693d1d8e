"""What the client reports instead of a traceback: a message, the service's
error code when there is one, and the exit code (client/outcomes.py)."""

from __future__ import annotations

from client.outcomes import ExitCode


class CliError(Exception):
    def __init__(self, message: str, exit_code: ExitCode, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.code = code

    def __str__(self) -> str:
        return f"{self.message} [{self.code}]" if self.code else self.message


class ServiceError(CliError):
    """The service answered with a GraphQL error (its message and extensions.code)."""

    def __init__(self, message: str, code: str | None) -> None:
        super().__init__(message, ExitCode.SERVICE_ERROR, code or "ERROR")


class Unreachable(CliError):
    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.UNREACHABLE)


class Conflict(CliError):
    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.CONFLICT, "CONFLICT")
