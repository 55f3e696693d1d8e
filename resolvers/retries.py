"""Retry policies and overlap choices in GraphQL: the input clients send and
what a schedule shows back. The bounds live in core/retries.py."""

from __future__ import annotations

import strawberry

from core.retries import OverlapPolicy as OverlapModel
from core.retries import RetryOutcome as OutcomeModel
from core.retries import RetryPolicy as PolicyModel

RetryOutcome = strawberry.enum(
    OutcomeModel,
    name="RetryOutcome",
    description="An ending a retry policy may try again: the script failed, ran out "
    "of time, or its worker died (WORKER_LOST).",
)
OverlapPolicy = strawberry.enum(
    OverlapModel,
    name="OverlapPolicy",
    description="What a schedule's tick does while an earlier run of it is queued or "
    "running: SKIP it, QUEUE a run that starts once the earlier ones ended, or "
    "RUN_ANYWAY (within the script's maxConcurrentRuns).",
)


@strawberry.input(
    name="RetryPolicy",
    description="Off unless given: a script may have side effects. Each attempt is an "
    "execution of its own, queued `backoffSeconds` after the previous one ended.",
)
class RetryPolicyInput:
    max_attempts: int = strawberry.field(description="Attempts in all, the first included (1-10).")
    backoff_seconds: float | None = strawberry.field(
        default=5.0, description="Wait before each retry (0-3600)."
    )
    on: list[RetryOutcome] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Which endings are retried; all three when absent."
    )

    def to_policy(self) -> PolicyModel:
        outcomes = None if self.on is None else [OutcomeModel(value) for value in self.on]
        return PolicyModel.checked(self.max_attempts, self.backoff_seconds, outcomes)


def policy_of(given: RetryPolicyInput | None) -> PolicyModel | None:
    return None if given is None else given.to_policy()


@strawberry.type(name="RetrySettings", description="A schedule's retry policy.")
class RetrySettings:
    max_attempts: int
    backoff_seconds: float
    on: list[RetryOutcome]  # type: ignore[valid-type]

    @classmethod
    def of(cls, policy: PolicyModel | None) -> RetrySettings | None:
        if policy is None:
            return None
        return cls(
            max_attempts=policy.max_attempts,
            backoff_seconds=policy.backoff_seconds,
            on=sorted(policy.on),
        )
