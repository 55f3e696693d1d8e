"""Requests per client address: a token bucket each, in this process.

For anonymous callers of public services, who have no account to hold to a
limit. Memory is bounded: past `max_addresses`, the address idle longest is
forgotten (it starts again with a full bucket, which only ever lets a
forgotten address send a burst it could have sent anyway after a pause).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict


class AddressRate:
    def __init__(self, per_minute: int, max_addresses: int = 10_000) -> None:
        self.capacity = float(max(per_minute, 1))
        self.per_second = self.capacity / 60.0
        self.max_addresses = max_addresses
        # address -> (tokens, when counted); least recently seen first.
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, address: str) -> float | None:
        """None when `address` may send one more request now; otherwise the
        seconds until it may."""
        now = time.monotonic()
        tokens, then = self._buckets.pop(address, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - then) * self.per_second)
        wait = None
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.per_second
        self._buckets[address] = (tokens, now)
        while len(self._buckets) > self.max_addresses:
            self._buckets.popitem(last=False)
        return wait

    @staticmethod
    def retry_after(wait: float) -> int:
        return max(1, math.ceil(wait))
