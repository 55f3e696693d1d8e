"""A script's own limit on its runs at once (`max_concurrent_runs`).

Set beside the script's other properties when it is created or updated; the
claim (services/executions/queue.py) enforces it, and
services/executions/waiting.py tells a waiting run's owner about it."""

from __future__ import annotations

from core.retries import checked_max_concurrent_runs
from models.tree import Script
from services.tree_revision import tree_changed


async def set_max_concurrent_runs(script: Script, limit: int | None) -> Script:
    """`limit` (None: no limit) on a script the caller may edit; checked
    again here, though callers check it before saving anything else."""
    limit = checked_max_concurrent_runs(limit)
    if script.max_concurrent_runs != limit:
        await Script.filter(id=script.id).update(max_concurrent_runs=limit)
        script.max_concurrent_runs = limit
        # Trees cached with the script show its limit too.
        await tree_changed(script.owner_id)
    return script
