"""Python dependency environments on the sandbox side: the in-container
installer against hostile wheels (it unzips, checks every name, caps sizes,
and never writes outside the environment), and the operations the
dependency service uses: volumes, the engine's identity, the install job."""

from __future__ import annotations

import hashlib
import io
import stat
import uuid
import zipfile
from collections.abc import Iterator

import docker
import pytest

from sandbox import (
    DockerSandbox,
    Installed,
    InstallFailed,
    OutputChunk,
    SandboxOutcome,
    Wheel,
    env_volumes,
)
from sandbox.environments import install_job
from tests.support.volumes import volume_namespace


@pytest.fixture(scope="module")
def deps_namespace() -> Iterator[str]:
    with volume_namespace("installer") as namespace:
        yield namespace


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
    await box.create_environment_volume(volume, hash_, namespace)
    digest = sha256 or hashlib.sha256(data).hexdigest()
    files = [Wheel("demo-1.0-py3-none-any.whl", digest, data)]
    stderr: list[str] = []

    async def on_output(chunk: OutputChunk) -> None:
        stderr.append(chunk.data)

    try:
        job = install_job(hash_, volume, files, cap, 1000, 60)
        outcome = await box.run(job, on_output)
    finally:
        # Waits for the removal of the container that mounted it, then removes it.
        await box.remove_environment_volume(volume)
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


def demo_wheel(data: bytes) -> list[Wheel]:
    return [Wheel("demo-1.0-py3-none-any.whl", hashlib.sha256(data).hexdigest(), data)]


async def test_an_environment_volume_from_creation_to_removal(
    sandbox: DockerSandbox, deps_namespace: str
) -> None:
    hash_ = uuid.uuid4().hex
    volume = f"scriptbox-env-test-{hash_[:12]}"
    assert not await sandbox.environment_volume_ready(volume, hash_)  # never mount a missing one
    await sandbox.create_environment_volume(volume, hash_, deps_namespace)
    try:
        assert await sandbox.environment_volume_ready(volume, hash_)
        assert not await sandbox.environment_volume_ready(volume, "another environment")
        assert (volume, hash_) in await sandbox.environment_volumes(deps_namespace)
        assert await sandbox.environment_volumes(f"{deps_namespace}-other") == []
        data = wheel({"demo/__init__.py": b"VALUE = 1\n"})
        installed = await sandbox.install_environment(
            hash_, volume, demo_wheel(data), 2**20, 1000, 60
        )
        assert isinstance(installed, Installed) and installed.files >= 2, installed
    finally:
        assert await sandbox.remove_environment_volume(volume)
    assert not await sandbox.environment_volume_ready(volume, hash_)
    assert (volume, hash_) not in await sandbox.environment_volumes(deps_namespace)


async def test_a_refused_install_is_install_failed(
    sandbox: DockerSandbox, deps_namespace: str
) -> None:
    hash_ = uuid.uuid4().hex
    volume = f"scriptbox-env-test-{hash_[:12]}"
    await sandbox.create_environment_volume(volume, hash_, deps_namespace)
    try:
        with pytest.raises(InstallFailed, match="unsafe member name"):
            await sandbox.install_environment(
                hash_, volume, demo_wheel(wheel({"../escape.py": b"x"})), 2**20, 1000, 60
            )
    finally:
        assert await sandbox.remove_environment_volume(volume)


async def test_the_engine_identity_names_the_runtime_wheels_must_fit(
    sandbox: DockerSandbox, docker_api: docker.APIClient
) -> None:
    identity = await sandbox.engine_identity()
    assert identity.engine_id == docker_api.info()["ID"]
    assert identity.runtime.python_version == "3.11"
    assert identity.runtime.arch in ("x86_64", "aarch64")


def test_no_volume_is_left_behind(deps_namespace: str) -> None:
    api = docker.from_env().api
    leftovers = [
        name
        for name, _ in env_volumes.list_volumes(api, deps_namespace)
        if name.startswith("scriptbox-env-test-")
    ]
    assert leftovers == []
