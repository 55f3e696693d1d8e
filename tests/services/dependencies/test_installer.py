"""The in-container installer against hostile wheels: it unzips, checks every
name, caps sizes, and never writes outside the environment."""

from __future__ import annotations

import hashlib
import io
import stat
import uuid
import zipfile
from collections.abc import AsyncIterator

import docker
import pytest

from core.settings import Settings
from sandbox import DockerSandbox, OutputChunk, SandboxConfig, SandboxOutcome
from sandbox import deps as sandbox_deps


@pytest.fixture(scope="module")
async def sandbox() -> AsyncIterator[DockerSandbox]:
    box = DockerSandbox(
        SandboxConfig(
            image=Settings.from_env().sandbox_image,
            owner=f"pytest-installer-{uuid.uuid4().hex[:8]}",
            warm_pool_size=0,
        )
    )
    await box.start()
    yield box
    await box.close()


def wheel(members: dict[str, bytes], links: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
        archive.writestr("demo-1.0.dist-info/METADATA", "Name: demo\nVersion: 1.0\n")
    return buffer.getvalue()


async def install(
    box: DockerSandbox, namespace: str, data: bytes, sha256: str | None = None, cap: int = 2**20
) -> tuple[SandboxOutcome, str]:
    hash_ = uuid.uuid4().hex
    volume = f"scriptbox-env-test-{hash_[:12]}"
    await box.engine_call(sandbox_deps.create_volume, volume, hash_, namespace)
    digest = sha256 or hashlib.sha256(data).hexdigest()
    files = [sandbox_deps.Wheel("demo-1.0-py3-none-any.whl", digest, data)]
    stderr: list[str] = []

    async def on_output(chunk: OutputChunk) -> None:
        stderr.append(chunk.data)

    try:
        job = sandbox_deps.install_job(hash_, volume, files, cap, 1000, 60)
        outcome = await box.run(job, on_output)
    finally:
        await box.settle()  # the container that mounted it is removed in the background
        await box.engine_call(sandbox_deps.remove_volume, volume)
    return outcome, "".join(stderr)


async def test_a_plain_wheel_installs(sandbox: DockerSandbox, deps_namespace: str) -> None:
    data = wheel({"demo/__init__.py": b"VALUE = 1\n", "demo-1.0.data/scripts/tool": b"#!/bin/sh\n"})
    outcome, output = await install(sandbox, deps_namespace, data)
    assert outcome.status == "succeeded", (outcome, output)
    assert outcome.result_json is not None and '"files":' in outcome.result_json


@pytest.mark.parametrize(
    ("members", "links", "complaint"),
    [
        ({"../../escape.py": b"x"}, (), "unsafe member name"),
        ({"/opt/scriptbox/env/abs.py": b"x"}, (), "unsafe member name"),
        ({"demo/../../../up.py": b"x"}, (), "unsafe member name"),
        ({}, ("demo/link",), "symbolic link"),
        ({"demo/big.bin": b"\0" * (3 * 2**20)}, (), "larger than allowed"),
    ],
)
async def test_hostile_wheels_are_refused(
    sandbox: DockerSandbox,
    deps_namespace: str,
    members: dict[str, bytes],
    links: tuple[str, ...],
    complaint: str,
) -> None:
    outcome, output = await install(sandbox, deps_namespace, wheel(members, links))
    assert outcome.status == "failed"
    assert complaint in output, output


async def test_a_wheel_that_does_not_match_its_pin_is_refused(
    sandbox: DockerSandbox, deps_namespace: str
) -> None:
    outcome, output = await install(sandbox, deps_namespace, wheel({}), sha256="0" * 64)
    assert outcome.status == "failed"
    assert "does not match its pinned sha256" in output


def test_no_volume_is_left_behind(deps_namespace: str) -> None:
    api = docker.from_env().api
    leftovers = [
        name
        for name, _ in sandbox_deps.list_volumes(api, deps_namespace)
        if name.startswith("scriptbox-env-test-")
    ]
    assert leftovers == []
