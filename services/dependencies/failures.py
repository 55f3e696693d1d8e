"""Why a set of dependencies cannot be had: one exception with a stable
DEPENDENCY_* (or SANDBOX_UNAVAILABLE) code, which a run fails with and the
script shows, and which of those codes are worth trying again at once."""

from __future__ import annotations

# Failures that say nothing about the requirements: tried again at once.
TRANSIENT_CODES = frozenset(
    {"DEPENDENCY_INDEX_UNAVAILABLE", "DEPENDENCY_TIMEOUT", "SANDBOX_UNAVAILABLE"}
)


class DependencyFailure(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
