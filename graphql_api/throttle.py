"""Throttle for failed logins: after N failures for one username within a
window, further attempts are refused until the oldest failure ages out.

In memory, per process: enough to stop online guessing against one service
process. With several API processes each keeps its own count, so the limit
is per process (documented in the README)."""

from __future__ import annotations

import time
from collections import deque


class LoginThrottle:
    def __init__(self, max_failures: int, window_seconds: float, max_tracked: int = 100_000):
        self._max_failures = max_failures
        self._window = window_seconds
        self._max_tracked = max_tracked
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        while failures and failures[0] <= now - self._window:
            failures.popleft()
        if not failures:
            del self._failures[key]
        return failures

    def retry_after(self, key: str) -> float:
        """Seconds until another attempt is allowed; 0 when allowed now."""
        now = time.monotonic()
        failures = self._recent(key, now)
        if len(failures) < self._max_failures:
            return 0.0
        return max(0.0, failures[0] + self._window - now)

    def record_failure(self, key: str) -> None:
        now = time.monotonic()
        if key not in self._failures and len(self._failures) >= self._max_tracked:
            # Bound memory under a spray of usernames: forget the oldest entry.
            self._failures.pop(next(iter(self._failures)))
        self._recent(key, now)
        self._failures.setdefault(key, deque()).append(now)

    def reset(self, key: str) -> None:
        self._failures.pop(key, None)
