"""Containers: single use, warm pool, cancel, reaping, engine errors."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import docker
import pytest

from sandbox import (
    DockerSandbox,
    OutputChunk,
    SandboxConfig,
    SandboxJob,
    SandboxLimits,
    SandboxUnavailable,
)
from sandbox.container_spec import LABEL_EXECUTION
from tests.support.containers import owned_containers
from tests.support.deadlines import wait_for
from tests.support.owners import owned_name
from tests.support.sandbox_runs import RunScript

pytestmark = pytest.mark.docker

WHO_AM_I = "import socket\ndef main(data):\n    return socket.gethostname()\n"


async def test_a_container_never_serves_two_jobs(
    run_script: RunScript, sandbox: DockerSandbox, docker_api: docker.APIClient
) -> None:
    hosts = []
    for _ in range(3):
        run = await run_script(WHO_AM_I)
        hosts.append(json.loads(run.outcome.result_json or ""))
    assert len(set(hosts)) == 3
    await sandbox.settle()
    alive = {c["Id"][:12] for c in docker_api.containers(all=True)}
    assert not alive & set(hosts), "a used container still exists"


async def test_warm_pool_refills(run_script: RunScript, sandbox: DockerSandbox) -> None:
    await wait_for(lambda: len(sandbox.warm_container_ids) == 2)
    before = set(sandbox.warm_container_ids)
    run = await run_script(WHO_AM_I)
    used = json.loads(run.outcome.result_json or "")
    assert any(cid.startswith(used) for cid in before), "the job did not use a warm container"
    await wait_for(lambda: len(sandbox.warm_container_ids) == 2)
    after = set(sandbox.warm_container_ids)
    assert len(after - before) == 1
    assert not any(cid.startswith(used) for cid in after)


async def test_other_limits_get_a_fresh_labelled_container(
    run_script: RunScript, docker_api: docker.APIClient
) -> None:
    execution_id = f"exec-{uuid.uuid4().hex[:8]}"
    limits = SandboxLimits(timeout_seconds=10, memory_bytes=96 * 2**20, pids=32)
    # The container's own cgroup, in either hierarchy (as the runner reads
    # its OOM counter): v2 has one unified directory, v1 one per controller.
    script = (
        "import os, time\n"
        "def main(data):\n"
        "    v2 = os.path.exists('/sys/fs/cgroup/cgroup.controllers')\n"
        "    if v2:\n"
        "        memory, pids = '/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/pids.max'\n"
        "    else:\n"
        "        memory = '/sys/fs/cgroup/memory/memory.limit_in_bytes'\n"
        "        pids = '/sys/fs/cgroup/pids/pids.max'\n"
        "    time.sleep(0.5)\n"
        "    return [int(open(memory).read()), open(pids).read().strip()]\n"
    )
    task = asyncio.create_task(run_script(script, limits=limits, execution_id=execution_id))
    labelled: list[str] = []

    def seen() -> bool:
        labelled.extend(
            c["Id"]
            for c in docker_api.containers(filters={"label": f"{LABEL_EXECUTION}={execution_id}"})
        )
        return bool(labelled)

    await wait_for(seen, timeout=5)
    run = await task
    assert run.outcome.status == "succeeded", run.outcome
    assert json.loads(run.outcome.result_json or "") == [96 * 2**20, "32"]


async def test_cancel(run_script: RunScript) -> None:
    cancel = asyncio.Event()
    script = "import time\nprint('working', flush=True)\ntime.sleep(60)\n"
    working = asyncio.Event()
    limits = SandboxLimits(timeout_seconds=120)
    task = asyncio.create_task(
        run_script(script, cancel=cancel, first_output=working, limits=limits)
    )
    await asyncio.wait_for(working.wait(), 60)
    cancelled_at = time.monotonic()
    cancel.set()
    run = await task
    assert run.outcome.status == "cancelled"
    assert run.outcome.error_code == "CANCELLED"
    assert run.stdout == "working\n"
    # Long before the script's sleep or the timeout would have ended it.
    assert time.monotonic() - cancelled_at < 30


async def test_output_callback_sees_chunks_in_order(sandbox: DockerSandbox) -> None:
    seen: list[OutputChunk] = []

    async def on_output(chunk: OutputChunk) -> None:
        await asyncio.sleep(0.01)  # a slow consumer (a database write) keeps order
        seen.append(chunk)

    script = b"for i in range(50):\n    print(i, flush=True)\n"
    job = SandboxJob("ordered", "python", script, b"null")
    outcome = await sandbox.run(job, on_output)
    assert outcome.status == "succeeded"
    assert "".join(c.data for c in seen) == "".join(f"{i}\n" for i in range(50))


async def test_reap_removes_an_owners_containers(
    sandbox_image: str, docker_api: docker.APIClient
) -> None:
    owner = owned_name(f"pytest-reap-{uuid.uuid4().hex[:8]}")
    crashed = DockerSandbox(SandboxConfig(image=sandbox_image, owner=owner, warm_pool_size=1))
    await crashed.start()
    await wait_for(lambda: len(crashed.warm_container_ids) == 1)
    # Another worker (or this one after a restart) reaps by label.
    other = DockerSandbox(SandboxConfig(image=sandbox_image, owner="pytest-someone-else"))
    assert await other.reap(owner) == 1
    assert owned_containers(docker_api, owner) == []
    await crashed.close()
    await other.close()


async def test_missing_image_is_unavailable_naming_the_build_script() -> None:
    box = DockerSandbox(SandboxConfig(image="scriptbox-sandbox:does-not-exist", owner="x"))
    with pytest.raises(SandboxUnavailable, match=r"build-sandbox-image\.sh"):
        await box.start()
    await box.close()


async def test_unreachable_engine_is_unavailable(tmp_path: object) -> None:
    box = DockerSandbox(SandboxConfig(docker_host="unix:///nonexistent/docker.sock"))
    with pytest.raises(SandboxUnavailable):
        await box.ping()
    job = SandboxJob("e", "python", b"print(1)", b"null")

    async def ignore(chunk: OutputChunk) -> None:
        pass

    with pytest.raises(SandboxUnavailable):
        await box.run(job, ignore)
    await box.close()


async def test_dead_warm_containers_are_skipped(
    run_script: RunScript, sandbox: DockerSandbox, docker_api: docker.APIClient
) -> None:
    await wait_for(lambda: len(sandbox.warm_container_ids) == 2)
    killed = list(sandbox.warm_container_ids)
    for container_id in killed:
        docker_api.kill(container_id)
    await wait_for(
        lambda: not any(docker_api.inspect_container(c)["State"]["Running"] for c in killed)
    )
    run = await run_script("def main(data):\n    return 'still fine'\n")
    assert run.outcome.result_json == '"still fine"'


async def test_a_run_cancelled_while_its_container_starts_leaves_none(
    run_script: RunScript, sandbox: DockerSandbox, docker_api: docker.APIClient
) -> None:
    # Limits the pool does not serve: the container is created for this job,
    # in a thread the cancellation cannot stop.
    execution_id = f"orphan-{uuid.uuid4().hex[:8]}"
    limits = SandboxLimits(timeout_seconds=10, memory_bytes=72 * 2**20)
    task = asyncio.create_task(
        run_script("print('never')\n", limits=limits, execution_id=execution_id)
    )

    def made() -> list[str]:
        found = docker_api.containers(
            all=True, filters={"label": f"{LABEL_EXECUTION}={execution_id}"}
        )
        return [c["Id"] for c in found]

    await wait_for(lambda: bool(made()))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Removed once its start finishes, not left for a later reap.
    await wait_for(lambda: not made())
    await sandbox.settle()


async def test_a_closed_sandbox_starts_no_container(
    sandbox_image: str, docker_api: docker.APIClient
) -> None:
    owner = owned_name(f"pytest-closed-{uuid.uuid4().hex[:8]}")
    box = DockerSandbox(SandboxConfig(image=sandbox_image, owner=owner, warm_pool_size=1))
    await box.start()
    await box.close()
    assert owned_containers(docker_api, owner) == []

    async def ignore(chunk: OutputChunk) -> None:
        pass

    # A run that arrives during shutdown must not leave a container behind
    # that no close() will ever remove.
    with pytest.raises(SandboxUnavailable, match="shutting down"):
        await box.run(SandboxJob("late", "python", b"print(1)", b"null"), ignore)
    assert owned_containers(docker_api, owner) == []
