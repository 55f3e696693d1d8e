"""What /metrics reads from the database when it is scraped: values that
only the database knows across every process and machine."""

from __future__ import annotations

from core.statuses import ExecutionStatus
from models.executions import Execution


async def queue_depth() -> int:
    """Executions queued and not yet claimed by any worker."""
    return await Execution.filter(status=ExecutionStatus.QUEUED).count()
