"""Services in GraphQL: scripts kept running until stopped. Thin: check who
asks, call services/service_ops.py, shape the answer."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from core.errors import BadUserInput, NotFound
from core.service_states import RestartPolicy as RestartPolicyModel
from core.service_states import ServiceStatus as ServiceStatusModel
from models.services import Service as ServiceRow
from models.services import ServiceEvent as ServiceEventRow
from resolvers.context import Context
from resolvers.resources import ResourceUsageType
from resolvers.tree import script_argument
from resolvers.tree_types import ScriptType
from services import service_history, service_logs
from services.access import Caller, get_script, get_service
from services.cron import parse_zone
from services.service_ops import ServiceOps, ServiceRequest

ServiceStatus = strawberry.enum(ServiceStatusModel, name="ServiceStatus")
RestartPolicy = strawberry.enum(RestartPolicyModel, name="RestartPolicy")
MAX_STATS_DAYS = 366


def _ops(info: Info[Context, None]) -> ServiceOps:
    services = info.context.services
    return ServiceOps(services.settings, services.executions.bus)


@strawberry.type(name="ServiceEvent", description="One thing that happened to a service.")
class ServiceEventType:
    row: strawberry.Private[ServiceEventRow]

    @strawberry.field
    def at(self) -> datetime:
        return self.row.at

    @strawberry.field(
        description="start, running, exit, crash, restart, redeploy, stop, stopped, failed "
        "or worker_lost."
    )
    def kind(self) -> str:
        return self.row.kind

    @strawberry.field(description="The script version it concerns.")
    def version(self) -> int | None:
        return self.row.version

    @strawberry.field
    def exit_code(self) -> int | None:
        return self.row.exit_code

    @strawberry.field
    def message(self) -> str | None:
        return self.row.message

    @strawberry.field(description="Pass as `after` to get the events older than this one.")
    def cursor(self) -> str:
        return str(self.row.id)


@strawberry.type(name="Service", description="A script kept running until it is stopped.")
class ServiceType:
    row: strawberry.Private[ServiceRow]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field
    def name(self) -> str:
        return self.row.name

    @strawberry.field
    async def script(self, info: Info[Context, None]) -> ScriptType:
        caller = await info.context.caller()
        return ScriptType(row=await get_script(caller, self.row.script_id))

    @strawberry.field(description="The script version it runs (or will run next).")
    def version(self) -> int:
        return self.row.version

    @strawberry.field
    def status(self) -> ServiceStatus:  # type: ignore[valid-type]
        return self.row.status

    @strawberry.field
    def restart_policy(self) -> RestartPolicy:  # type: ignore[valid-type]
        return self.row.restart_policy

    @strawberry.field(description="Restarts after its script ended, since it was started.")
    def restarts(self) -> int:
        return self.row.restarts

    @strawberry.field(description="When its current container took the script; null when down.")
    def started_at(self) -> datetime | None:
        return self.row.started_at

    @strawberry.field(description="Seconds since `startedAt`; null when down.")
    def uptime_seconds(self) -> float | None:
        started = self.row.started_at
        return None if started is None else (datetime.now(UTC) - started).total_seconds()

    @strawberry.field
    def last_exit_code(self) -> int | None:
        return self.row.last_exit_code

    @strawberry.field
    def http(self) -> bool:
        return self.row.http

    @strawberry.field
    def public(self) -> bool:
        return self.row.public

    @strawberry.field(
        description="Where its HTTP answers are reached through the API; null while the "
        "service does not answer HTTP."
    )
    def url(self) -> str | None:
        return None

    @strawberry.field(description="The worker that keeps it up; null when none does.")
    def worker(self) -> str | None:
        return self.row.worker

    @strawberry.field(
        description="Its container now, sampled every few seconds: `peakMemoryBytes` is the "
        "memory it uses now, CPU seconds are its total so far, `wallSeconds` its uptime. "
        "Null when it is not running or not yet sampled."
    )
    def resources(self) -> ResourceUsageType | None:
        row = self.row
        if row.started_at is None or row.memory_bytes is None:
            return None
        return ResourceUsageType(
            peak_memory_bytes=row.memory_bytes,
            cpu_user_seconds=row.cpu_user_seconds,
            cpu_system_seconds=row.cpu_system_seconds,
            wall_seconds=round((datetime.now(UTC) - row.started_at).total_seconds(), 3),
        )

    @strawberry.field(description="The last `tail` lines of its output (masked).")
    async def logs(self, tail: int = 200) -> str:
        if tail < 0:
            raise BadUserInput("`tail` must not be negative.")
        return await service_logs.tail(str(self.row.id), tail)

    @strawberry.field(description="Newest first; `after` is the `cursor` of the last one seen.")
    async def events(self, first: int = 50, after: str | None = None) -> list[ServiceEventType]:
        rows = await service_history.page(str(self.row.id), first, after)
        return [ServiceEventType(row=row) for row in rows]


@strawberry.input
class StartServiceInput:
    script_id: strawberry.ID | None = None
    path: str | None = None
    name: str | None = strawberry.field(default=None, description="Default: the script's name.")
    input: JSON | None = None
    restart_policy: RestartPolicy = RestartPolicyModel.ON_FAILURE  # type: ignore[valid-type]
    max_restarts: int | None = strawberry.field(
        default=None,
        description="Failures in a row before it ends FAILED (default: the server's, 5).",
    )
    http: bool = False
    public: bool = False
    target: str | None = strawberry.field(
        default=None, description="A worker tag: only a worker carrying it keeps the service."
    )
    pin_version: int | None = strawberry.field(
        default=None, description="Run this version rather than the current one."
    )


@strawberry.type
class ServiceDayStats:
    label: str = strawberry.field(description="The day, YYYY-MM-DD, in the asked time zone.")
    deployments: int = strawberry.field(description="Starts and redeploys.")
    failures: int = strawberry.field(description="Crashes, and services that gave up.")


@strawberry.type
class ServiceQuery:
    @strawberry.field(description="The services the caller sees, newest first.")
    async def services(self, info: Info[Context, None]) -> list[ServiceType]:
        caller = await info.context.caller()
        return [ServiceType(row=row) for row in await _ops(info).list(caller)]

    @strawberry.field
    async def service(self, info: Info[Context, None], id: strawberry.ID) -> ServiceType | None:
        caller = await info.context.caller()
        try:
            return ServiceType(row=await _ops(info).get(caller, id))
        except NotFound:
            return None

    @strawberry.field(
        description="Deployments and failures of the caller's services per day for the last "
        "`days` days (today included), in `timeZone` (IANA): a chart's data."
    )
    async def service_stats(
        self, info: Info[Context, None], days: int = 30, time_zone: str = "UTC"
    ) -> list[ServiceDayStats]:
        caller = await info.context.caller()
        if not 1 <= days <= MAX_STATS_DAYS:
            raise BadUserInput(f"`days` must be between 1 and {MAX_STATS_DAYS}.")
        stats = await service_history.service_stats(str(caller.id), days, parse_zone(time_zone))
        return [
            ServiceDayStats(label=s.day.isoformat(), deployments=s.deployments, failures=s.failures)
            for s in stats
        ]


@strawberry.type
class ServiceMutation:
    @strawberry.mutation(
        description="Start a script as a service: it runs until stopped, restarted per its "
        "policy when it ends."
    )
    async def start_service(
        self, info: Info[Context, None], input: StartServiceInput
    ) -> ServiceType:
        caller = await info.context.caller()
        script = await script_argument(info, caller, input.script_id, input.path)
        request = ServiceRequest(
            name=input.name,
            input=input.input,
            restart_policy=RestartPolicyModel(input.restart_policy),
            max_restarts=input.max_restarts,
            http=input.http,
            public=input.public,
            target=input.target,
            pin_version=input.pin_version,
        )
        return ServiceType(row=await _ops(info).start(caller, script, request))

    @strawberry.mutation(
        description="Stop it: SIGTERM, then a kill after the grace period. It stays listed."
    )
    async def stop_service(self, info: Info[Context, None], id: strawberry.ID) -> ServiceType:
        caller = await info.context.caller()
        return ServiceType(row=await _ops(info).stop(caller, id))

    @strawberry.mutation(
        description="Start it again (also a stopped or failed one); with `toCurrentVersion`, "
        "on the script's current version (a redeploy: the old container is stopped once the "
        "new one is up or has failed)."
    )
    async def restart_service(
        self, info: Info[Context, None], id: strawberry.ID, to_current_version: bool = False
    ) -> ServiceType:
        caller = await info.context.caller()
        return ServiceType(row=await _ops(info).restart(caller, id, to_current_version))

    @strawberry.mutation(description="Stop it and forget it (its events stay in the statistics).")
    async def delete_service(self, info: Info[Context, None], id: strawberry.ID) -> bool:
        caller = await info.context.caller()
        return await _ops(info).delete(caller, id)


@strawberry.type
class ServiceSubscription:
    @strawberry.subscription(
        description="The last lines of its output (up to 200), then its output as it is printed."
    )
    async def service_logs(
        self, info: Info[Context, None], service_id: strawberry.ID
    ) -> AsyncGenerator[str, None]:
        caller = await info.context.caller()
        service = await _ops(info).get(caller, service_id)
        bus = info.context.services.executions.bus
        async for text in service_logs.follow(bus, str(service.id), 200):
            yield text

    @strawberry.subscription(description="Each change of status of the caller's services.")
    async def my_services(self, info: Info[Context, None]) -> AsyncGenerator[ServiceType, None]:
        caller = await info.context.caller()
        bus = info.context.services.executions.bus
        async for service_id in bus.announcements(service_logs.status_topic(str(caller.id))):
            row = await _seen(caller, service_id)
            if row is not None:
                yield ServiceType(row=row)


async def _seen(caller: Caller, service_id: str) -> ServiceRow | None:
    """The service as it is now, if the caller still sees it (it may be deleted)."""
    try:
        return await get_service(caller, service_id)
    except NotFound:
        return None
