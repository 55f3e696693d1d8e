"""The execution error codes (core/codes.py): the strings clients match on,
and every code another part of the service hands a run is one of them."""

from __future__ import annotations

import re

from core.codes import ExecutionErrorCode
from sandbox.docker_backend import RUNNER_CODES
from tests.support.paths import REPO

# What GraphQL's `Execution.error.code` and REST's `error.code` have shown.
CLIENT_STRINGS = {
    "SCRIPT_ERROR",
    "NON_ZERO_EXIT",
    "OUT_OF_MEMORY",
    "INVALID_RESULT",
    "RESULT_TOO_LARGE",
    "TIMEOUT",
    "CANCELLED",
    "SANDBOX_ERROR",
    "SANDBOX_UNAVAILABLE",
    "INVALID_JOB",
    "NOT_FOUND",
    "MISSING_SECRET",
    "INPUT_FILE_ERROR",
    "MISSING_IMPORT",
    "IMPORT_REFUSED",
    "BUNDLE_TOO_LARGE",
    "DEPENDENCY_INVALID",
    "DEPENDENCY_NOT_FOUND",
    "DEPENDENCY_CONFLICT",
    "DEPENDENCY_NO_WHEEL",
    "DEPENDENCY_TOO_LARGE",
    "DEPENDENCY_TIMEOUT",
    "DEPENDENCY_INDEX_UNAVAILABLE",
    "DEPENDENCY_RESOLUTION_FAILED",
    "DEPENDENCY_INSTALL_FAILED",
    "WORKER_LOST",
    "INTERNAL_ERROR",
    "RATE_LIMITED",
    "BAD_USER_INPUT",
}


def test_each_code_is_its_own_name_and_none_changed() -> None:
    assert all(code.value == code.name for code in ExecutionErrorCode)
    assert {code.value for code in ExecutionErrorCode} == CLIENT_STRINGS


def _words_in(path: str, pattern: str) -> set[str]:
    found: set[str] = set()
    for source in (REPO / path).rglob("*.py"):
        found |= set(re.findall(pattern, source.read_text()))
    return found


def test_the_codes_the_dependency_manager_names_are_members() -> None:
    """It writes them as words (a failure's code becomes the run's code)."""
    words = _words_in("services/dependencies", r'"(DEPENDENCY_[A-Z_]+|SANDBOX_[A-Z_]+)"')
    assert words <= CLIENT_STRINGS, words - CLIENT_STRINGS


def test_the_host_accepts_exactly_the_codes_the_runner_gives() -> None:
    """The runner cannot import core; the host maps its words, and any other
    word from it is a SANDBOX_ERROR."""
    words = _words_in("sandbox/runner", r'(?:fail\(|"code": )"([A-Z_]+)"')
    assert words == {code.value for code in RUNNER_CODES}
