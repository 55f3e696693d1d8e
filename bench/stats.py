"""Order statistics and number formatting for the report."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    if len(ordered) == 1:
        return float(ordered[0])
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = math.ceil(rank)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))


@dataclass(frozen=True)
class Summary:
    n: int
    median: float
    p25: float
    p75: float
    p95: float
    p99: float
    minimum: float
    maximum: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        return cls(
            n=len(values),
            median=percentile(values, 50),
            p25=percentile(values, 25),
            p75=percentile(values, 75),
            p95=percentile(values, 95),
            p99=percentile(values, 99),
            minimum=min(values) if values else math.nan,
            maximum=max(values) if values else math.nan,
        )

    def iqr(self, unit: str = "", digits: int = 0) -> str:
        return f"IQR {num(self.p25, digits)}-{num(self.p75, digits)}{unit}"

    def range(self, unit: str = "", digits: int = 0) -> str:
        return f"{num(self.minimum, digits)}-{num(self.maximum, digits)}{unit}"

    def as_dict(self) -> dict[str, float]:
        return {
            "n": self.n,
            "median": self.median,
            "p25": self.p25,
            "p75": self.p75,
            "p95": self.p95,
            "p99": self.p99,
            "min": self.minimum,
            "max": self.maximum,
        }


def num(value: float | None, digits: int = 0) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    if digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def ratio(value: float | None, digits: int = 2) -> str:
    if value is None or math.isnan(value) or math.isinf(value):
        return "n/a"
    return f"{value:.{digits}f}x"
