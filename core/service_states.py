"""Where a service stands, and what it does when its script ends: one enum
each, from the table's column to the GraphQL enums.

    (start) ──► STARTING ──► RUNNING ──► (the script ends) ──► BACKOFF ──► STARTING ...
                                  │                              └──► FAILED (restarts used up)
                                  └──► STOPPING ──► STOPPED      (stopService, a deactivated owner)

`desired_running` on the row is what the owner asked for; the status is what
the supervisor last saw. The two differ while a worker catches up: a service
that should run and is STARTING, RUNNING or BACKOFF is the supervisor's to
keep up; one that should not is stopped."""

from __future__ import annotations

from enum import StrEnum


class ServiceStatus(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    BACKOFF = "backoff"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"

    @property
    def is_up(self) -> bool:
        """Counted against the owner's limit of running services."""
        return self in (ServiceStatus.STARTING, ServiceStatus.RUNNING, ServiceStatus.BACKOFF)


class RestartPolicy(StrEnum):
    NEVER = "never"
    ON_FAILURE = "on_failure"
    ALWAYS = "always"

    def restarts_after(self, exit_code: int | None) -> bool:
        """Whether an end with this exit code (None: killed, lost, no exit)
        calls for another start."""
        if self is RestartPolicy.ALWAYS:
            return True
        if self is RestartPolicy.ON_FAILURE:
            return exit_code != 0
        return False


class ServiceEventKind(StrEnum):
    """What happened to a service (`Service.events`, the statistics)."""

    START = "start"  # startService, or a start after a stop
    RUNNING = "running"  # its container took the script
    EXIT = "exit"  # the script ended by itself with exit code 0
    CRASH = "crash"  # the script ended otherwise (non-zero, killed, out of memory)
    RESTART = "restart"  # started again after an end, per its policy or restartService
    REDEPLOY = "redeploy"  # restarted to the script's current version
    STOP = "stop"  # stopService, a deactivated owner, or its maximum lifetime
    STOPPED = "stopped"  # its container is gone after a stop
    FAILED = "failed"  # restarts used up, or it cannot start at all
    WORKER_LOST = "worker_lost"  # its worker went silent; another takes it over


def backoff_seconds(restarts: int, base: float, ceiling: float) -> float:
    """The wait before the restart after `restarts` earlier ones: doubling
    from `base`, at most `ceiling`."""
    return float(min(ceiling, base * 2 ** max(0, restarts)))
