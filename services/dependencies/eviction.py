"""The environment cache's bounds: past ``cache_bytes`` per engine the least
recently used environments go, and volumes no row needs any more are removed.

An environment used within ``evict_protect_seconds`` is never evicted (a run
may still have it mounted), and marking one EVICTED is conditional on it not
having been used meanwhile, so a run that marks it used at that moment wins.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from tortoise.expressions import F

from models.dependencies import EnvStatus, PythonEnv
from sandbox import DockerSandbox
from services.dependencies.claims import now
from services.dependencies.config import DependencyConfig

log = logging.getLogger(__name__)


async def evict_least_recently_used(
    sandbox: DockerSandbox, engine_id: str, config: DependencyConfig, keep: str | None = None
) -> int:
    """Remove least recently used environments while over the cap; how many."""
    rows = await PythonEnv.filter(engine=engine_id, status=EnvStatus.READY).order_by("last_used_at")
    total = sum(r.size_bytes for r in rows)
    cutoff = now() - timedelta(seconds=config.evict_protect_seconds)
    evicted = 0
    for row in rows:
        if total <= config.cache_bytes:
            break
        if row.hash == keep or row.last_used_at is None or row.last_used_at >= cutoff:
            continue
        marked = await PythonEnv.filter(
            id=row.id, status=EnvStatus.READY, last_used_at__lt=cutoff
        ).update(status=EnvStatus.EVICTED, claim_seq=F("claim_seq") + 1, updated_at=now())
        if not marked:
            continue  # used meanwhile
        total -= row.size_bytes
        evicted += 1
        log.info("evicting environment %s (%d bytes)", row.hash[:12], row.size_bytes)
        if row.volume and await sandbox.remove_environment_volume(row.volume):
            await PythonEnv.filter(id=row.id, status=EnvStatus.EVICTED).update(volume=None)
    return evicted


async def remove_unneeded_volumes(sandbox: DockerSandbox, engine_id: str, namespace: str) -> int:
    """Remove volumes of this namespace that no row of ours needs any more."""
    volumes = await sandbox.environment_volumes(namespace)
    hashes = {h for _name, h in volumes if h}
    rows = {r.hash: r for r in await PythonEnv.filter(engine=engine_id, hash__in=list(hashes))}
    removed = 0
    for name, hash_ in volumes:
        row = rows.get(hash_)
        if row is None:
            continue  # another deployment's (another database) or not ours to judge
        wanted = row.volume == name and row.status in (EnvStatus.READY, EnvStatus.BUILDING)
        if not wanted and await sandbox.remove_environment_volume(name):
            removed += 1
            if row.volume == name:
                await PythonEnv.filter(id=row.id, volume=name).update(volume=None)
    return removed
