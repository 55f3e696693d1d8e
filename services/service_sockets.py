"""Where a service's HTTP socket lives on the host, and who may reach it.

A service started with `http: true` gets a host directory of its own,
mounted into its container, where the in-container runner serves a unix
socket (`http.sock`) bridged to the service's loopback port; the API's proxy
connects to that socket. The container keeps no network."""

from __future__ import annotations

import uuid
from pathlib import Path

from core.errors import Forbidden, NotFound
from core.ids import parse_id
from core.roles import TokenScope
from core.settings import Settings
from models.services import Service
from services.access import Caller, get_service

SOCKET_NAME = "http.sock"


def socket_dir(settings: Settings, service_id: str | uuid.UUID) -> Path:
    return settings.data_dir / "service-sockets" / str(service_id)


def socket_path(settings: Settings, service_id: str | uuid.UUID) -> Path:
    return socket_dir(settings, service_id) / SOCKET_NAME


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
