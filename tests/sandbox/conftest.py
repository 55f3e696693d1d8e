"""Sandbox fixtures: the real Docker engine and the real sandbox image.

The session builds the image with scripts/build-sandbox-image.sh (which starts
dockerd when none answers; seconds when the image already exists) and shares
one DockerSandbox with a unique owner label, so every container a test makes
can be found, and must be gone, afterwards.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import docker
import pytest

from sandbox import (
    DockerSandbox,
    OutputChunk,
    SandboxConfig,
    SandboxJob,
    SandboxLimits,
)
from tests.support.containers import owned_containers
from tests.support.owners import owned_name
from tests.support.paths import REPO
from tests.support.sandbox_runs import Run, RunScript

BUILD_SCRIPT = REPO / "scripts" / "build-sandbox-image.sh"
SETTLE_SECONDS = 15.0


@pytest.fixture(scope="session")
def sandbox_image() -> str:
    done = subprocess.run(
        [str(BUILD_SCRIPT)], capture_output=True, text=True, timeout=900, check=False
    )
    if done.returncode != 0:
        pytest.fail(f"building the sandbox image failed:\n{done.stderr}")
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def docker_api(sandbox_image: str) -> Iterator[docker.APIClient]:
    client = docker.from_env()
    yield client.api
    client.close()


@pytest.fixture(scope="session")
def owner() -> str:
    # Ends with our pid: the suite-wide leftovers check (tests/conftest.py)
    # counts only containers of this pytest process.
    return owned_name(f"pytest-{uuid.uuid4().hex[:10]}")


@pytest.fixture(scope="session")
async def sandbox(
    sandbox_image: str, owner: str, docker_api: docker.APIClient
) -> AsyncIterator[DockerSandbox]:
    box = DockerSandbox(SandboxConfig(image=sandbox_image, owner=owner, warm_pool_size=2))
    await box.start()
    yield box
    await box.close()
    assert owned_containers(docker_api, owner) == [], "containers left after close()"


@pytest.fixture(autouse=True)
async def no_container_left_behind(
    request: pytest.FixtureRequest,
) -> AsyncIterator[None]:
    """After each Docker test: the owner's only containers are idle warm ones."""
    yield
    if "sandbox" not in request.fixturenames:
        return
    box: DockerSandbox = request.getfixturevalue("sandbox")
    api: docker.APIClient = request.getfixturevalue("docker_api")
    owner: str = request.getfixturevalue("owner")
    await box.settle()
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        # The pool may be starting a replacement right now: wait for it to
        # land in the pool rather than flag it.
        extra = set(owned_containers(api, owner)) - set(box.warm_container_ids)
        if not extra or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    assert not extra, f"containers left behind: {sorted(c[:12] for c in extra)}"


@pytest.fixture
def run_script(sandbox: DockerSandbox) -> RunScript:
    async def run(
        script: str | bytes,
        data: object = None,
        *,
        language: str = "python",
        files: tuple[tuple[str, bytes], ...] = (),
        env: dict[str, str] | None = None,
        limits: SandboxLimits | None = None,
        cancel: asyncio.Event | None = None,
        execution_id: str | None = None,
        first_output: asyncio.Event | None = None,
    ) -> Run:
        source = script.encode() if isinstance(script, str) else script
        job = SandboxJob(
            execution_id=execution_id or uuid.uuid4().hex,
            language=language,  # type: ignore[arg-type]
            script=source,
            input_json=json.dumps(data).encode(),
            files=files,
            env=env or {},
            limits=limits or SandboxLimits(timeout_seconds=10),
        )
        started = time.monotonic()
        chunks: list[tuple[float, OutputChunk]] = []

        async def on_output(chunk: OutputChunk) -> None:
            chunks.append((time.monotonic() - started, chunk))
            if first_output is not None:
                first_output.set()

        outcome = await sandbox.run(job, on_output, cancel)
        return Run(outcome, chunks, time.monotonic() - started)

    return run
