"""Starting, stopping, restarting and deleting services: what a person asks
for, written to the row as the desired state. The supervisor of a worker
(worker/supervisor.py) does the rest, in whichever process it runs.

Who may do what: starting a service is running a script (the RUNNER role
in its folder, like runScript); a started service is seen, stopped,
restarted and deleted by whoever sees it (services/access.py: who started
it, the script's owner, editors of its folder, admins). A RUNNER may so
stop and restart the services they started, not those of others."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.errors import BadUserInput, NotFound, ServiceLimitReached
from core.service_states import RestartPolicy, ServiceEventKind, ServiceStatus
from core.settings import Settings
from core.worker_tags import checked_target
from models.services import Service
from models.tree import Script, ScriptVersion
from services import service_history
from services.access import Caller, get_service, require_run_script, visible
from services.events import ExecutionEventBus
from services.executions.submit import encode_input
from services.service_logs import SUPERVISOR_TOPIC, status_topic
from services.user_caps import counting_for

MAX_NAME_LENGTH = 128
MAX_RESTARTS_ALLOWED = 1000


@dataclass(frozen=True)
class ServiceRequest:
    """What startService asks for, checked by `start`."""

    name: str | None = None
    input: Any = None
    restart_policy: RestartPolicy = RestartPolicy.ON_FAILURE
    max_restarts: int | None = None
    http: bool = False
    public: bool = False
    target: str | None = None
    pin_version: int | None = None


class ServiceOps:
    def __init__(self, settings: Settings, bus: ExecutionEventBus) -> None:
        self._settings = settings
        self._bus = bus

    async def list(self, caller: Caller) -> list[Service]:
        return await visible(Service.all(), caller).order_by("-created_at", "id")

    async def get(self, caller: Caller, service_id: str) -> Service:
        return await get_service(caller, service_id)

    async def start(self, caller: Caller, script: Script, request: ServiceRequest) -> Service:
        require_run_script(caller, script)
        name = (request.name if request.name is not None else script.name).strip()
        if not 1 <= len(name) <= MAX_NAME_LENGTH:
            raise BadUserInput(f"A service's name must have 1 to {MAX_NAME_LENGTH} characters.")
        max_restarts = (
            self._settings.service_max_restarts
            if request.max_restarts is None
            else request.max_restarts
        )
        if not 0 <= max_restarts <= MAX_RESTARTS_ALLOWED:
            raise BadUserInput(f"`maxRestarts` must be between 0 and {MAX_RESTARTS_ALLOWED}.")
        if request.public and not request.http:
            raise BadUserInput("Only a service with `http: true` can be public.")
        version = script.version
        if request.pin_version is not None:
            if not await ScriptVersion.exists(script_id=script.id, version=request.pin_version):
                raise NotFound(f"The script has no version {request.pin_version}.")
            version = request.pin_version
        input_json = encode_input(request.input, self._settings.max_input_bytes)
        target = checked_target(request.target)
        async with counting_for(caller.id):
            await self._check_limit(str(caller.id))
            service = await Service.create(
                owner_id=caller.id,
                script_id=script.id,
                name=name,
                version=version,
                pinned=request.pin_version is not None,
                input_json=input_json,
                restart_policy=request.restart_policy,
                max_restarts=max_restarts,
                http=request.http,
                public=request.public,
                target=target,
                desired_running=True,
                status=ServiceStatus.STARTING,
            )
            await service_history.record(service, ServiceEventKind.START)
        await self._changed(service)
        return service

    async def stop(self, caller: Caller, service_id: str) -> Service:
        service = await get_service(caller, service_id)
        if not service.desired_running and not service.status.is_up:
            return service
        await stop_row(service, "stopped by a person")
        await self._changed(service)
        return service

    async def restart(self, caller: Caller, service_id: str, to_current_version: bool) -> Service:
        service = await get_service(caller, service_id)
        async with counting_for(service.owner_id):
            if not service.desired_running:
                await self._check_limit(str(service.owner_id))
            kind = ServiceEventKind.RESTART
            if to_current_version:
                script = await Script.get(id=service.script_id)
                if script.version != service.version:
                    kind = ServiceEventKind.REDEPLOY
                service.version = script.version
                service.pinned = False
            service.generation += 1
            service.desired_running = True
            service.failure_streak = 0
            service.not_before = None
            if not service.status.is_up or service.status is ServiceStatus.BACKOFF:
                service.status = ServiceStatus.STARTING
            # Only what a person decides: the supervisor writes the rest meanwhile.
            await service.save(
                update_fields=[
                    "version",
                    "pinned",
                    "generation",
                    "desired_running",
                    "failure_streak",
                    "not_before",
                    "status",
                ]
            )
            await service_history.record(service, kind, message="asked for by a person")
        await self._changed(service)
        return service

    async def delete(self, caller: Caller, service_id: str) -> bool:
        service = await get_service(caller, service_id)
        if service.desired_running or service.status.is_up:
            await service_history.record(service, ServiceEventKind.STOP, message="deleted")
        await service.delete()
        await self._changed(service)
        return True

    async def _check_limit(self, owner_id: str) -> None:
        limit = self._settings.max_services_per_user
        if await Service.filter(owner_id=owner_id, desired_running=True).count() >= limit:
            raise ServiceLimitReached(
                f"You have {limit} services up, the most allowed; stop one first.", limit=limit
            )

    async def _changed(self, service: Service) -> None:
        await announce_change(self._bus, service)


async def stop_row(service: Service, why: str) -> None:
    """Ask for `service` to stop: STOPPING while a worker holds it (it stops
    the container and ends it STOPPED), STOPPED at once when none does."""
    service.desired_running = False
    service.not_before = None
    held = service.worker is not None and service.status in (
        ServiceStatus.STARTING,
        ServiceStatus.RUNNING,
        ServiceStatus.STOPPING,
    )
    service.status = ServiceStatus.STOPPING if held else ServiceStatus.STOPPED
    await service.save(update_fields=["desired_running", "not_before", "status"])
    await service_history.record(service, ServiceEventKind.STOP, message=why)
    if not held:
        await service_history.record(service, ServiceEventKind.STOPPED)


async def announce_change(bus: ExecutionEventBus, service: Service) -> None:
    """Tell supervisors (to act now rather than at their next poll) and the
    owner's `myServices` subscriptions."""
    await bus.announce(SUPERVISOR_TOPIC, str(service.id))
    await announce_status(bus, service)


async def announce_status(bus: ExecutionEventBus, service: Service) -> None:
    """Tell the owner's `myServices` subscriptions that `service` changed."""
    await bus.announce(status_topic(str(service.owner_id)), str(service.id))
