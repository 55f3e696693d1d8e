"""Which token scope each root field needs: the one table an API token's
reach is checked against. A signed-in person holds every scope.

Queries and subscriptions need READ. Every mutation is listed: a mutation
missing here is refused to every token (and a test fails), so a new one
cannot slip past the check.
"""

from __future__ import annotations

from contextvars import ContextVar

from core.roles import TokenScope

R, W, A = TokenScope.RUN, TokenScope.WRITE, TokenScope.ADMIN
# None: not for tokens at all (only a signed-in person, or nobody signed in).
PERSON_ONLY = None

MUTATION_SCOPES: dict[str, TokenScope | None] = {
    # Signing in and the person's own credentials.
    "register": PERSON_ONLY,
    "login": PERSON_ONLY,
    "refreshToken": PERSON_ONLY,
    "logout": PERSON_ONLY,
    "changePassword": PERSON_ONLY,
    "createApiToken": PERSON_ONLY,
    "revokeApiToken": PERSON_ONLY,
    # The tree.
    "createFolder": W,
    "renameFolder": W,
    "moveFolder": W,
    "deleteFolder": W,
    "createScript": W,
    "updateScript": W,
    "revertScript": W,
    "moveScript": W,
    "deleteScript": W,
    "shareFolder": W,
    "unshareFolder": W,
    # Runs.
    "runScript": R,
    # Code of the token's own making: what a token that may save scripts
    # may do, not one that only runs the saved ones.
    "runCode": W,
    "cancelExecution": R,
    "runBatch": R,
    "cancelBatch": R,
    "runOnWorkers": R,
    "createSchedule": R,
    "updateSchedule": R,
    "pauseSchedule": R,
    "resumeSchedule": R,
    "deleteSchedule": R,
    # Services: starting one runs a script; operating one is a run's cancel.
    "startService": R,
    "stopService": R,
    "restartService": R,
    "deleteService": R,
    # A person's data.
    "uploadFile": W,
    "deleteFile": W,
    "setSecret": W,
    "deleteSecret": W,
    # Administration.
    "setUserActive": A,
    "setUserAdmin": A,
    "createInvite": A,
    "createUser": A,
    "createGroup": A,
    "deleteGroup": A,
    "addGroupMember": A,
    "removeGroupMember": A,
    "setGroupSecret": A,
    "deleteGroupSecret": A,
}

# The scopes the operation being executed needs (set per operation by the
# schema; a WebSocket's operations each run in their own task, so each sees
# its own). None: no operation is being executed (a REST or download
# request checks its scope itself).
operation_needs: ContextVar[frozenset[TokenScope | None] | None] = ContextVar(
    "operation_needs", default=None
)


def scopes_for(operation: str, root_fields: list[str]) -> frozenset[TokenScope | None]:
    """What an operation with these root fields needs (None in the set: a
    field no token may call)."""
    if operation != "mutation":
        return frozenset({TokenScope.READ})
    return frozenset(MUTATION_SCOPES.get(name, PERSON_ONLY) for name in root_fields)
