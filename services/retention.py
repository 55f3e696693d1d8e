"""Retention: execution history that stays small.

Two rules, each off at 0 (core/settings.py): ended executions queued more
than `days` ago go, and so do those of a script beyond its newest
`per_script`. An execution goes with everything that hangs on it: its
artifacts and stored output (in object storage as well as their rows), the
code of a run of unsaved code, its output batches, the pointers of scripts
and schedules to it as their last run, and a batch left with no execution.
A queued or running execution is never touched, whatever its age: only
ended ones are candidates, and the DELETE itself says so again.

Applied by every process that runs the scheduler, in batches of `batch`
executions, each batch a few short statements (no transaction spans a
batch). A lease (services/leases.py) makes one process at a time do it, so
two API processes never delete the same execution or race on its objects.
Objects go before their rows: a process that dies midway leaves rows whose
objects are gone, which the next round deletes, never objects nobody knows.
Under the same lease, every `sweep_interval` it also deletes the objects no
row names any more (services/orphan_sweep.py), whatever left them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.functions import Count

from core.settings import Settings
from core.statuses import TERMINAL_STATUSES
from models.batches import Batch
from models.executions import Execution
from models.files import Artifact
from models.schedules import Schedule
from models.tree import Script
from services import leases
from services.execution_objects import delete_objects_of, with_objects
from services.orphan_sweep import SweepReport, sweep
from storage import ObjectStore

log = logging.getLogger(__name__)

LEASE = "retention"
# Far longer than one batch takes; renewed after each batch.
LEASE_TTL = timedelta(minutes=5)
LEASE_POLL_SECONDS = 0.25
# Ids per IN (...) list when measuring without deleting: below every
# database's limit on the parameters of one statement.
MEASURE_CHUNK = 500


@dataclass(frozen=True)
class RetentionRules:
    days: int = 0
    per_script: int = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetentionRules:
        return cls(max(0, settings.retention_days), max(0, settings.retention_per_script))

    @property
    def enabled(self) -> bool:
        return self.days > 0 or self.per_script > 0


@dataclass
class PruneReport:
    """What went (or, in a dry run, would go)."""

    dry_run: bool = False
    executions: int = 0
    artifacts: int = 0
    artifact_bytes: int = 0
    stored_outputs: int = 0
    stored_output_bytes: int = 0
    # True when another process held the lease for the whole wait: it is
    # pruning, and this one did nothing.
    busy: bool = False

    def add(self, other: PruneReport) -> None:
        self.executions += other.executions
        self.artifacts += other.artifacts
        self.artifact_bytes += other.artifact_bytes
        self.stored_outputs += other.stored_outputs
        self.stored_output_bytes += other.stored_output_bytes

    def as_dict(self) -> dict[str, int | bool]:
        return {
            "dry_run": self.dry_run,
            "executions": self.executions,
            "artifacts": self.artifacts,
            "artifact_bytes": self.artifact_bytes,
            "stored_outputs": self.stored_outputs,
            "stored_output_bytes": self.stored_output_bytes,
            "busy": self.busy,
        }


async def candidates(rules: RetentionRules, now: datetime, limit: int | None) -> list[str]:
    """Ids of ended executions past a rule, oldest first (at most `limit`)."""
    ids: dict[str, None] = {}
    if rules.days > 0:
        query = Execution.filter(
            status__in=TERMINAL_STATUSES, queued_at__lt=now - timedelta(days=rules.days)
        ).order_by("queued_at")
        if limit is not None:
            query = query.limit(limit)
        ids.update((str(i), None) for i in await query.values_list("id", flat=True))
    if rules.per_script > 0:
        for script_id in await _scripts_over(rules.per_script):
            left = None if limit is None else limit - len(ids)
            if left is not None and left <= 0:
                break
            ids.update((i, None) for i in await _beyond_newest(script_id, rules.per_script, left))
    return list(ids)


async def _scripts_over(keep: int) -> list[str]:
    """The scripts with more than `keep` executions (ended or not)."""
    rows = (
        await Execution.filter(script_id__not_isnull=True)
        .annotate(runs=Count("id"))
        .group_by("script_id")
        .filter(runs__gt=keep)
        .values_list("script_id", flat=True)
    )
    return [str(script_id) for script_id in rows]


async def _beyond_newest(script_id: str, keep: int, limit: int | None) -> list[str]:
    """Ended executions of the script older than its `keep` newest (on a tie
    in queue time, the tied ones stay: keeping one too many is harmless)."""
    kept_last = (
        await Execution.filter(script_id=script_id)
        .order_by("-queued_at")
        .offset(keep - 1)
        .limit(1)
        .values_list("queued_at", flat=True)
    )
    if not kept_last:
        return []
    query = Execution.filter(
        script_id=script_id, status__in=TERMINAL_STATUSES, queued_at__lt=kept_last[0]
    ).order_by("queued_at")
    if limit is not None:
        query = query.limit(limit)
    return [str(i) for i in await query.values_list("id", flat=True)]


async def measure(ids: list[str]) -> PruneReport:
    """What deleting these executions frees (read only)."""
    report = PruneReport()
    for start in range(0, len(ids), MEASURE_CHUNK):
        chunk = ids[start : start + MEASURE_CHUNK]
        outputs: list[Any] = await Execution.filter(
            id__in=chunk, status__in=TERMINAL_STATUSES, output_key__not_isnull=True
        ).values_list("output_stored_bytes", flat=True)
        sizes: list[Any] = await Artifact.filter(execution_id__in=chunk).values_list(
            "size", flat=True
        )
        report.add(
            PruneReport(
                executions=await Execution.filter(
                    id__in=chunk, status__in=TERMINAL_STATUSES
                ).count(),
                artifacts=len(sizes),
                artifact_bytes=sum(int(size) for size in sizes),
                stored_outputs=len(outputs),
                stored_output_bytes=sum(int(size or 0) for size in outputs),
            )
        )
    return report


class Retention:
    """The rules, applied: once (`prune`, the admin command) or every
    interval (`start`, beside the scheduler)."""

    def __init__(
        self,
        store: ObjectStore,
        rules: RetentionRules,
        batch: int = 100,
        interval: float = 60.0,
        pause: float = 0.0,
        holder: str | None = None,
        sweep_interval: float = 0.0,
        orphan_grace: timedelta = timedelta(hours=1),
    ) -> None:
        self._store = store
        self.rules = rules
        self._batch = max(1, batch)
        self._interval = interval
        self._pause = max(0.0, pause)
        self._sweep_interval = max(0.0, sweep_interval)
        self._orphan_grace = orphan_grace
        self._next_sweep = 0.0  # loop time; set at start()
        # Unique per process: two processes on one machine are two holders.
        self._holder = holder or f"retention-{uuid.uuid4().hex}"
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings, store: ObjectStore) -> Retention:
        return cls(
            store,
            RetentionRules.from_settings(settings),
            settings.retention_batch,
            settings.retention_interval_seconds,
            settings.retention_pause_seconds,
            sweep_interval=settings.orphan_sweep_seconds,
            orphan_grace=timedelta(seconds=max(0.0, settings.orphan_grace_seconds)),
        )

    async def prune(
        self, *, dry_run: bool = False, now: datetime | None = None, wait: float = 0.0
    ) -> PruneReport:
        """Apply the rules once, all the way; or, with `dry_run`, only say
        what that would delete. `wait`: how long to wait for another process
        pruning at the moment (its report then says `busy`)."""
        now = now or datetime.now(UTC)
        if not self.rules.enabled:
            return PruneReport(dry_run=dry_run)
        if dry_run:
            report = await measure(await candidates(self.rules, now, None))
            report.dry_run = True
            return report
        report = PruneReport()
        if not await self._take_lease(wait):
            report.busy = True
            return report
        try:
            while ids := await candidates(self.rules, now, self._batch):
                report.add(await self.delete_batch(ids))
                await asyncio.sleep(self._pause)
                if not await leases.take(LEASE, self._holder, LEASE_TTL):
                    log.warning("retention: lost the lease; another process goes on")
                    break
        finally:
            await leases.give_back(LEASE, self._holder)
        return report

    async def sweep_orphans(
        self, *, dry_run: bool = False, now: datetime | None = None, wait: float = 0.0
    ) -> SweepReport | None:
        """Delete (or count) the stored objects no row names, older than the
        grace period; None when another process held the lease all along."""
        now = now or datetime.now(UTC)
        if dry_run:
            return await sweep(self._store, now, self._orphan_grace, dry_run=True)
        if not await self._take_lease(wait):
            return None
        try:
            return await sweep(self._store, now, self._orphan_grace)
        finally:
            await leases.give_back(LEASE, self._holder)

    async def _take_lease(self, wait: float) -> bool:
        deadline = asyncio.get_running_loop().time() + wait
        while not await leases.take(LEASE, self._holder, LEASE_TTL):
            if asyncio.get_running_loop().time() >= deadline:
                return False
            await asyncio.sleep(LEASE_POLL_SECONDS)
        return True

    async def delete_batch(self, ids: list[str]) -> PruneReport:
        """Delete these executions, if ended: their objects, then their rows
        and what points at them. Between processes, only under the lease."""
        report = await measure(ids)
        ended = Execution.filter(id__in=ids, status__in=TERMINAL_STATUSES)
        await delete_objects_of(self._store, await with_objects(ended))
        batch_ids = set(
            await Execution.filter(id__in=ids, batch_id__not_isnull=True).values_list(
                "batch_id", flat=True
            )
        )
        # Ended rows only, again: a rule's candidates are ended, and no row
        # leaves an ended status, but the DELETE is what must never be wrong.
        # (Its count is not the report's: on SQLite it counts the rows its
        # cascade deletes too.)
        await Execution.filter(id__in=ids, status__in=TERMINAL_STATUSES).delete()
        await Script.filter(last_execution_id__in=ids).update(last_execution_id=None)
        await Schedule.filter(last_execution_id__in=ids).update(last_execution_id=None)
        for batch_id in batch_ids:
            if not await Execution.exists(batch_id=batch_id):
                await Batch.filter(id=batch_id).delete()
        return report

    # --- beside the scheduler -----------------------------------------------------

    async def start(self) -> None:
        # The first sweep one interval after start, not at it: it reads the
        # whole store, and a deployment restarts far more often than hourly
        # (the requests right after a start would share the CPU with it).
        self._next_sweep = asyncio.get_running_loop().time() + self._sweep_interval
        if self.rules.enabled or self._sweep_interval > 0:
            self._task = asyncio.create_task(self._prune_forever(), name="retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _prune_forever(self) -> None:
        while True:
            try:
                report = await self.prune()
                if report.executions:
                    log.info("retention deleted %s", report.as_dict())
                await self._sweep_when_due()
            except Exception:  # the database or the store blinked: next round
                log.warning("retention round failed", exc_info=True)
            await asyncio.sleep(self._interval)

    async def _sweep_when_due(self) -> None:
        if self._sweep_interval <= 0:
            return
        clock = asyncio.get_running_loop().time()
        if clock < self._next_sweep:
            return
        if await self.sweep_orphans() is not None:
            self._next_sweep = clock + self._sweep_interval
