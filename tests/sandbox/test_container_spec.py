"""Every hardening flag of sandbox/container_spec.py, as the engine records it.

The behaviour tests (tests/sandbox) show what a hostile script cannot do;
this one pins each flag as Docker stores it for a container created from the
real spec and the real sandbox image, so a flag that is dropped or flipped is
caught even where no behaviour test happens to depend on it.
Creating (not starting) a container takes a fraction of a second.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from core.limits import SandboxLimits
from sandbox.container_spec import (
    LABEL_EXECUTION,
    LABEL_OWNER,
    LABEL_SANDBOX,
    create_kwargs,
    labels,
    owner_filter,
)
from sandbox.job import VolumeMount

pytestmark = pytest.mark.docker

IMAGE = "scriptbox-sandbox:latest"
LIMITS = SandboxLimits(
    memory_bytes=96 * 2**20, nano_cpus=500_000_000, pids=64, workdir_bytes=8 * 2**20
)


@pytest.fixture(scope="module")
def api() -> Iterator[docker.APIClient]:
    client = docker.from_env()
    yield client.api
    client.close()


@pytest.fixture
def owner() -> str:
    return f"pytest-spec-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def created(api: docker.APIClient, owner: str) -> Iterator[Any]:
    """Create containers from the spec; inspect them; remove them afterwards."""
    ids: list[str] = []
    volumes: list[str] = []

    def create(
        execution_id: str | None,
        mounts: tuple[VolumeMount, ...] = (),
        http_socket_dir: str | None = None,
    ) -> dict[str, Any]:
        volumes.extend(m.volume for m in mounts)
        container = api.create_container(
            **create_kwargs(api, IMAGE, LIMITS, owner, execution_id, mounts, http_socket_dir)
        )
        ids.append(container["Id"])
        info: dict[str, Any] = api.inspect_container(container["Id"])
        return info

    yield create
    for container_id in ids:
        api.remove_container(container_id, force=True)
    for volume in volumes:
        api.remove_volume(volume, force=True)


def test_the_container_is_isolated_and_hardened(created: Any, owner: str) -> None:
    info = created("exec-1")
    host = info["HostConfig"]
    assert host["NetworkMode"] == "none"
    assert info["Config"]["NetworkDisabled"] is True
    assert host["ReadonlyRootfs"] is True
    assert host["Privileged"] is False
    assert host["CapDrop"] == ["ALL"]
    assert sorted(host["CapAdd"]) == ["SETGID", "SETUID"]
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["Init"] is True
    assert host["IpcMode"] == "private"
    assert host["AutoRemove"] is False
    assert host["LogConfig"]["Type"] == "none"
    assert not host.get("Binds")
    assert not host.get("Mounts")


def test_the_resource_limits_are_the_jobs(created: Any) -> None:
    host = created(None)["HostConfig"]
    assert host["Memory"] == LIMITS.memory_bytes
    assert host["MemorySwap"] == LIMITS.memory_bytes  # no swap
    assert host["NanoCpus"] == LIMITS.nano_cpus
    assert host["PidsLimit"] == LIMITS.pids
    assert host["ShmSize"] == LIMITS.workdir_bytes
    ulimits = {u["Name"]: (u["Soft"], u["Hard"]) for u in host["Ulimits"]}
    assert ulimits == {
        "nofile": (1024, 1024),
        "fsize": (LIMITS.workdir_bytes, LIMITS.workdir_bytes),
        "core": (0, 0),
    }
    size = LIMITS.workdir_bytes
    assert host["Tmpfs"] == {
        "/job": f"size={size},mode=0755,uid=10001,gid=10001,nosuid,nodev",
        "/tmp": f"size={size},mode=1777,nosuid,nodev",
    }


def test_the_runner_talks_over_stdin_only(created: Any) -> None:
    config = created(None)["Config"]
    assert config["User"] == "0:0"
    assert config["OpenStdin"] is True
    assert config["StdinOnce"] is True  # an orphaned runner sees EOF and exits
    assert config["Tty"] is False
    assert config["AttachStdin"] is True


def test_labels_name_the_owner_and_only_a_known_execution(created: Any, owner: str) -> None:
    ours = (LABEL_SANDBOX, LABEL_OWNER, LABEL_EXECUTION)  # the image adds its own
    found = created("exec-7")["Config"]["Labels"]
    assert {k: v for k, v in found.items() if k in ours} == {
        LABEL_SANDBOX: "1",
        LABEL_OWNER: owner,
        LABEL_EXECUTION: "exec-7",
    }
    assert LABEL_EXECUTION not in created(None)["Config"]["Labels"]
    assert labels(owner, "") == {LABEL_SANDBOX: "1", LABEL_OWNER: owner, LABEL_EXECUTION: ""}
    assert owner_filter(owner) == {"label": [f"{LABEL_SANDBOX}=1", f"{LABEL_OWNER}={owner}"]}


def test_only_named_volumes_are_mounted_read_only_unless_asked(created: Any) -> None:
    tag = uuid.uuid4().hex[:10]
    mounts = (
        VolumeMount(f"pytest-spec-ro-{tag}", "/deps"),
        VolumeMount(f"pytest-spec-rw-{tag}", "/build", read_only=False),
    )
    found = {m["Target"]: m for m in created(None, mounts)["HostConfig"]["Mounts"]}
    assert set(found) == {"/deps", "/build"}
    assert found["/deps"]["Type"] == "volume" and found["/deps"]["ReadOnly"] is True
    assert found["/build"]["Type"] == "volume" and not found["/build"].get("ReadOnly")


def test_an_http_service_gets_its_socket_directory_and_nothing_else(
    created: Any, tmp_path: Any
) -> None:
    info = created("svc-1", (), str(tmp_path))
    host = info["HostConfig"]
    (mount,) = host["Mounts"]
    assert mount["Type"] == "bind" and mount["Source"] == str(tmp_path)
    assert mount["Target"] == "/run/scriptbox-http" and not mount.get("ReadOnly")
    # Every other flag holds: still no network, read-only root, no caps.
    assert host["NetworkMode"] == "none" and info["Config"]["NetworkDisabled"] is True
    assert host["ReadonlyRootfs"] is True and host["CapDrop"] == ["ALL"]
    assert sorted(host["CapAdd"]) == ["SETGID", "SETUID"]
    assert host["SecurityOpt"] == ["no-new-privileges"]
