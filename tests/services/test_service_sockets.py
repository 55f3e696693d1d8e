"""A service's socket directory goes with the service: the directories of
services that no longer exist (their process died with them up, their rows
were deleted since) are removed when a supervisor starts, socket and all;
those of services that exist, and whatever is not a service's, stay."""

from __future__ import annotations

import dataclasses
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.service_sockets import SOCKET_NAME, remove_stale_socket_dirs, socket_dir
from tests.support.client import GraphQLClient
from tests.support.servers import Service
from tests.support.services import DELETE, start
from tests.support.tree import script

pytestmark = pytest.mark.parametrize("service", ["local", "postgres"], indirect=True)

WAITS = "import time\ndef main(data):\n    time.sleep(600)\n"


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """Short: a unix socket's path must fit in 108 bytes."""
    path = Path(tempfile.mkdtemp(prefix="sk", dir="/tmp"))
    yield path
    shutil.rmtree(path)


def left_by_a_killed_container(directory: Path) -> None:
    directory.mkdir(parents=True)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as bound:
        bound.bind(str(directory / SOCKET_NAME))  # the file outlives the socket


async def test_socket_directories_of_deleted_services_are_removed(
    service: Service, alice: GraphQLClient, data_dir: Path
) -> None:
    settings = dataclasses.replace(service.settings, data_dir=data_dir)
    created = await script(alice, "socketed.py", WAITS)
    # A worker tag no worker has: the row exists, no container ever starts.
    alive = await start(alice, created["id"], http=True, target="no-worker-has-this")
    kept = socket_dir(settings, alive["id"])
    stale = socket_dir(settings, uuid.uuid4())
    for directory in (kept, stale):
        left_by_a_killed_container(directory)
    not_a_service = kept.parent / "notes"
    not_a_service.mkdir()

    await remove_stale_socket_dirs(settings)

    assert not stale.exists()
    assert (kept / SOCKET_NAME).is_socket()
    assert not_a_service.is_dir()
    assert (await alice.data(DELETE, {"id": alive["id"]}))["deleteService"] is True
    await remove_stale_socket_dirs(settings)
    assert not kept.exists()
