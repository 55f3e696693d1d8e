"""The environment cache: built once however many runs or processes ask,
never used half-built, least recently used evicted past the cap."""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import docker
import pytest

from models.dependencies import EnvStatus, PythonEnv
from sandbox import env_volumes
from sandbox.environments import runtime_for
from services.dependencies import DependencyManager, declared
from services.dependencies.resolution import Resolver, env_hash
from tests.support.client import GraphQLClient
from tests.support.deadlines import eventually
from tests.support.dependencies import GET, create, pep723, run
from tests.support.servers import Service

# The suite's service, on SQLite and PostgreSQL (local storage).
pytestmark = pytest.mark.parametrize("service", ["local", "postgres"], indirect=True)

VERSION = "import six\n\n\ndef main(data):\n    return six.__version__\n"


async def environment_hash(client: GraphQLClient, script_id: str) -> str:
    script = (await client.data(GET, {"id": script_id}))["script"]
    found: str = script["dependencies"]["environmentHash"]
    return found


def volumes_of(namespace: str, hash_: str) -> list[str]:
    api = docker.from_env().api
    return [name for name, h in env_volumes.list_volumes(api, namespace) if h == hash_]


async def test_two_runs_at_once_build_once(alice: GraphQLClient, deps: DependencyManager) -> None:
    builds = deps.builds
    first = await create(alice, "together-a.py", pep723("six==1.16.0", body=VERSION))
    second = await create(alice, "together-b.py", VERSION, requirements="six==1.16.0")
    runs = await asyncio.gather(*(run(alice, s["id"]) for s in (first, second, first)))
    assert [r["status"] for r in runs] == ["SUCCEEDED"] * 3, runs
    assert {r["result"] for r in runs} == {"1.16.0"}
    assert deps.builds == builds + 1
    hashes = {await environment_hash(alice, s["id"]) for s in (first, second)}
    [row] = await PythonEnv.filter(hash__in=list(hashes))
    assert row.status is EnvStatus.READY
    assert volumes_of(deps.config.namespace, row.hash) == [row.volume]


async def test_two_processes_build_an_environment_once(
    service: Service, deps: DependencyManager
) -> None:
    worker = service.process.worker
    assert worker is not None
    # A second manager on the same database and engine: another process,
    # as far as the claims are concerned (no shared in-process state).
    other = DependencyManager("another-process", service.settings, worker._sandbox, deps.config)
    wanted = declared(pep723("six==1.15.0"), None)
    assert wanted is not None
    builds, resolutions = deps.builds, deps.resolutions
    try:
        mine, theirs = await asyncio.gather(deps.ensure(wanted), other.ensure(wanted))
    finally:
        await other.close()
    assert mine.volume == theirs.volume
    assert deps.builds + other.builds == builds + 1
    assert deps.resolutions + other.resolutions == resolutions + 1


async def test_a_half_built_environment_is_never_used(
    alice: GraphQLClient, deps: DependencyManager
) -> None:
    wanted = declared(pep723("six==1.14.0"), None)
    assert wanted is not None
    api = docker.from_env().api
    engine, arch = env_volumes.engine_identity(api)
    runtime = runtime_for(arch)
    with tempfile.TemporaryDirectory() as folder:
        pins = await Resolver(deps.config).resolve(list(wanted.requirements), runtime, Path(folder))
    hash_ = env_hash(pins, runtime)
    # A worker died while building: its volume exists but holds nothing, and
    # its claim has not been refreshed for an hour.
    half = f"scriptbox-env-{hash_[:16]}-deadbeef"
    env_volumes.create_volume(api, half, hash_, deps.config.namespace)
    await PythonEnv.create(
        hash=hash_,
        engine=engine,
        status=EnvStatus.BUILDING,
        volume=half,
        pins=[p.as_json() for p in pins],
        claimed_by="crashed-worker",
        heartbeat_at=datetime.now(UTC) - timedelta(hours=1),
        claim_seq=1,
    )
    created = await create(alice, "after-crash.py", pep723("six==1.14.0", body=VERSION))
    execution = await run(alice, created["id"])
    assert execution["status"] == "SUCCEEDED", execution
    assert execution["result"] == "1.14.0"
    row = await PythonEnv.get(hash=hash_, engine=engine)
    assert row.status is EnvStatus.READY and row.volume != half

    async def half_removed() -> bool:  # the abandoned volume is removed in the background
        return half not in volumes_of(deps.config.namespace, hash_)

    await eventually(half_removed, "the abandoned volume was removed")
    assert volumes_of(deps.config.namespace, hash_) == [row.volume]


async def test_least_recently_used_environments_are_evicted(
    alice: GraphQLClient, deps: DependencyManager
) -> None:
    saved = deps.config
    deps.config = replace(saved, evict_protect_seconds=0)
    try:
        old = await create(alice, "lru-old.py", pep723("six==1.13.0", body=VERSION))
        assert (await run(alice, old["id"]))["result"] == "1.13.0"
        new = await create(alice, "lru-new.py", pep723("six==1.12.0", body=VERSION))
        assert (await run(alice, new["id"]))["result"] == "1.12.0"
        old_env = await PythonEnv.get(hash=await environment_hash(alice, old["id"]))
        new_env = await PythonEnv.get(hash=await environment_hash(alice, new["id"]))
        # Room for one of the two (and what older tests left, by then evicted).
        deps.config = replace(deps.config, cache_bytes=max(old_env.size_bytes, new_env.size_bytes))
        await deps.evict()
        await old_env.refresh_from_db()
        await new_env.refresh_from_db()
        assert old_env.status is EnvStatus.EVICTED
        assert new_env.status is EnvStatus.READY
        assert volumes_of(deps.config.namespace, old_env.hash) == []

        builds = deps.builds
        again = await run(alice, old["id"])
        assert again["status"] == "SUCCEEDED" and again["result"] == "1.13.0", again
        assert deps.builds == builds + 1  # built again, from the same pins
        await deps.evict()
        evicted = await PythonEnv.get(id=new_env.id)
        assert evicted.status is EnvStatus.EVICTED  # now the least recently used
        assert (await PythonEnv.get(id=old_env.id)).status is EnvStatus.READY
    finally:
        deps.config = saved
