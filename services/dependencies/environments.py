"""Python dependencies of runs: resolve once, build once, cache, evict.

``prepare`` is what the worker calls before a Python run: it turns what the
script declares into a ready environment (a Docker named volume) and returns
the mount and variables for the run, or a DEPENDENCY_* failure. Sets saved
since (PENDING, ``status.py``) are prepared ahead, in the background.

* Resolution (pip, on the host, wheels only: ``resolution.py``) happens once
  per declared set (a ``DependencySet`` row keyed by its hash); its pins are
  kept and reused by every later run.
* An environment is built once per resolved set and engine (a ``PythonEnv``
  row keyed by the hash of the exact files and the runtime): a fresh volume
  with a random name, filled by one sandbox job
  (``DockerSandbox.install_environment``), and only then recorded READY. A
  failed or interrupted build is never READY; its volume is removed.
* One build at a time per key: in this process a shared task per key; across
  processes the row is claimed (``claims.py``); the others wait, and take
  over a stale claim.
* The cache is capped per engine (``eviction.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
import tempfile
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from tortoise.exceptions import IntegrityError

from core import metrics
from core.languages import Language
from core.settings import Settings
from core.tasks import cancel_and_wait
from models.dependencies import DependencySet, DependencyStatus, EnvStatus, PythonEnv
from models.tree import Script
from sandbox import (
    DockerSandbox,
    EngineIdentity,
    Installed,
    InstallFailed,
    Runtime,
    SandboxUnavailable,
    VolumeMount,
    Wheel,
    environment_mount,
    environment_variables,
)
from services.dependencies import claims
from services.dependencies.claims import now
from services.dependencies.config import DependencyConfig
from services.dependencies.declarations import (
    PYTHON_VERSION,
    DeclarationError,
    Declared,
    declared,
)
from services.dependencies.eviction import evict_least_recently_used, remove_unneeded_volumes
from services.dependencies.failures import DependencyFailure
from services.dependencies.resolution import Pin, Resolver, env_hash
from services.dependencies.status import pending_declarations

log = logging.getLogger(__name__)

T = TypeVar("T")
POLL_SECONDS = 0.3
# Saved sets taken up per look: the rest wait for the next one.
PREFETCH_BATCH = 8
VOLUME_PREFIX = "scriptbox-env-"


@dataclass(frozen=True)
class Prepared:
    """What a run needs for its dependencies (nothing, for most scripts)."""

    env: dict[str, str] = field(default_factory=dict)
    volumes: tuple[VolumeMount, ...] = ()
    error: tuple[str, str] | None = None  # (code, message): the run fails with it


@dataclass
class _Wheels:
    """Downloaded wheels waiting to be installed (a temporary folder)."""

    folder: Path
    pins: list[Pin]


class DependencyManager:
    def __init__(
        self,
        worker_name: str,
        settings: Settings,
        sandbox: DockerSandbox,
        config: DependencyConfig | None = None,
    ) -> None:
        self.name = worker_name
        self.config = config or DependencyConfig.from_settings(settings)
        self._sandbox = sandbox
        self._flights: dict[str, asyncio.Task[PythonEnv]] = {}
        self._builds: dict[str, asyncio.Task[PythonEnv]] = {}
        self._engine: EngineIdentity | None = None
        self._resolving = asyncio.Semaphore(2)
        self._background: set[asyncio.Task[Any]] = set()
        self._loops: list[asyncio.Task[None]] = []
        # Diagnostics (tests, logs): what this process did.
        self.resolutions = 0
        self.builds = 0
        self.evictions = 0

    # --- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        self._loops = [
            asyncio.create_task(self._janitor_loop(), name="deps-janitor"),
            asyncio.create_task(self._prefetch_loop(), name="deps-prefetch"),
        ]

    async def close(self) -> None:
        await cancel_and_wait([*self._loops, *self._background])
        flights = [*self._flights.values(), *self._builds.values()]
        if flights:
            await asyncio.wait(flights, timeout=10)

    # --- the worker's entry points ------------------------------------------------------

    async def prepare(
        self, script: Script, content: bytes, cancel: asyncio.Event | None = None
    ) -> Prepared:
        """The environment a run of this content needs, ready, or its failure."""
        if script.language is not Language.PYTHON:
            return Prepared()
        try:
            wanted = declared(content.decode("utf-8", "replace"), script.requirements)
        except DeclarationError as exc:
            return Prepared(error=("DEPENDENCY_INVALID", exc.message))
        if wanted is None:
            return Prepared()
        flight = self._flight(wanted)
        waiting: set[asyncio.Future[Any]] = {flight}
        cancelled = asyncio.ensure_future(cancel.wait()) if cancel is not None else None
        if cancelled is not None:
            waiting.add(cancelled)
        try:
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if cancelled is not None:
                cancelled.cancel()
        if not flight.done():
            return Prepared()  # cancelled: the sandbox reports it; the build goes on
        try:
            env = flight.result()
        except DependencyFailure as exc:
            return Prepared(error=(exc.code, exc.message))
        assert env.volume is not None
        return Prepared(env=environment_variables(), volumes=(environment_mount(env.volume),))

    async def ensure(self, wanted: Declared) -> PythonEnv:
        """The ready environment for a declared set (resolved and built if need be)."""
        return await self._flight(wanted)

    # --- sets saved since: prepared before any run asks -----------------------------------

    async def _prefetch_loop(self) -> None:
        while True:
            try:
                for wanted in await pending_declarations(PREFETCH_BATCH):
                    if wanted.key not in self._flights:
                        self._prefetch(wanted)
            except Exception:
                log.exception("looking for saved dependencies failed")
            await asyncio.sleep(self.config.pending_poll_seconds)

    def _prefetch(self, wanted: Declared) -> None:
        async def run() -> None:
            with contextlib.suppress(DependencyFailure):  # recorded on the set's row
                await self._flight(wanted)

        self._spawn(run(), f"deps-prefetch {wanted.key[:12]}")

    # --- one flight per declared set ------------------------------------------------------

    def _flight(self, wanted: Declared) -> asyncio.Task[PythonEnv]:
        key = wanted.key
        task = self._flights.get(key)
        if task is None:
            task = asyncio.create_task(self._ensure(wanted), name=f"deps {key[:12]}")
            self._flights[key] = task
            task.add_done_callback(lambda _t: self._flights.pop(key, None))
            task.add_done_callback(_consume)
        return task

    async def _ensure(self, wanted: Declared) -> PythonEnv:
        engine = await self._engine_identity()
        row, wheels = await self._resolved(wanted, engine.runtime)
        try:
            pins = [Pin.from_json(p) for p in row.pins]
            assert row.env_hash is not None
            try:
                env = await self._env(row.env_hash, pins, engine, wheels)
            except DependencyFailure as exc:
                if row.status is not DependencyStatus.READY:  # shown on the script
                    await claims.record_failure(row, exc)
                raise
            if row.status is not DependencyStatus.READY:
                await DependencySet.filter(id=row.id).update(
                    status=DependencyStatus.READY,
                    error_code=None,
                    error_message=None,
                    claimed_by=None,
                    heartbeat_at=None,
                    updated_at=now(),
                )
            return env
        finally:
            if wheels is not None:
                shutil.rmtree(wheels.folder, ignore_errors=True)

    # --- resolution -------------------------------------------------------------------------

    async def _resolved(
        self, wanted: Declared, runtime: Runtime
    ) -> tuple[DependencySet, _Wheels | None]:
        """The set with its pins; resolved here (with its wheels) if no one has."""
        deadline = time.monotonic() + self.config.wait_timeout_seconds
        while True:
            row = await DependencySet.get_or_none(key=wanted.key)
            if row is None:
                try:
                    row = await DependencySet.create(
                        key=wanted.key,
                        python_version=PYTHON_VERSION,
                        requirements=list(wanted.requirements),
                        status=DependencyStatus.RESOLVING,
                        claimed_by=self.name,
                        heartbeat_at=now(),
                        claim_seq=1,
                    )
                except IntegrityError:
                    continue
                return row, await self._resolve(row, runtime)
            if row.status in (DependencyStatus.READY, DependencyStatus.INSTALLING) and row.pins:
                return row, None
            if row.status is DependencyStatus.FAILED:
                failure = claims.standing_failure(row, self.config.retry_failed_seconds)
                if failure is not None:
                    raise failure
                if row.pins and row.env_hash:
                    return row, None  # resolved before; the environment failed: build again
            if row.status is DependencyStatus.RESOLVING and not self._stale(row):
                if time.monotonic() > deadline:
                    raise DependencyFailure("DEPENDENCY_TIMEOUT", "waited too long for resolution")
                await asyncio.sleep(POLL_SECONDS)
                continue
            if await claims.claim(row, DependencyStatus.RESOLVING, self.name):
                return row, await self._resolve(row, runtime)

    async def _resolve(self, row: DependencySet, runtime: Runtime) -> _Wheels:
        folder = self._work_folder("resolve")
        try:
            async with claims.heartbeat(row, self.config.stale_seconds), self._resolving:
                pins = await Resolver(self.config).resolve(list(row.requirements), runtime, folder)
            self.resolutions += 1
            row.pins = [p.as_json() for p in pins]
            row.env_hash = env_hash(pins, runtime)
            row.status = DependencyStatus.INSTALLING
            await DependencySet.filter(id=row.id, claim_seq=row.claim_seq).update(
                status=row.status,
                pins=row.pins,
                env_hash=row.env_hash,
                error_code=None,
                error_message=None,
                resolved_at=now(),
                heartbeat_at=now(),
                updated_at=now(),
            )
            return _Wheels(folder / "wheels", pins)
        except DependencyFailure as exc:
            shutil.rmtree(folder, ignore_errors=True)
            await claims.record_failure(row, exc)
            raise
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            await claims.release(row, DependencyStatus.PENDING)
            raise

    # --- environments -------------------------------------------------------------------------

    async def _env(
        self, hash_: str, pins: list[Pin], engine: EngineIdentity, wheels: _Wheels | None
    ) -> PythonEnv:
        task = self._builds.get(hash_)
        if task is None:
            task = asyncio.create_task(
                self._env_once(hash_, pins, engine, wheels), name=f"env {hash_[:12]}"
            )
            self._builds[hash_] = task
            task.add_done_callback(lambda _t: self._builds.pop(hash_, None))
            task.add_done_callback(_consume)
        return await asyncio.shield(task)

    async def _env_once(
        self, hash_: str, pins: list[Pin], engine: EngineIdentity, wheels: _Wheels | None
    ) -> PythonEnv:
        deadline = time.monotonic() + self.config.wait_timeout_seconds
        while True:
            row = await PythonEnv.get_or_none(hash=hash_, engine=engine.engine_id)
            if row is None:
                try:
                    row = await PythonEnv.create(
                        hash=hash_,
                        engine=engine.engine_id,
                        status=EnvStatus.BUILDING,
                        pins=[p.as_json() for p in pins],
                        volume=_volume_name(hash_),
                        claimed_by=self.name,
                        heartbeat_at=now(),
                        claim_seq=1,
                    )
                except IntegrityError:
                    continue
                return await self._build(row, pins, engine.runtime, wheels)
            if row.status is EnvStatus.READY:
                if await self._use(row):
                    return row
                if row.status is not EnvStatus.READY:
                    continue  # evicted meanwhile: look again
            elif row.status is EnvStatus.FAILED and (
                failure := claims.standing_failure(row, self.config.retry_failed_seconds)
            ):
                raise failure
            elif row.status is EnvStatus.BUILDING and not self._stale(row):
                if time.monotonic() > deadline:
                    raise DependencyFailure(
                        "DEPENDENCY_TIMEOUT", "waited too long for the environment"
                    )
                await asyncio.sleep(POLL_SECONDS)
                continue
            old_volume = row.volume
            if await claims.claim(row, EnvStatus.BUILDING, self.name, volume=_volume_name(hash_)):
                if old_volume:
                    self._spawn(self._remove_volume(old_volume), "deps-remove-old")
                return await self._build(row, pins, engine.runtime, wheels)

    async def _use(self, row: PythonEnv) -> bool:
        """Mark a READY environment used; False when it is gone."""
        marked = await PythonEnv.filter(id=row.id, status=EnvStatus.READY).update(
            last_used_at=now()
        )
        if not marked:
            row.status = EnvStatus.EVICTED
            return False
        assert row.volume is not None
        try:
            ready = await self._sandbox.environment_volume_ready(row.volume, row.hash)
        except SandboxUnavailable as exc:
            raise DependencyFailure("SANDBOX_UNAVAILABLE", str(exc)) from None
        if ready:
            return True
        log.warning("environment volume %s is missing; building it again", row.volume)
        return False

    async def _build(
        self, row: PythonEnv, pins: list[Pin], runtime: Runtime, wheels: _Wheels | None
    ) -> PythonEnv:
        assert row.volume is not None
        volume = row.volume
        own: Path | None = None
        try:
            async with claims.heartbeat(row, self.config.stale_seconds):
                if wheels is None:
                    own = self._work_folder("download")
                    async with self._resolving:
                        await Resolver(self.config).download(pins, runtime, own)
                    wheels = _Wheels(own / "wheels", pins)
                installed = await self._install(row.hash, volume, wheels)
            at = now()
            updated = await PythonEnv.filter(id=row.id, claim_seq=row.claim_seq).update(
                status=EnvStatus.READY,
                size_bytes=installed.bytes,
                ready_at=at,
                last_used_at=at,
                error_code=None,
                error_message=None,
                claimed_by=None,
                heartbeat_at=None,
                updated_at=at,
            )
            if not updated:
                raise DependencyFailure("DEPENDENCY_TIMEOUT", "another worker took over the build")
            self.builds += 1
            metrics.DEPENDENCY_BUILDS.labels(outcome="built").inc()
            log.info(
                "built environment %s (%d pins, %d bytes) in %s",
                row.hash[:12],
                len(pins),
                installed.bytes,
                volume,
            )
            row.status, row.size_bytes, row.last_used_at = EnvStatus.READY, installed.bytes, at
            self._spawn(self.evict(keep=row.hash), "deps-evict")
            return row
        except DependencyFailure as exc:
            metrics.DEPENDENCY_BUILDS.labels(outcome="failed").inc()
            await self._remove_volume(volume)
            await claims.record_failure(row, exc)
            raise
        except BaseException:
            await self._remove_volume(volume)
            await claims.release(row, EnvStatus.FAILED)
            raise
        finally:
            if own is not None:
                shutil.rmtree(own, ignore_errors=True)

    async def _install(self, hash_: str, volume: str, wheels: _Wheels) -> Installed:
        files = [
            Wheel(p.file, p.sha256, (wheels.folder / p.file).read_bytes()) for p in wheels.pins
        ]
        try:
            await self._sandbox.create_environment_volume(volume, hash_, self.config.namespace)
            return await self._sandbox.install_environment(
                hash_,
                volume,
                files,
                self.config.max_env_bytes,
                self.config.max_env_files,
                self.config.install_timeout_seconds,
            )
        except SandboxUnavailable as exc:
            raise DependencyFailure("SANDBOX_UNAVAILABLE", str(exc)) from None
        except InstallFailed as exc:
            raise DependencyFailure("DEPENDENCY_INSTALL_FAILED", str(exc)) from None

    # --- the cache ------------------------------------------------------------------------------

    async def evict(self, keep: str | None = None) -> int:
        """Remove least recently used environments while over the cap."""
        engine = await self._engine_identity()
        evicted = await evict_least_recently_used(
            self._sandbox, engine.engine_id, self.config, keep
        )
        self.evictions += evicted
        return evicted

    async def clean_volumes(self) -> int:
        """Remove volumes of this namespace that no row of ours needs any more."""
        engine = await self._engine_identity()
        return await remove_unneeded_volumes(self._sandbox, engine.engine_id, self.config.namespace)

    async def _remove_volume(self, volume: str) -> bool:
        return await self._sandbox.remove_environment_volume(volume)

    async def _janitor_loop(self) -> None:
        while True:
            try:
                await self.evict()
                await self.clean_volumes()
            except Exception:
                log.exception("dependency cache clean-up failed")
            await asyncio.sleep(self.config.janitor_seconds)

    # --- helpers ---------------------------------------------------------------------------------

    def _stale(self, row: claims.ClaimedRow) -> bool:
        return claims.is_stale(row, self.config.stale_seconds)

    async def _engine_identity(self) -> EngineIdentity:
        if self._engine is None:
            try:
                self._engine = await self._sandbox.engine_identity()
            except SandboxUnavailable as exc:
                raise DependencyFailure("SANDBOX_UNAVAILABLE", str(exc)) from None
        return self._engine

    def _work_folder(self, purpose: str) -> Path:
        self.config.work_dir.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f"{purpose}-", dir=self.config.work_dir))

    def _spawn(self, coroutine: Awaitable[T], name: str) -> None:
        async def run() -> None:
            try:
                await coroutine
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s failed", name)

        task = asyncio.create_task(run(), name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


def _volume_name(hash_: str) -> str:
    # Random per build: a half-built volume never carries a name a READY row
    # could point at; the row names its volume only once it is READY.
    return f"{VOLUME_PREFIX}{hash_[:16]}-{secrets.token_hex(4)}"


def _consume(task: asyncio.Task[Any]) -> None:
    """Nobody may be left to await a flight: retrieve its exception."""
    if not task.cancelled():
        task.exception()
