"""What happened to services: their events, and the statistics per day
(deployments and failures, the chart the Go seed drew)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.errors import BadUserInput
from core.service_states import ServiceEventKind
from models.services import Service, ServiceEvent

# What the chart counts: a deployment is a start by a person or a redeploy;
# a failure is an end the service did not choose, or its giving up.
DEPLOYMENTS = (ServiceEventKind.START, ServiceEventKind.REDEPLOY)
FAILURES = (ServiceEventKind.CRASH, ServiceEventKind.FAILED)
MAX_EVENTS_PAGE = 500


async def record(
    service: Service,
    kind: ServiceEventKind,
    *,
    version: int | None = None,
    exit_code: int | None = None,
    message: str | None = None,
) -> ServiceEvent:
    return await ServiceEvent.create(
        service_id=service.id,
        owner_id=service.owner_id,
        kind=kind.value,
        version=service.version if version is None else version,
        exit_code=exit_code,
        message=message,
    )


async def page(service_id: str, first: int, after: str | None) -> list[ServiceEvent]:
    """The newest events first; `after` is the id of the last one already seen."""
    if not 0 <= first <= MAX_EVENTS_PAGE:
        raise BadUserInput(f"`first` must be between 0 and {MAX_EVENTS_PAGE}.")
    query = ServiceEvent.filter(service_id=service_id)
    if after is not None:
        try:
            query = query.filter(id__lt=int(after))
        except ValueError:
            raise BadUserInput("`after` is not a cursor of these events.") from None
    return await query.order_by("-id").limit(first)


@dataclass(frozen=True)
class ServiceDay:
    day: date
    deployments: int
    failures: int


async def service_stats(
    owner_id: str, days: int, zone: ZoneInfo, now: datetime | None = None
) -> list[ServiceDay]:
    """Deployments and failures of the owner's services per day, for the
    last `days` days (today included) in `zone`."""
    now = now or datetime.now(UTC)
    today = now.astimezone(zone).date()
    first_day = today - timedelta(days=days - 1)
    since = datetime.combine(first_day, time.min, tzinfo=zone).astimezone(UTC)
    rows = await ServiceEvent.filter(
        owner_id=owner_id, at__gte=since, kind__in=[*DEPLOYMENTS, *FAILURES]
    ).values_list("at", "kind")
    deployments: dict[date, int] = {}
    failures: dict[date, int] = {}
    for at, kind in rows:
        day = at.astimezone(zone).date()
        counts = deployments if kind in DEPLOYMENTS else failures
        counts[day] = counts.get(day, 0) + 1
    return [
        ServiceDay(day, deployments.get(day, 0), failures.get(day, 0))
        for day in (first_day + timedelta(days=offset) for offset in range(days))
    ]
