"""Where a service's HTTP socket lives on the host, and who may reach it.

A service started with `http: true` gets a host directory of its own,
mounted into its container, where the in-container runner serves a unix
socket (`http.sock`) bridged to the service's loopback port; the API's proxy
connects to that socket. The container keeps no network."""

from __future__ import annotations

import contextlib
import stat
import uuid
from pathlib import Path

from core.errors import Forbidden, NotFound
from core.ids import parse_id
from core.roles import TokenScope
from core.settings import Settings
from models.services import Service
from services.access import Caller, get_service

SOCKET_NAME = "http.sock"
SOCKETS_DIR = "service-sockets"


def socket_dir(settings: Settings, service_id: str | uuid.UUID) -> Path:
    return settings.data_dir / SOCKETS_DIR / str(service_id)


def socket_path(settings: Settings, service_id: str | uuid.UUID) -> Path:
    return socket_dir(settings, service_id) / SOCKET_NAME


def remove_socket_dir(settings: Settings, service_id: str | uuid.UUID) -> None:
    """Remove a service's socket directory once its container is gone.

    The runner unlinks its socket when it stops in order; a container that
    was killed leaves it, and the directory could then never be removed.
    Only a socket is unlinked, never followed: nothing else belongs here."""
    path = socket_path(settings, service_id)
    with contextlib.suppress(OSError):
        if stat.S_ISSOCK(path.lstat().st_mode):
            path.unlink()
    with contextlib.suppress(OSError):
        socket_dir(settings, service_id).rmdir()


async def remove_stale_socket_dirs(settings: Settings) -> None:
    """Remove the socket directories of services that no longer exist (a
    process that died with a service up, its row deleted since)."""
    root = settings.data_dir / SOCKETS_DIR
    try:
        names = [entry.name for entry in root.iterdir() if entry.is_dir()]
    except OSError:
        return
    ids = [name for name in names if _is_uuid(name)]
    kept = {str(i) for i in await Service.filter(id__in=ids).values_list("id", flat=True)}
    for name in ids:
        if name not in kept:
            remove_socket_dir(settings, name)


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


async def reachable_service(caller: Caller | None, service_id: str) -> Service:
    """The HTTP service a request may reach: any public one, anonymously too;
    else one the caller sees (services/access.py), through a token that may
    run scripts. NOT_FOUND for what they may not see (and for a service that
    does not answer HTTP), FORBIDDEN for a token without the RUN scope."""
    if caller is None:
        return await _public(service_id)
    # The caller's own services first: one read for the usual request.
    try:
        service = await get_service(caller, service_id)
    except NotFound:
        return await _public(service_id)
    if not service.http:
        raise NotFound("Service not found.")
    if service.public:
        return service
    if TokenScope.RUN not in caller.scopes:
        raise Forbidden("This API token may not reach services: it needs the RUN scope.")
    return service


async def _public(service_id: str) -> Service:
    service = await Service.get_or_none(id=parse_id(service_id, "Service"), http=True, public=True)
    if service is None:
        raise NotFound("Service not found.")
    return service
