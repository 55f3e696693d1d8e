"""What a benchmark hands to the report: table rows (already formatted),
method notes, and the raw numbers (kept in bench/results/*.json)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Row:
    id: str
    what: str
    median: str
    spread: str
    baseline: str
    ratio: str
    goal: str
    met: bool | None  # None: no goal, or not measured


@dataclass
class BenchResult:
    id: str
    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0

    @property
    def missed(self) -> bool:
        return self.error is None and any(row.met is False for row in self.rows)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BenchResult:
        rows = [Row(**row) for row in data.get("rows", [])]
        return cls(
            id=data["id"],
            title=data["title"],
            rows=rows,
            notes=list(data.get("notes", [])),
            raw=dict(data.get("raw", {})),
            error=data.get("error"),
            seconds=float(data.get("seconds", 0.0)),
        )


def met_text(met: bool | None) -> str:
    return {True: "yes", False: "**no**", None: "-"}[met]
