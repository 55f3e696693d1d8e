"""Where a service's HTTP socket lives on the host, and who may reach it.

A service started with `http: true` gets a host directory of its own,
mounted into its container, where the in-container runner serves a unix
socket (`http.sock`) bridged to the service's loopback port; the API's proxy
(graphql_api/service_proxy/) connects to that socket. The container keeps no
network.

`reachable_service` here is a stand-in until services have their own rows:
it lets a signed-in caller whose token may run scripts reach any service
whose socket exists, and no anonymous caller. The services model replaces
it with the real rule (the owner, a grant, or a public service), keeping
both signatures, on which the proxy alone depends.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from core.errors import NotFound
from core.ids import parse_id
from core.roles import TokenScope
from core.settings import Settings
from services.access import Caller, require_scope

SOCKET_NAME = "http.sock"


def socket_dir(settings: Settings, service_id: str | uuid.UUID) -> Path:
    return settings.data_dir / "service-sockets" / str(service_id)


def socket_path(settings: Settings, service_id: str | uuid.UUID) -> Path:
    return socket_dir(settings, service_id) / SOCKET_NAME


async def reachable_service(caller: Caller | None, service_id: str) -> uuid.UUID:
    """The service a request may reach: NOT_FOUND for what the caller may
    not see, FORBIDDEN for a token without the RUN scope."""
    parsed = parse_id(service_id, "Service")
    if caller is None:
        raise NotFound("Service not found.")
    require_scope(caller, TokenScope.RUN, "reach services")
    return parsed
